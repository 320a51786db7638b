package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lifeline-backup/lifeline/internal/blob/s3/s3test"
	"github.com/lifeline-backup/lifeline/internal/source/redis/redistest"
)

// redisScenario is a local repository containing one backup of a small
// Redis data set in source "cache", and an empty server in source
// "copy".
type redisScenario struct {
	*e2e
	repoDir  string
	from, to *redistest.Server
	backupID string
}

// newRedisScenario stores a few hundred keys in a server, backs them up
// into a new local repository and returns the scenario.
func newRedisScenario(t *testing.T) *redisScenario {
	t.Helper()
	s := &redisScenario{e2e: newE2E(t)}
	s.from, s.to = redistest.Start(t), redistest.Start(t)
	fillRedis(t, s.from, "key", 300)
	dir, url := s.localRepo()
	s.repoDir = dir
	s.writeConfig(fileRepository(url),
		redisSource("cache", s.from.URL(0)),
		redisSource("copy", s.to.URL(0)))
	s.mustRun("init")
	s.mustRun("backup", "--tier", "full", "--source", "cache")
	ids := s.backupIDs()
	if len(ids) != 1 {
		t.Fatalf("snapshots lists %d backups, want 1", len(ids))
	}
	s.backupID = ids[0]
	return s
}

// fillRedis stores n string keys named prefix:<i> in database 0.
func fillRedis(t *testing.T, srv *redistest.Server, prefix string, n int) {
	t.Helper()
	ctx := context.Background()
	pipe := srv.Client(t).Pipeline()
	for i := range n {
		pipe.Set(ctx, fmt.Sprintf("%s:%d", prefix, i),
			fmt.Sprintf("value %d of %s", i, prefix), 0)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatalf("store keys: %v", err)
	}
}

// backupIDs runs 'snapshots --json' and returns the listed ids.
func (e *e2e) backupIDs() []string {
	e.t.Helper()
	res := e.mustRun("snapshots", "--json")
	return decodeBackupIDs(e.t, res.stdout)
}

func decodeBackupIDs(t *testing.T, stdout string) []string {
	t.Helper()
	var rows []snapshotRow
	if err := json.Unmarshal([]byte(stdout), &rows); err != nil {
		t.Fatalf("snapshots --json output %q: %v", stdout, err)
	}
	var ids []string
	for _, r := range rows {
		ids = append(ids, r.ID)
	}
	return ids
}

// treeDigest returns the SHA-256 of every file below dir, by path.
func treeDigest(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry,
		err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		rel, _ := filepath.Rel(dir, path)
		out[rel] = hex.EncodeToString(sum[:])
		return nil
	})
	if err != nil {
		t.Fatalf("read %s: %v", dir, err)
	}
	return out
}

// wantSameTree fails the test when the files below dir differ from
// before.
func wantSameTree(t *testing.T, dir string, before map[string]string) {
	t.Helper()
	after := treeDigest(t, dir)
	for path, sum := range before {
		switch got, ok := after[path]; {
		case !ok:
			t.Errorf("%s was removed", path)
		case got != sum:
			t.Errorf("%s was changed", path)
		}
	}
	for path := range after {
		if _, ok := before[path]; !ok {
			t.Errorf("%s was added", path)
		}
	}
}

// repoObjects returns the names of the repository's objects below
// prefix, such as "data/".
func repoObjects(t *testing.T, repoDir, prefix string) []string {
	t.Helper()
	var names []string
	for path := range treeDigest(t, repoDir) {
		name := filepath.ToSlash(path)
		if strings.HasPrefix(name, prefix) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	if len(names) == 0 {
		t.Fatalf("repository %s has no object below %s", repoDir, prefix)
	}
	return names
}

// wantTargetEmpty fails the test when the server contains any key or its
// DEBUG DIGEST differs from emptyDigest.
func wantTargetEmpty(t *testing.T, srv *redistest.Server, emptyDigest string) {
	t.Helper()
	size, err := srv.Client(t).DBSize(context.Background()).Result()
	if err != nil {
		t.Fatalf("DBSIZE: %v", err)
	}
	if size != 0 {
		t.Errorf("target contains %d keys, want 0", size)
	}
	if got := redistest.Digest(t, srv); got != emptyDigest {
		t.Errorf("target DEBUG DIGEST = %s, want %s (unchanged)", got,
			emptyDigest)
	}
}

func TestE2E_WrongKey(t *testing.T) {
	s := newRedisScenario(t)
	before := treeDigest(t, s.repoDir)
	emptyDigest := redistest.Digest(t, s.to)
	s.setKey(s.generateKey())

	for _, cmd := range [][]string{
		{"snapshots"},
		{"restore", "--snapshot", "latest", "--to", "copy"},
		{"check"},
		{"backup", "--tier", "full"},
	} {
		msg := s.mustFail(cmd...)
		wantContains(t, fmt.Sprintf("%v message", cmd), msg, `"k1"`,
			"wrong key")
	}
	wantSameTree(t, s.repoDir, before)
	wantTargetEmpty(t, s.to, emptyDigest)
}

// flipByte inverts one byte in the middle of a file.
func flipByte(t *testing.T, path string) {
	t.Helper()
	body, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	body[len(body)/2] ^= 0xff
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, body, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestE2E_FlippedDataByte(t *testing.T) {
	s := newRedisScenario(t)
	object := repoObjects(t, s.repoDir, "data/")[0]
	flipByte(t, filepath.Join(s.repoDir, filepath.FromSlash(object)))
	emptyDigest := redistest.Digest(t, s.to)

	res := s.run("check", "--read-data")
	if res.code != exitFailure {
		t.Errorf("check --read-data: exit code %d, want %d", res.code,
			exitFailure)
	}
	wantContains(t, "check --read-data message", res.stderr, object,
		s.backupID)
	wantContains(t, "check --read-data log", res.stdout, object,
		s.backupID)

	msg := s.mustFail("check", "--read-data-subset", "100")
	wantContains(t, "check --read-data-subset 100 message", msg, object)

	msg = s.mustFail("restore", "--snapshot", s.backupID, "--to", "copy")
	wantContains(t, "restore message", msg, "refused", object)
	wantTargetEmpty(t, s.to, emptyDigest)
}

// truncate cuts a file to half its size.
func truncate(t *testing.T, path string) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, info.Size()/2); err != nil {
		t.Fatal(err)
	}
}

func TestE2E_TruncatedManifest(t *testing.T) {
	s := newRedisScenario(t)
	damaged := s.backupID
	s.mustRun("backup", "--tier", "full", "--source", "cache")
	truncate(t, filepath.Join(s.repoDir, "snapshots", damaged))
	emptyDigest := redistest.Digest(t, s.to)

	res := s.run("snapshots", "--json")
	if res.code != exitFailure {
		t.Errorf("snapshots: exit code %d, want %d", res.code, exitFailure)
	}
	wantContains(t, "snapshots message", res.stderr, damaged)
	ids := decodeBackupIDs(t, res.stdout)
	if len(ids) != 1 || ids[0] == damaged {
		t.Errorf("snapshots lists %q, want only the undamaged backup", ids)
	}

	res = s.run("check")
	if res.code != exitFailure {
		t.Errorf("check: exit code %d, want %d", res.code, exitFailure)
	}
	wantContains(t, "check message", res.stderr, damaged)

	msg := s.mustFail("restore", "--snapshot", damaged, "--to", "copy")
	wantContains(t, "restore message", msg, damaged)
	wantTargetEmpty(t, s.to, emptyDigest)
}

// closedAddr returns a 127.0.0.1 address on which nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestE2E_UnreachableRedis(t *testing.T) {
	e := newE2E(t)
	addr := closedAddr(t)
	_, url := e.localRepo()
	e.writeConfig(fileRepository(url),
		redisSource("cache", "redis://"+addr+"/0"))
	e.mustRun("init")

	msg := e.mustFail("backup", "--tier", "full")
	wantContains(t, "backup message", msg, addr)
	if ids := e.backupIDs(); len(ids) != 0 {
		t.Errorf("snapshots lists %q after a failed backup, want none", ids)
	}
	e.mustRun("check")
}

func TestE2E_MalformedConfig(t *testing.T) {
	cases := []struct {
		name, text, want string
	}{
		{"bad indentation",
			"repository:\n  url: file:///tmp/x\n   region: y\n",
			"line 3"},
		{"unknown field",
			"repository:\n  url: file:///tmp/x\nkeys:\n  - id: k1\n" +
				"    env: " + keyEnv + "\n    colour: blue\n",
			"line 6"},
		{"unknown source type",
			"repository:\n  url: file:///tmp/x\nkeys:\n  - id: k1\n" +
				"    env: " + keyEnv + "\nsources:\n  - name: app\n" +
				"    type: sqlite\n    path: /tmp/x.db\n",
			"line 7"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newE2E(t)
			e.writeConfigText(tc.text)
			for _, cmd := range []string{"init", "snapshots", "backup"} {
				msg := e.mustFail(cmd)
				wantContains(t, cmd+" message", msg, tc.want,
					e.config)
			}
		})
	}
}

func TestE2E_UnknownNames(t *testing.T) {
	s := newRedisScenario(t)
	before := treeDigest(t, s.repoDir)
	emptyDigest := redistest.Digest(t, s.to)

	cases := []struct {
		cmd  []string
		want string
	}{
		{[]string{"backup", "--source", "nope"}, `"nope"`},
		{[]string{"restore", "--snapshot", "latest", "--source", "nope"},
			`"nope"`},
		{[]string{"restore", "--snapshot", "latest", "--namespace",
			"nope", "--to", "copy"}, `"nope"`},
		{[]string{"restore", "--snapshot", "latest", "--to", "nope"},
			`"nope"`},
	}
	for _, tc := range cases {
		msg := s.mustFail(tc.cmd...)
		wantContains(t, fmt.Sprintf("%v message", tc.cmd), msg, tc.want)
	}
	wantSameTree(t, s.repoDir, before)
	wantTargetEmpty(t, s.to, emptyDigest)
}

func TestE2E_InitTwice(t *testing.T) {
	s := newRedisScenario(t)
	before := treeDigest(t, s.repoDir)

	msg := s.mustFail("init")
	wantContains(t, "init message", msg, "already exists",
		"nothing was changed")
	wantSameTree(t, s.repoDir, before)
	if ids := s.backupIDs(); len(ids) != 1 || ids[0] != s.backupID {
		t.Errorf("snapshots lists %q after init, want [%s]", ids,
			s.backupID)
	}
}

func TestE2E_S3WrongSecret(t *testing.T) {
	cfg := s3test.Start(t)
	e := newE2E(t)
	e.setS3Credentials(cfg.AccessKeyID, cfg.SecretAccessKey)
	from := redistest.Start(t)
	fillRedis(t, from, "key", 10)
	e.writeConfig(s3Repository(cfg, "repo"),
		redisSource("cache", from.URL(0)))
	e.mustRun("init")
	e.mustRun("backup", "--tier", "full")

	e.setS3Credentials(cfg.AccessKeyID, cfg.SecretAccessKey+"x")
	for _, cmd := range [][]string{
		{"snapshots"},
		{"backup", "--tier", "full"},
		{"check"},
	} {
		msg := e.mustFail(cmd...)
		wantContains(t, fmt.Sprintf("%v message", cmd), msg, cfg.Bucket)
	}

	e.setS3Credentials(cfg.AccessKeyID, cfg.SecretAccessKey)
	if ids := e.backupIDs(); len(ids) != 1 {
		t.Errorf("snapshots lists %d backups, want 1", len(ids))
	}
}
