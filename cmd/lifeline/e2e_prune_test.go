package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/lifeline-backup/lifeline/internal/backup"
	"github.com/lifeline-backup/lifeline/internal/config"
	"github.com/lifeline-backup/lifeline/internal/repo"
	"github.com/lifeline-backup/lifeline/internal/restore"
	"github.com/lifeline-backup/lifeline/internal/source/bolt"
)

// pruneBucket is the only bucket of the bbolt source of the prune test.
const pruneBucket = "app"

// changeBolt applies the change of hour h to the bucket of the bbolt
// file at path and returns the bucket's content after it: key h%40 gets
// a new value, key (h+20)%40 is deleted, and "hour" counts the hours.
func changeBolt(t *testing.T, path string, h int) map[string]string {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer db.Close()
	content := map[string]string{}
	err = db.Update(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte(pruneBucket))
		if err != nil {
			return err
		}
		key := fmt.Sprintf("k%02d", h%40)
		if err := b.Put([]byte(key), fmt.Appendf(nil, "v%d", h)); err != nil {
			return err
		}
		if err := b.Delete(fmt.Appendf(nil, "k%02d", (h+20)%40)); err != nil {
			return err
		}
		if err := b.Put([]byte("hour"), fmt.Appendf(nil, "%d", h)); err != nil {
			return err
		}
		return b.ForEach(func(k, v []byte) error {
			content[string(k)] = string(v)
			return nil
		})
	})
	if err != nil {
		t.Fatalf("change %s: %v", path, err)
	}
	return content
}

// readBoltBucket returns the keys and values of the prune test's bucket
// in the bbolt file at path.
func readBoltBucket(t *testing.T, path string) map[string]string {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer db.Close()
	content := map[string]string{}
	err = db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket([]byte(pruneBucket))
		if b == nil {
			return fmt.Errorf("no bucket %q", pruneBucket)
		}
		return b.ForEach(func(k, v []byte) error {
			content[string(k)] = string(v)
			return nil
		})
	})
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return content
}

// pruneScenario is a local repository with ten simulated days of
// backups of one bbolt source, and the content each backup contains.
type pruneScenario struct {
	*e2e
	repoDir string
	cfg     *config.Config
	repo    *repo.Repo
	// contents maps each backup id to the bucket's content in it.
	contents map[string]map[string]string
	// complete, lastFull and last are the ids of the first backup (a
	// complete one), of the last full backup, and of the newest backup.
	complete, lastFull, last string
	lastTime                 time.Time
}

// newPruneScenario backs up a bbolt file on an injected clock: a
// complete backup, then ten days of hourly incrementals with a full
// backup after the incremental of 02:00 each day, the bucket changing
// every hour. The simulated days end at the current hour.
func newPruneScenario(t *testing.T) *pruneScenario {
	t.Helper()
	ctx := context.Background()
	s := &pruneScenario{e2e: newE2E(t), contents: map[string]map[string]string{}}
	dir, url := s.localRepo()
	s.repoDir = dir
	boltPath := filepath.Join(s.dir, "app.db")
	s.writeConfig(fileRepository(url), boltSource("app", boltPath))
	s.mustRun("init")

	var err error
	if s.cfg, err = s.loadConfig(); err != nil {
		t.Fatal(err)
	}
	if s.repo, err = openRepo(ctx, s.cfg); err != nil {
		t.Fatal(err)
	}
	srcs, err := selectSources(s.cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	targets, closeAll, err := openBackupSources(srcs)
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll()

	const hours = 10 * 24
	start := time.Now().UTC().Truncate(time.Hour).Add(-hours * time.Hour)
	content := changeBolt(t, boltPath, 0)
	s.complete = s.backup(targets, repo.Complete, start, content)
	for h := 1; h <= hours; h++ {
		at := start.Add(time.Duration(h) * time.Hour)
		content = changeBolt(t, boltPath, h)
		s.last = s.backup(targets, repo.Incremental, at, content)
		s.lastTime = at
		if at.Hour() == 2 {
			at = at.Add(30 * time.Second)
			s.lastFull = s.backup(targets, repo.Full, at, content)
			s.last, s.lastTime = s.lastFull, at
		}
	}
	return s
}

func (s *pruneScenario) loadConfig() (*config.Config, error) {
	return config.Load(s.config)
}

// backup runs one backup at the time at and records content as what it
// contains.
func (s *pruneScenario) backup(targets []backup.Source, tier repo.Tier,
	at time.Time, content map[string]string) string {
	s.t.Helper()
	m, err := backup.Run(context.Background(), s.repo, targets,
		backup.Options{Tier: tier, Now: func() time.Time { return at }})
	if err != nil {
		s.t.Fatalf("%s backup at %v: %v", tier, at, err)
	}
	s.contents[m.ID] = content
	return m.ID
}

// snapshotIDs returns the ids of the repository's backups, sorted.
func (s *pruneScenario) snapshotIDs() []string {
	s.t.Helper()
	ids, err := s.repo.SnapshotIDs(context.Background())
	if err != nil {
		s.t.Fatal(err)
	}
	slices.Sort(ids)
	return ids
}

// restoreInto restores backup id through restore.Chains into a new bbolt
// file and returns the file's path.
func (s *pruneScenario) restoreInto(id string) string {
	s.t.Helper()
	ctx := context.Background()
	chains, err := restore.Chains(ctx, s.repo, restore.Selection{Snapshot: id})
	if err != nil {
		s.t.Fatalf("chains of backup %s: %v", id, err)
	}
	path := filepath.Join(s.t.TempDir(), "restored.db")
	dst, err := bolt.New(bolt.Config{Name: "copy", Path: path, Create: true})
	if err != nil {
		s.t.Fatal(err)
	}
	defer dst.Close()
	var items []restore.Item
	for _, chain := range chains {
		if err := s.repo.Verify(ctx, chain); err != nil {
			s.t.Fatalf("verify backup %s: %v", id, err)
		}
		items = append(items, restore.Item{Parts: chain,
			Namespace: chain[0].Entry.Namespace,
			To:        restore.Target{Name: "copy", Type: "bolt", Src: dst}})
	}
	if _, err := restore.Run(ctx, s.repo, items, restore.Options{}); err != nil {
		s.t.Fatalf("restore backup %s: %v", id, err)
	}
	return path
}

func TestE2E_PruneDryRun(t *testing.T) {
	s := newPruneScenario(t)
	before := treeDigest(t, s.repoDir)
	res := s.mustRun("prune", "--dry-run")
	wantSameTree(t, s.repoDir, before)

	var listed int
	var bytes int64
	for _, line := range logLines(t, res.stdout) {
		if line["msg"] != "would delete backup" {
			continue
		}
		listed++
		id, _ := line["snapshot"].(string)
		if _, ok := s.contents[id]; !ok {
			t.Errorf("dry run lists backup %q, which the test did not "+
				"make", id)
		}
		if n := logCount(t, line, "bytes"); n <= 0 {
			t.Errorf("dry run lists backup %s with %d bytes, want > 0",
				id, n)
		}
		bytes += logCount(t, line, "bytes")
	}
	// The incrementals of the first three days are past the seven days
	// of the default policy.
	if listed == 0 {
		t.Errorf("dry run lists no backup, want the old incrementals:\n%s",
			res.stdout)
	}
	done := logLine(t, res.stdout, "prune finished")
	if done["dry_run"] != true {
		t.Errorf("prune finished: dry_run = %v, want true", done["dry_run"])
	}
	if n := logCount(t, done, "backups"); n != int64(listed) {
		t.Errorf("prune finished: backups = %d, want %d listed", n, listed)
	}
	if n := logCount(t, done, "bytes"); n < bytes {
		t.Errorf("prune finished: bytes = %d, want at least the %d of "+
			"the listed backups", n, bytes)
	}
}

func TestE2E_PruneFortyDaysLater(t *testing.T) {
	s := newPruneScenario(t)
	ctx := context.Background()
	now := s.lastTime.Add(40 * 24 * time.Hour)
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	res, err := doPrune(ctx, log, s.repo, s.cfg.Retention, false,
		func() time.Time { return now })
	if err != nil {
		t.Fatalf("prune: %v\nlog:\n%s", err, logs.String())
	}

	// Forty days on, only the complete backup (kept 90 days), the
	// newest backup of the namespace and the chain it builds on remain.
	want := []string{s.complete, s.lastFull}
	for id := range s.contents {
		if id > s.lastFull {
			want = append(want, id)
		}
	}
	slices.Sort(want)
	got := s.snapshotIDs()
	if !slices.Equal(got, want) {
		t.Errorf("backups after prune:\n%q\nwant:\n%q", got, want)
	}
	if res.Backups != len(s.contents)-len(want) {
		t.Errorf("prune deleted %d backups, want %d", res.Backups,
			len(s.contents)-len(want))
	}
	orphans, err := s.repo.Orphans(ctx, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(orphans) != 0 {
		t.Errorf("%d objects that no backup names are left, first %s",
			len(orphans), orphans[0].Name)
	}

	for _, id := range got {
		path := s.restoreInto(id)
		if c := readBoltBucket(t, path); !maps.Equal(c, s.contents[id]) {
			t.Errorf("backup %s restores %d keys %v, want %d keys %v", id,
				len(c), c, len(s.contents[id]), s.contents[id])
		}
	}
	s.mustRun("check", "--read-data")
}
