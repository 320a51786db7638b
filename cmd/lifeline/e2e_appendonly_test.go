package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"maps"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/lifeline-backup/lifeline/internal/backup"
	"github.com/lifeline-backup/lifeline/internal/blob"
	"github.com/lifeline-backup/lifeline/internal/blob/local"
	"github.com/lifeline-backup/lifeline/internal/config"
	"github.com/lifeline-backup/lifeline/internal/repo"
	"github.com/lifeline-backup/lifeline/internal/restore"
	"github.com/lifeline-backup/lifeline/internal/seal"
	"github.com/lifeline-backup/lifeline/internal/source/bolt"
)

// countingStore counts the calls that would remove or replace data:
// every Delete, and every Put of a name that already holds an object.
type countingStore struct {
	blob.Store
	mu         sync.Mutex
	puts       int
	deletes    []string
	overwrites []string
}

func (c *countingStore) Put(ctx context.Context, name string, r io.Reader,
	size int64) error {
	_, err := c.Store.Stat(ctx, name)
	c.mu.Lock()
	c.puts++
	if err == nil {
		c.overwrites = append(c.overwrites, name)
	}
	c.mu.Unlock()
	return c.Store.Put(ctx, name, r, size)
}

func (c *countingStore) Delete(ctx context.Context, name string) error {
	c.mu.Lock()
	c.deletes = append(c.deletes, name)
	c.mu.Unlock()
	return c.Store.Delete(ctx, name)
}

// wantNoLoss fails the test if anything reached c that deletes or
// replaces an object.
func (c *countingStore) wantNoLoss(t *testing.T, what string) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.puts == 0 {
		t.Errorf("%s: no Put reached the store", what)
	}
	if len(c.deletes) != 0 {
		t.Errorf("%s: %d deletes reached the store, first %s", what,
			len(c.deletes), c.deletes[0])
	}
	if len(c.overwrites) != 0 {
		t.Errorf("%s: %d puts of existing names, first %s", what,
			len(c.overwrites), c.overwrites[0])
	}
}

// openAppendOnly creates a repository in the folder dir through
// blob.AppendOnly over a countingStore.
func openAppendOnly(t *testing.T, dir string,
	keys *seal.Keyring) (*repo.Repo, *countingStore) {
	t.Helper()
	base, err := local.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	counting := &countingStore{Store: base}
	r, err := repo.Init(context.Background(), blob.AppendOnly(counting),
		keys, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return r, counting
}

// restoreBolt restores the state at the time at from r into a new bbolt
// file and returns its bucket.
func restoreBolt(t *testing.T, r *repo.Repo, at time.Time) map[string]string {
	t.Helper()
	ctx := context.Background()
	chains, err := restore.Chains(ctx, r, restore.Selection{At: at})
	if err != nil {
		t.Fatalf("chains at %v: %v", at, err)
	}
	path := filepath.Join(t.TempDir(), "restored.db")
	dst, err := bolt.New(bolt.Config{Name: "scratch", Path: path,
		Create: true})
	if err != nil {
		t.Fatal(err)
	}
	var items []restore.Item
	for _, chain := range chains {
		items = append(items, restore.Item{Parts: chain,
			Namespace: chain[0].Entry.Namespace,
			To: restore.Target{Name: "scratch", Type: "bolt",
				Src: dst}})
	}
	_, err = restore.Run(ctx, r, items, restore.Options{})
	dst.Close()
	if err != nil {
		t.Fatalf("restore at %v: %v", at, err)
	}
	return readBoltBucket(t, path)
}

func TestE2E_AppendOnlyNeverDeletes(t *testing.T) {
	e := newE2E(t)
	ctx := context.Background()
	repoDir, url := e.localRepo()
	boltPath := filepath.Join(e.dir, "app.db")
	e.writeConfig(fileRepository(url+"\nappend_only: true"),
		boltSource("app", boltPath))
	cfg, err := config.Load(e.config)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := loadKeyring(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r, counting := openAppendOnly(t, repoDir, keys)

	// A full backup, then an incremental an hour later.
	srcs, err := selectSources(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	targets, closeAll, err := openBackupSources(srcs)
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll()
	start := time.Now().UTC().Truncate(time.Hour).Add(-2 * time.Hour)
	contents := map[time.Time]map[string]string{}
	var ids []string
	for i, tier := range []repo.Tier{repo.Full, repo.Incremental} {
		at := start.Add(time.Duration(i) * time.Hour)
		contents[at] = changeBolt(t, boltPath, i)
		m, err := backup.Run(ctx, r, targets, backup.Options{Tier: tier,
			Now: func() time.Time { return at }})
		if err != nil {
			t.Fatalf("%s backup: %v", tier, err)
		}
		ids = append(ids, m.ID)
	}
	before := treeDigest(t, repoDir)

	// Prune and key rewrap need an exclusive lock, which an append-only
	// repository rejects before anything is deleted.
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	later := func() time.Time { return start.Add(90 * 24 * time.Hour) }
	_, err = doPrune(ctx, log, r, cfg.Retention, false, later)
	if !errors.Is(err, blob.ErrAppendOnly) {
		t.Errorf("prune: error %v, want blob.ErrAppendOnly", err)
	} else {
		wantContains(t, "prune error", err.Error(), "append-only")
	}
	_, err = r.Lock(ctx, "keys rewrap", true, nil)
	if !errors.Is(err, blob.ErrAppendOnly) {
		t.Errorf("lock for keys rewrap: error %v, want "+
			"blob.ErrAppendOnly", err)
	}
	msg := e.mustFail("prune")
	wantContains(t, "prune error", msg, "append-only")
	msg = e.mustFail("keys", "rewrap")
	wantContains(t, "keys rewrap error", msg, "append-only")

	// Restore and check read only.
	for at, want := range contents {
		got := restoreBolt(t, r, at)
		if !maps.Equal(got, want) {
			t.Errorf("restore at %v = %v, want %v", at, got, want)
		}
	}
	res, err := r.Check(ctx, repo.CheckOptions{ReadPercent: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Problems) != 0 {
		t.Errorf("check: %d problems, first %v", len(res.Problems),
			res.Problems[0])
	}
	wantSameTree(t, repoDir, before)

	// Copy twice into an append-only destination: the second copy
	// finds every backup there and stores nothing.
	t.Setenv("LIFELINE_KEY_C1", e.generateKey())
	copyKeys, err := loadKeys([]config.Key{{ID: "c1",
		Env: "LIFELINE_KEY_C1"}})
	if err != nil {
		t.Fatal(err)
	}
	dst, dstCounting := openAppendOnly(t, filepath.Join(e.dir, "copy"),
		copyKeys)
	for round := 1; round <= 2; round++ {
		cres, err := r.Copy(ctx, dst, ids, nil)
		if err != nil {
			t.Fatalf("copy round %d: %v", round, err)
		}
		wantCopied, wantSkipped := len(ids), 0
		if round == 2 {
			wantCopied, wantSkipped = 0, len(ids)
		}
		if len(cres.Copied) != wantCopied ||
			len(cres.Skipped) != wantSkipped {
			t.Errorf("copy round %d: copied %d, skipped %d, want %d "+
				"and %d", round, len(cres.Copied), len(cres.Skipped),
				wantCopied, wantSkipped)
		}
	}
	got := restoreBolt(t, dst, start.Add(time.Hour))
	if want := contents[start.Add(time.Hour)]; !maps.Equal(got, want) {
		t.Errorf("restore from the copy = %v, want %v", got, want)
	}

	counting.wantNoLoss(t, "repository")
	dstCounting.wantNoLoss(t, "copy")
}
