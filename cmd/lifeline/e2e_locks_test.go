package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lifeline-backup/lifeline/internal/blob/local"
	"github.com/lifeline-backup/lifeline/internal/blob/s3/s3test"
	"github.com/lifeline-backup/lifeline/internal/repo"
	"github.com/lifeline-backup/lifeline/internal/source/redis/redistest"
)

// committedRE finds the backup id in the "backup committed" log line.
var committedRE = regexp.MustCompile(
	`"msg":"backup committed","snapshot":"([^"]+)"`)

// concurrentRun is the outcome of one command run as a subprocess.
type concurrentRun struct {
	args []string
	code int
	res  result
}

// runTogether starts every command as a subprocess of bin at once, with
// the scenario's configuration and JSON logs, and waits for all.
func (e *e2e) runTogether(bin string, commands ...[]string) []concurrentRun {
	e.t.Helper()
	procs := make([]*process, len(commands))
	var start sync.WaitGroup
	start.Add(1)
	var started sync.WaitGroup
	for i, command := range commands {
		args := append([]string{command[0], "--config", e.config,
			"--log-format", "json"}, command[1:]...)
		started.Go(func() {
			start.Wait()
			procs[i] = startLifeline(e.t, bin, args...)
		})
	}
	start.Done()
	started.Wait()

	runs := make([]concurrentRun, len(commands))
	for i, p := range procs {
		code := p.wait()
		runs[i] = concurrentRun{args: commands[i], code: code,
			res: result{args: commands[i], code: code,
				stdout: p.stdout.String(), stderr: p.stderr.String()}}
		e.checkOutput(runs[i].res)
	}
	return runs
}

// lockScenario is a Redis source "cache" that does not change during
// the test, an empty Redis server "copy", and a repository with one
// full backup of "cache".
type lockScenario struct {
	*e2e
	from, to   *redistest.Server
	fromDigest string
}

func newLockScenario(t *testing.T, e *e2e, repository string) *lockScenario {
	t.Helper()
	s := &lockScenario{e2e: e}
	s.from, s.to = redistest.Start(t), redistest.Start(t)
	fillRedis(t, s.from, "key", 3000)
	s.fromDigest = redistest.Digest(t, s.from)
	s.writeConfig(repository,
		redisSource("cache", s.from.URL(0)),
		redisSource("copy", s.to.URL(0)))
	s.mustRun("init")
	s.mustRun("backup", "--tier", "full", "--source", "cache")
	return s
}

// wantRestores restores each backup into "copy", emptied first, and
// compares its DEBUG DIGEST with that of "cache".
func (s *lockScenario) wantRestores(ids []string) {
	s.t.Helper()
	ctx := context.Background()
	for _, id := range ids {
		if err := s.to.Client(s.t).FlushAll(ctx).Err(); err != nil {
			s.t.Fatalf("FLUSHALL: %v", err)
		}
		s.mustRun("restore", "--snapshot", id, "--to", "copy")
		if got := redistest.Digest(s.t, s.to); got != s.fromDigest {
			s.t.Errorf("backup %s restores DEBUG DIGEST %s, want %s", id,
				got, s.fromDigest)
		}
	}
}

// concurrentBackupsAndPrune starts two backups and a prune together,
// twice, and checks that each finishes or rejects with a message about
// the lock, and that every committed backup restores.
func concurrentBackupsAndPrune(t *testing.T, s *lockScenario) {
	bin := buildLifeline(t)
	committed := s.backupIDs()
	for round := range 2 {
		runs := s.runTogether(bin,
			[]string{"backup", "--tier", "incremental", "--source", "cache"},
			[]string{"backup", "--tier", "full", "--source", "cache"},
			[]string{"prune"})
		for _, r := range runs {
			t.Logf("round %d: %v: exit code %d, stderr: %s", round, r.args,
				r.code, r.res.stderr)
			if r.code != exitOK {
				wantLockMessage(t, r)
				continue
			}
			if r.args[0] != "backup" {
				continue
			}
			m := committedRE.FindStringSubmatch(r.res.stdout)
			if m == nil {
				t.Errorf("%v: exit code 0 but no \"backup committed\" "+
					"line:\n%s", r.args, r.res.stdout)
				continue
			}
			committed = append(committed, m[1])
		}
	}

	ids := s.backupIDs()
	for _, id := range committed {
		if !slices.Contains(ids, id) {
			t.Errorf("committed backup %s is not listed by snapshots %q",
				id, ids)
		}
	}
	if len(ids) != len(committed) {
		t.Errorf("snapshots lists %d backups, want the %d committed",
			len(ids), len(committed))
	}
	s.mustRun("check", "--read-data")
	s.wantRestores(committed)
}

// wantLockMessage fails the test unless a failed run printed one line
// that says the repository is locked and names the lock's holder.
func wantLockMessage(t *testing.T, r concurrentRun) {
	t.Helper()
	msg := r.res.stderr
	lines := strings.Split(strings.TrimRight(msg, "\n"), "\n")
	if len(lines) != 1 || !strings.HasPrefix(msg, "lifeline: ") {
		t.Errorf("%v: standard error = %q, want one line starting with "+
			"\"lifeline: \"", r.args, msg)
	}
	wantContains(t, strings.Join(r.args, " ")+" message", msg,
		"repository is locked", " lock for ", "lifeline unlock")
}

func TestE2E_ConcurrentBackupsPruneLocal(t *testing.T) {
	e := newE2E(t)
	_, url := e.localRepo()
	s := newLockScenario(t, e, fileRepository(url))
	concurrentBackupsAndPrune(t, s)
}

func TestE2E_ConcurrentBackupsPruneS3(t *testing.T) {
	cfg := s3test.Start(t)
	e := newE2E(t)
	e.setS3Credentials(cfg.AccessKeyID, cfg.SecretAccessKey)
	s := newLockScenario(t, e, s3Repository(cfg, "locks"))
	concurrentBackupsAndPrune(t, s)
}

// putLock stores a lock object in the local repository at dir.
func putLock(t *testing.T, dir string, info repo.LockInfo) string {
	t.Helper()
	store, err := local.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	body, err := json.Marshal(info)
	if err != nil {
		t.Fatal(err)
	}
	name := "locks/" + info.Created.Format("20060102T150405.000000000Z") +
		"-0123456789abcdef"
	err = store.Put(context.Background(), name, bytes.NewReader(body),
		int64(len(body)))
	if err != nil {
		t.Fatalf("put %s: %v", name, err)
	}
	return filepath.Join(dir, filepath.FromSlash(name))
}

func TestE2E_UnlockExpiredLock(t *testing.T) {
	e := newE2E(t)
	dir, url := e.localRepo()
	s := newLockScenario(t, e, fileRepository(url))
	now := time.Now().UTC().Truncate(time.Second)

	// A lock whose holder died two days ago does not block a backup.
	deadPath := putLock(t, dir, repo.LockInfo{Exclusive: true,
		Operation: "prune", Host: "gone-host", PID: 4242,
		Created: now.Add(-48 * time.Hour), Expires: now.Add(-47 * time.Hour)})
	s.mustRun("backup", "--tier", "full", "--source", "cache")

	// A live exclusive lock does, and the message names its holder.
	livePath := putLock(t, dir, repo.LockInfo{Exclusive: true,
		Operation: "keys rewrap", Host: "live-host", PID: 4343,
		Created: now, Expires: now.Add(time.Hour)})
	msg := s.mustFail("backup", "--tier", "full", "--source", "cache")
	wantContains(t, "backup message", msg, "repository is locked",
		"exclusive lock for keys rewrap by pid 4343 on live-host",
		"lifeline unlock")

	out := s.mustRun("unlock").stdout
	wantContains(t, "unlock output", out,
		"removed exclusive lock for prune by pid 4242 on gone-host since "+
			now.Add(-48*time.Hour).Format(time.RFC3339),
		"kept live exclusive lock for keys rewrap by pid 4343 on live-host")
	if _, err := os.Stat(deadPath); !os.IsNotExist(err) {
		t.Errorf("expired lock object after unlock: %v, want it removed",
			err)
	}
	if _, err := os.Stat(livePath); err != nil {
		t.Errorf("live lock object after unlock: %v, want it kept", err)
	}

	out = s.mustRun("unlock", "--force").stdout
	wantContains(t, "unlock --force output", out,
		"removed exclusive lock for keys rewrap by pid 4343 on live-host")
	if _, err := os.Stat(livePath); !os.IsNotExist(err) {
		t.Errorf("live lock object after unlock --force: %v, want it "+
			"removed", err)
	}
	s.mustRun("backup", "--tier", "full", "--source", "cache")
	out = s.mustRun("unlock").stdout
	if strings.TrimSpace(out) != "no locks" {
		t.Errorf("unlock output after every lock is gone = %q, want "+
			"\"no locks\"", out)
	}
}
