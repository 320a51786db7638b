package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"
)

var (
	crashRuns = flag.Int("crash.runs", 5,
		"processes killed per command by the crash tests")
	crashSeed = flag.Uint64("crash.seed", 1,
		"seed of the crash tests' random kill times")
)

// crashBuckets are the buckets of the crash tests' bbolt source.
var crashBuckets = []string{"sessions", "events"}

// crashRecords is how many records each bucket holds: enough that a
// backup or restore takes a few hundred milliseconds to kill into.
const crashRecords = 20000

// crashEnv is one crash scenario: a bbolt source, a scratch bbolt target,
// a local repository and the backups reported committed so far with the
// state of the source when each was taken.
type crashEnv struct {
	*e2e
	bin       string
	rng       *rand.Rand
	src       string
	scratch   string
	committed map[string]string
	order     []string
	// kills counts the processes killed, by command.
	kills map[string]int
	// records is how many records each bucket is seeded with.
	records int
}

func newCrashEnv(t *testing.T, bin string, seed uint64) *crashEnv {
	t.Helper()
	return newCrashEnvRecords(t, bin, seed, crashRecords)
}

// newCrashEnvRecords is newCrashEnv with n records per bucket.
func newCrashEnvRecords(t *testing.T, bin string, seed uint64,
	n int) *crashEnv {
	t.Helper()
	c := &crashEnv{e2e: newE2E(t), bin: bin, records: n,
		rng: rand.New(rand.NewPCG(*crashSeed, seed)), committed: map[string]string{},
		kills: map[string]int{}}
	c.src = filepath.Join(c.dir, "app.db")
	c.scratch = filepath.Join(c.dir, "scratch.db")
	c.writeCrashConfig("k1")
	c.seedSource()
	c.mustRun("init")
	return c
}

// writeCrashConfig writes the config with the given key ids, the first
// one encrypting, and retention short enough for prune to delete.
func (c *crashEnv) writeCrashConfig(keyIDs ...string) {
	_, url := c.localRepo()
	var b strings.Builder
	b.WriteString("repository:\n  url: " + url + "\n")
	b.WriteString("compression: zstd\nkeys:\n")
	for _, id := range keyIDs {
		fmt.Fprintf(&b, "  - id: %s\n    env: LIFELINE_KEY_%s\n", id,
			strings.ToUpper(id))
	}
	b.WriteString("retention: {incremental: 1s, full: 1s, complete: 1s, " +
		"grace: 1s}\n")
	b.WriteString("sources:\n")
	b.WriteString(indent(boltSource("app", c.src), "    "))
	b.WriteString(indent(boltSource("scratch", c.scratch), "    "))
	c.writeConfigText(b.String())
}

// seedSource fills the source's buckets.
func (c *crashEnv) seedSource() {
	c.t.Helper()
	c.updateSource(func(b *bbolt.Bucket, name string) error {
		for i := range c.records {
			v := fmt.Appendf(nil, "%s value %d %x", name, i, c.rng.Uint64())
			v = append(v, bytes.Repeat([]byte{byte(i)}, 100)...)
			if err := b.Put(fmt.Appendf(nil, "%s:%06d", name, i), v); err != nil {
				return err
			}
		}
		return nil
	})
}

// changeSource changes, adds and deletes a few hundred keys, so that
// incrementals hold changes and tombstones.
func (c *crashEnv) changeSource() {
	c.t.Helper()
	c.updateSource(func(b *bbolt.Bucket, name string) error {
		for range 200 {
			k := fmt.Appendf(nil, "%s:%06d", name, c.rng.IntN(c.records+500))
			var err error
			if c.rng.IntN(4) == 0 {
				err = b.Delete(k)
			} else {
				err = b.Put(k, fmt.Appendf(nil, "changed %x", c.rng.Uint64()))
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}

func (c *crashEnv) updateSource(fn func(*bbolt.Bucket, string) error) {
	c.t.Helper()
	db, err := bbolt.Open(c.src, 0o600, nil)
	if err != nil {
		c.t.Fatalf("open %s: %v", c.src, err)
	}
	defer db.Close()
	err = db.Update(func(tx *bbolt.Tx) error {
		for _, name := range crashBuckets {
			b, err := tx.CreateBucketIfNotExists([]byte(name))
			if err != nil {
				return err
			}
			if err := fn(b, name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		c.t.Fatalf("update %s: %v", c.src, err)
	}
}

// boltDigest hashes every key and value of the crash buckets of a bbolt
// file; a missing file or bucket hashes as empty.
func boltDigest(t *testing.T, path string) string {
	t.Helper()
	h := sha256.New()
	if _, err := os.Stat(path); err != nil {
		return hex.EncodeToString(h.Sum(nil))
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true,
		Timeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer db.Close()
	err = db.View(func(tx *bbolt.Tx) error {
		for _, name := range crashBuckets {
			fmt.Fprintf(h, "bucket %q\n", name)
			b := tx.Bucket([]byte(name))
			if b == nil {
				continue
			}
			err := b.ForEach(func(k, v []byte) error {
				fmt.Fprintf(h, "%q=%q\n", k, v)
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// spawn runs the binary with the scenario's config. With kill set it
// sends SIGKILL after a random delay below kill, the command's typical
// duration, unless the process has ended by then. It returns the standard output and whether it killed.
func (c *crashEnv) spawn(kill time.Duration, command ...string) (string,
	bool, error) {
	args := append([]string{command[0], "--config", c.config,
		"--log-format", "json"}, command[1:]...)
	cmd := exec.Command(c.bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		c.t.Fatalf("start %v: %v", command, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var timer <-chan time.Time
	if kill > 0 {
		timer = time.After(time.Duration(c.rng.Int64N(int64(kill))))
	}
	select {
	case err := <-done:
		return stdout.String(), false, wrapStderr(err, stderr.String())
	case <-timer:
	}
	cmd.Process.Signal(syscall.SIGKILL)
	err := <-done
	var exit *exec.ExitError
	if errors.As(err, &exit) &&
		exit.Sys().(syscall.WaitStatus).Signaled() {
		c.kills[command[0]]++
		return stdout.String(), true, nil
	}
	return stdout.String(), false, wrapStderr(err, stderr.String())
}

func wrapStderr(err error, stderr string) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %s", err, stderr)
}

// timed runs a command to its end and returns how long it took.
func (c *crashEnv) timed(command ...string) (string, time.Duration) {
	c.t.Helper()
	began := time.Now()
	out, _, err := c.spawn(0, command...)
	if err != nil {
		c.t.Fatalf("%v: %v", command, err)
	}
	return out, time.Since(began)
}

// noteCommitted records the backups a backup's output reports committed
// with the source state they were taken from.
func (c *crashEnv) noteCommitted(stdout, state string) {
	for _, line := range strings.Split(stdout, "\n") {
		if !strings.Contains(line, `"msg":"backup committed"`) {
			continue
		}
		m := logLines(c.t, line)[0]
		id, _ := m["snapshot"].(string)
		if id == "" {
			c.t.Fatalf("backup committed line without an id: %s", line)
		}
		c.committed[id] = state
		c.order = append(c.order, id)
	}
}

// backup takes one backup to its end and records it.
func (c *crashEnv) backup(tier string) string {
	c.t.Helper()
	c.changeSource()
	state := boltDigest(c.t, c.src)
	out, _ := c.timed("backup", "--tier", tier, "--source", "app")
	c.noteCommitted(out, state)
	return c.order[len(c.order)-1]
}

// recover removes the lock the killed process left and checks that the
// repository reads back whole.
func (c *crashEnv) recover() {
	c.t.Helper()
	c.mustRun("unlock", "--force")
	c.mustRun("check", "--read-data")
}

// verify restores the newest committed backup and one other at random
// and compares each with the source state recorded for it. Backups
// that prune removed are dropped from the record first.
func (c *crashEnv) verify(pruned bool) {
	c.t.Helper()
	visible := map[string]bool{}
	for _, s := range c.snapshotList() {
		visible[s] = true
	}
	var kept []string
	for _, id := range c.order {
		if visible[id] {
			kept = append(kept, id)
			continue
		}
		if !pruned {
			c.t.Fatalf("backup %s was reported committed and is gone", id)
		}
	}
	if len(kept) == 0 {
		c.t.Fatal("no committed backup is left")
	}
	if kept[len(kept)-1] != c.order[len(c.order)-1] {
		c.t.Fatalf("the newest committed backup %s is gone",
			c.order[len(c.order)-1])
	}
	c.order = kept
	c.restoreEquals(kept[len(kept)-1])
	c.restoreEquals(kept[c.rng.IntN(len(kept))])
}

// snapshotList returns the ids 'lifeline snapshots --json' lists.
func (c *crashEnv) snapshotList() []string {
	c.t.Helper()
	res := c.mustRun("snapshots", "--json")
	var list []struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &list); err != nil {
		c.t.Fatalf("snapshots --json: %v\n%s", err, res.stdout)
	}
	var ids []string
	for _, s := range list {
		ids = append(ids, s.ID)
	}
	return ids
}

// restoreEquals restores a backup into an empty scratch file and
// compares it with the state recorded for the backup.
func (c *crashEnv) restoreEquals(id string) {
	c.t.Helper()
	if err := os.RemoveAll(c.scratch); err != nil {
		c.t.Fatal(err)
	}
	c.mustRun("restore", "--snapshot", id, "--to", "scratch")
	if got := boltDigest(c.t, c.scratch); got != c.committed[id] {
		c.t.Fatalf("backup %s restores to state %s, recorded %s", id,
			got, c.committed[id])
	}
}

func TestCrash(t *testing.T) {
	bin := buildLifeline(t)
	t.Run("backup", func(t *testing.T) { crashBackup(t, bin) })
	t.Run("prune", func(t *testing.T) { crashPrune(t, bin) })
	t.Run("rewrap", func(t *testing.T) { crashRewrap(t, bin) })
	t.Run("restore", func(t *testing.T) { crashRestore(t, bin) })
}

// crashBackup kills backups, full and incremental, at random moments.
func crashBackup(t *testing.T, bin string) {
	c := newCrashEnv(t, bin, 1)
	typical := c.backupTime()
	for i := range *crashRuns {
		tier := []string{"incremental", "full", "incremental"}[i%3]
		c.changeSource()
		state := boltDigest(t, c.src)
		out, _, err := c.spawn(typical, "backup", "--tier", tier,
			"--source", "app")
		if err != nil {
			t.Fatalf("run %d: backup: %v", i, err)
		}
		c.noteCommitted(out, state)
		c.recover()
		c.backup(tier)
		// Check reads every backup, so long runs prune to stay fast.
		pruned := len(c.order) > 12
		if pruned {
			c.mustRun("prune")
		}
		c.verify(pruned)
	}
	t.Logf("backup: %d runs, %d killed, %d backups committed, 0 lost",
		*crashRuns, c.kills["backup"], len(c.order))
}

// crashPrune kills prunes that have old backups and orphans to delete.
func crashPrune(t *testing.T, bin string) {
	c := newCrashEnv(t, bin, 2)
	c.backup("full")
	c.backup("incremental")
	time.Sleep(1100 * time.Millisecond)
	_, typical := c.timed("prune")
	backupTime := c.backupTime()
	for i := range *crashRuns {
		c.backup("full")
		c.backup("incremental")
		// A backup killed midway leaves orphans for prune to sweep.
		c.changeSource()
		c.spawn(backupTime, "backup", "--tier", "full", "--source", "app")
		c.mustRun("unlock", "--force")
		c.backup("incremental")
		time.Sleep(1100 * time.Millisecond)
		_, _, err := c.spawn(typical, "prune")
		if err != nil {
			t.Fatalf("run %d: prune: %v", i, err)
		}
		c.recover()
		c.mustRun("prune")
		c.verify(true)
	}
	t.Logf("prune: %d runs, %d killed, 0 lost", *crashRuns,
		c.kills["prune"])
}

// backupTime is a rough duration of one backup, measured once.
func (c *crashEnv) backupTime() time.Duration {
	began := time.Now()
	c.backup("full")
	return time.Since(began)
}

// crashRewrap kills key rewraps, switching the encrypting key between
// k1 and k2 so that every run has wraps to write and delete.
func crashRewrap(t *testing.T, bin string) {
	c := newCrashEnv(t, bin, 3)
	t.Setenv("LIFELINE_KEY_K2", c.generateKey())
	for range 4 {
		c.backup("full")
		c.backup("incremental")
	}
	c.writeCrashConfig("k2", "k1")
	_, typical := c.timed("keys", "rewrap")
	first := "k1"
	for i := range *crashRuns {
		c.writeCrashConfig(first, map[string]string{"k1": "k2",
			"k2": "k1"}[first])
		_, _, err := c.spawn(typical, "keys", "rewrap")
		if err != nil {
			t.Fatalf("run %d: keys rewrap: %v", i, err)
		}
		c.recover()
		c.mustRun("keys", "rewrap")
		// With only the new first key every backup must still open.
		c.writeCrashConfig(first)
		c.mustRun("check", "--read-data")
		c.verify(false)
		c.writeCrashConfig(first, map[string]string{"k1": "k2",
			"k2": "k1"}[first])
		first = map[string]string{"k1": "k2", "k2": "k1"}[first]
	}
	t.Logf("keys rewrap: %d runs, %d killed, 0 lost", *crashRuns,
		c.kills["keys"])
}

// crashRestore kills restores into the scratch file; the next restore
// into the same file completes it.
func crashRestore(t *testing.T, bin string) {
	c := newCrashEnv(t, bin, 4)
	c.backup("full")
	c.backup("incremental")
	c.backup("incremental")
	os.RemoveAll(c.scratch)
	_, typical := c.timed("restore", "--snapshot", "latest", "--to",
		"scratch")
	for i := range *crashRuns {
		id := c.order[c.rng.IntN(len(c.order))]
		if err := os.RemoveAll(c.scratch); err != nil {
			t.Fatal(err)
		}
		_, _, err := c.spawn(typical, "restore", "--snapshot", id,
			"--to", "scratch")
		if err != nil {
			t.Fatalf("run %d: restore: %v", i, err)
		}
		c.recover()
		c.mustRun("restore", "--snapshot", id, "--to", "scratch")
		if got := boltDigest(t, c.scratch); got != c.committed[id] {
			t.Fatalf("run %d: restore of %s after a kill gives state %s, "+
				"recorded %s", i, id, got, c.committed[id])
		}
		c.verify(false)
	}
	t.Logf("restore: %d runs, %d killed, 0 lost", *crashRuns,
		c.kills["restore"])
}
