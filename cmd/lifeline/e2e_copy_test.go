package main

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lifeline-backup/lifeline/internal/backup"
	"github.com/lifeline-backup/lifeline/internal/blob/s3"
	"github.com/lifeline-backup/lifeline/internal/blob/s3/s3test"
	"github.com/lifeline-backup/lifeline/internal/config"
	"github.com/lifeline-backup/lifeline/internal/repo"
)

// copyKeyEnv is the environment variable of the key "c1" of both copies
// in the copy test.
const copyKeyEnv = "LIFELINE_KEY_C1"

// copyScenario is a local repository with a week of hourly backups of
// one bbolt file, and two copies: "disk", a local folder, and
// "offsite", a versitygw bucket.
type copyScenario struct {
	*e2e
	repoDir  string
	boltPath string
	bucket   s3.Config
	cfg      *config.Config
	repo     *repo.Repo
	targets  []backup.Source
	// ids lists the backups oldest first, times their times and
	// contents the bucket's content in each.
	ids      []string
	times    map[string]time.Time
	contents map[string]map[string]string
	hour     int
	start    time.Time
}

// copySources returns the sources: items of every config of the copy
// test: the backed-up file "app" and "scratch", the target of restores.
func (s *copyScenario) copySources() []string {
	return []string{boltSource("app", s.boltPath),
		boltSource("scratch", filepath.Join(s.dir, "scratch.db"))}
}

// newCopyScenario backs up a complete backup and then seven days of
// hourly incrementals, with a full backup after the incremental of
// 02:00 each day. The bucket changes every hour. The week ends three
// hours before now, which leaves room for more backups.
func newCopyScenario(t *testing.T) *copyScenario {
	t.Helper()
	s := &copyScenario{e2e: newE2E(t), times: map[string]time.Time{},
		contents: map[string]map[string]string{}}
	s.bucket = s3test.Start(t)
	s.setS3Credentials(s.bucket.AccessKeyID, s.bucket.SecretAccessKey)
	t.Setenv(copyKeyEnv, s.generateKey())
	dir, url := s.localRepo()
	s.repoDir = dir
	s.boltPath = filepath.Join(s.dir, "app.db")
	s.writeConfig(fileRepository(url), s.copySources()...)
	s.appendCopies()
	s.mustRun("init")

	ctx := context.Background()
	var err error
	if s.cfg, err = config.Load(s.config); err != nil {
		t.Fatal(err)
	}
	if s.repo, err = openRepo(ctx, s.cfg); err != nil {
		t.Fatal(err)
	}
	srcs, err := selectSources(s.cfg, []string{"app"})
	if err != nil {
		t.Fatal(err)
	}
	targets, closeAll, err := openBackupSources(srcs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeAll)
	s.targets = targets

	const week = 7 * 24
	s.start = time.Now().UTC().Truncate(time.Hour).Add(-(week + 3) *
		time.Hour)
	s.backup(repo.Complete, s.start, changeBolt(t, s.boltPath, 0))
	for range week {
		s.nextHour()
	}
	return s
}

// appendCopies adds the copies: section to the configuration.
func (s *copyScenario) appendCopies() {
	s.t.Helper()
	old, err := os.ReadFile(s.config)
	if err != nil {
		s.t.Fatal(err)
	}
	keys := "    keys:\n      - id: c1\n        env: " + copyKeyEnv + "\n"
	text := "copies:\n" +
		"  - name: disk\n    repository:\n" +
		"      url: file://" + filepath.Join(s.dir, "disk") + "\n" + keys +
		"  - name: offsite\n    repository:\n" +
		indent(s3Repository(s.bucket, "offsite"), "      ") + keys
	s.writeConfigText(string(old) + text)
}

// nextHour changes the bucket and backs up the next hour: an
// incremental, and at 02:00 also a full backup 30 seconds later.
func (s *copyScenario) nextHour() {
	s.hour++
	at := s.start.Add(time.Duration(s.hour) * time.Hour)
	content := changeBolt(s.t, s.boltPath, s.hour)
	s.backup(repo.Incremental, at, content)
	if at.Hour() == 2 {
		s.backup(repo.Full, at.Add(30*time.Second), content)
	}
}

func (s *copyScenario) backup(tier repo.Tier, at time.Time,
	content map[string]string) {
	s.t.Helper()
	m, err := backup.Run(context.Background(), s.repo, s.targets,
		backup.Options{Tier: tier, Now: func() time.Time { return at }})
	if err != nil {
		s.t.Fatalf("%s backup at %v: %v", tier, at, err)
	}
	s.ids = append(s.ids, m.ID)
	s.times[m.ID] = at
	s.contents[m.ID] = content
}

// copyConfig writes a configuration whose repository: and keys: are
// those of the copy name, and returns a scenario that runs commands
// with it.
func (s *copyScenario) copyConfig(name string) *e2e {
	s.t.Helper()
	cp, ok := s.cfg.Copy(name)
	if !ok {
		s.t.Fatalf("no copy %q in the config", name)
	}
	repository := "url: " + cp.Repository.URL + "\n"
	if cp.Repository.Endpoint != "" {
		repository = s3Repository(s.bucket, "offsite")
	}
	c := &e2e{t: s.t, dir: s.dir, secrets: s.secrets,
		config: filepath.Join(s.dir, name+".yaml")}
	text := "repository:\n" + indent(repository, "  ") +
		"keys:\n  - id: c1\n    env: " + copyKeyEnv + "\n" +
		"sources:\n"
	for _, src := range s.copySources() {
		text += indent(src, "    ")
	}
	c.writeConfigText(text)
	return c
}

// restoreAt restores the state at the time at through the command
// 'restore --at' with the configuration of c into a new scratch file,
// and returns the restored bucket.
func (s *copyScenario) restoreAt(c *e2e, at time.Time) map[string]string {
	s.t.Helper()
	scratch := filepath.Join(s.dir, "scratch.db")
	if err := os.Remove(scratch); err != nil && !os.IsNotExist(err) {
		s.t.Fatal(err)
	}
	c.mustRun("restore", "--at", at.Format(time.RFC3339),
		"--source", "app", "--to", "scratch")
	content := readBoltBucket(s.t, scratch)
	if err := os.Remove(scratch); err != nil {
		s.t.Fatal(err)
	}
	return content
}

// contentAt returns the bucket's content in the newest backup made at
// or before the time at.
func (s *copyScenario) contentAt(at time.Time) map[string]string {
	var newest string
	for _, id := range s.ids {
		if !s.times[id].After(at) {
			newest = id
		}
	}
	return s.contents[newest]
}

// newObjects counts the objects that copying the backups ids stores:
// chunks, index chunks and the manifest of each. Data key wraps are
// not counted.
func (s *copyScenario) newObjects(ids []string) int64 {
	s.t.Helper()
	var n int64
	for _, id := range ids {
		snap, err := s.repo.LoadSnapshot(context.Background(), id)
		if err != nil {
			s.t.Fatal(err)
		}
		for _, e := range snap.Entries {
			n += int64(len(e.Chunks) + len(e.Index))
		}
		n++
	}
	return n
}

func wantSameContent(t *testing.T, what string, got,
	want map[string]string) {
	t.Helper()
	if maps.Equal(got, want) {
		return
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s: key %q = %q (present %v), want %q", what, k,
				g, ok, v)
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: extra key %q = %q", what, k, v)
		}
	}
}

func TestE2E_CopyWeekOfBackups(t *testing.T) {
	s := newCopyScenario(t)
	copies := map[string]*e2e{}
	for _, name := range []string{"disk", "offsite"} {
		res := s.mustRun("copy", "--to", name)
		done := logLine(t, res.stdout, "copy finished")
		if n := logCount(t, done, "copied"); n != int64(len(s.ids)) {
			t.Errorf("copy to %s: copied = %d, want %d", name, n,
				len(s.ids))
		}
		if n := logCount(t, done, "objects"); n != s.newObjects(s.ids) {
			t.Errorf("copy to %s: objects = %d, want %d", name, n,
				s.newObjects(s.ids))
		}
		copies[name] = s.copyConfig(name)
		copies[name].mustRun("check", "--read-data")
	}

	rng := rand.New(rand.NewPCG(7, 11))
	last := s.times[s.ids[len(s.ids)-1]]
	span := last.Sub(s.start)
	for i := range 4 {
		at := s.start.Add(time.Duration(rng.Int64N(int64(span))))
		at = at.Truncate(time.Second)
		if i == 0 {
			at = last
		}
		want := s.restoreAt(s.e2e, at)
		wantSameContent(t, fmt.Sprintf("original at %v", at), want,
			s.contentAt(at))
		for name, c := range copies {
			got := s.restoreAt(c, at)
			wantSameContent(t, fmt.Sprintf("copy %s at %v", name, at),
				got, want)
		}
	}
}

func TestE2E_CopyOnlyNewBackups(t *testing.T) {
	s := newCopyScenario(t)
	for _, name := range []string{"disk", "offsite"} {
		s.mustRun("copy", "--to", name)
	}
	old := len(s.ids)
	for range 3 {
		s.nextHour()
	}
	added := s.ids[old:]

	for _, name := range []string{"disk", "offsite"} {
		res := s.mustRun("copy", "--to", name)
		done := logLine(t, res.stdout, "copy finished")
		if n := logCount(t, done, "copied"); n != int64(len(added)) {
			t.Errorf("second copy to %s: copied = %d, want %d", name, n,
				len(added))
		}
		if n := logCount(t, done, "skipped"); n != int64(old) {
			t.Errorf("second copy to %s: skipped = %d, want %d", name, n,
				old)
		}
		want := s.newObjects(added)
		if n := logCount(t, done, "objects"); n != want {
			t.Errorf("second copy to %s: objects = %d, want %d of the "+
				"%d new backups", name, n, want, len(added))
		}
		s.copyConfig(name).mustRun("check", "--read-data")
	}
}

// TestE2E_CopyWithoutOriginal restores from each copy after the first
// repository's folder is deleted, with a config that names only the
// copy and its keys, and with the first repository's key unset.
func TestE2E_CopyWithoutOriginal(t *testing.T) {
	s := newCopyScenario(t)
	for _, name := range []string{"disk", "offsite"} {
		s.mustRun("copy", "--to", name)
	}
	if err := os.RemoveAll(s.repoDir); err != nil {
		t.Fatal(err)
	}
	t.Setenv(keyEnv, "")
	os.Unsetenv(keyEnv)

	last := s.times[s.ids[len(s.ids)-1]]
	middle := s.start.Add(last.Sub(s.start) / 2).Truncate(time.Second)
	for _, name := range []string{"disk", "offsite"} {
		c := s.copyConfig(name)
		for _, at := range []time.Time{middle, last} {
			got := s.restoreAt(c, at)
			wantSameContent(t, fmt.Sprintf("copy %s at %v", name, at),
				got, s.contentAt(at))
		}
	}
}
