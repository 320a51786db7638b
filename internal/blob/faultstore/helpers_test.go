package faultstore_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/lifeline-backup/lifeline/internal/backup"
	"github.com/lifeline-backup/lifeline/internal/blob"
	"github.com/lifeline-backup/lifeline/internal/blob/faultstore"
	"github.com/lifeline-backup/lifeline/internal/blob/local"
	"github.com/lifeline-backup/lifeline/internal/codec"
	"github.com/lifeline-backup/lifeline/internal/repo"
	"github.com/lifeline-backup/lifeline/internal/seal"
	"github.com/lifeline-backup/lifeline/internal/source"
	"github.com/lifeline-backup/lifeline/internal/source/bolt"
)

// noSleep lets blob.Retry try again at once.
func noSleep(context.Context, time.Duration) error { return nil }

// env is a repository in a local folder behind a fault store and, on
// top, the retrying store that commands use.
type env struct {
	faults *faultstore.Store
	repo   *repo.Repo
	// retries counts the tries blob.Retry made again.
	retries int
}

func newEnv(t *testing.T) *env {
	t.Helper()
	base, err := local.New(t.TempDir())
	if err != nil {
		t.Fatalf("local.New: %v", err)
	}
	e := &env{faults: faultstore.New(base)}
	store := blob.Retry(e.faults, blob.RetryOptions{Sleep: noSleep,
		OnRetry: func(string, string, int, error) { e.retries++ }})
	enc, err := seal.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	k, err := seal.ParseKey("k1", enc)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := seal.NewKeyring(k)
	if err != nil {
		t.Fatal(err)
	}
	e.repo, err = repo.Init(t.Context(), store, keys, time.Now())
	if err != nil {
		t.Fatalf("repo.Init: %v", err)
	}
	return e
}

// boltSource creates a bbolt file with n records in each of two buckets
// and returns the source that reads it.
func boltSource(t *testing.T, n int) *bolt.Source {
	t.Helper()
	path := filepath.Join(t.TempDir(), "app.db")
	src, err := bolt.New(bolt.Config{Name: "app", Path: path, Create: true})
	if err != nil {
		t.Fatalf("bolt.New: %v", err)
	}
	t.Cleanup(func() { src.Close() })
	for _, ns := range []string{"sessions", "users"} {
		var recs []source.Record
		for i := range n {
			recs = append(recs, source.Record{
				Key:   fmt.Appendf(nil, "%s:%06d", ns, i),
				Value: fmt.Appendf(nil, "value %d of %s %x", i, ns, i*7919),
			})
		}
		_, err := src.Write(t.Context(), ns, recs, source.Replace,
			time.Now())
		if err != nil {
			t.Fatalf("write %s: %v", ns, err)
		}
	}
	return src
}

// runBackup takes one full backup of src.
func (e *env) runBackup(ctx context.Context, name, typ string,
	src source.Source) (*repo.Manifest, error) {
	return backup.Run(ctx, e.repo, []backup.Source{{Name: name, Type: typ,
		Src: src}}, backup.Options{Tier: repo.Full,
		Compression: codec.Zstd})
}

// state reads every record of a source namespace into key to value.
func state(t *testing.T, src source.Source, ns string) map[string]string {
	t.Helper()
	it, err := src.Read(t.Context(), ns)
	if err != nil {
		t.Fatalf("read %s: %v", ns, err)
	}
	defer it.Close()
	out := map[string]string{}
	for {
		rec, err := it.Next(t.Context())
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("read %s: %v", ns, err)
		}
		out[string(rec.Key)] = string(rec.Value)
	}
}

// backedUp reads every record of one namespace of a backup.
func (e *env) backedUp(t *testing.T, id, src,
	ns string) map[string]string {
	t.Helper()
	s, err := e.repo.LoadSnapshot(t.Context(), id)
	if err != nil {
		t.Fatalf("load backup %s: %v", id, err)
	}
	entry, ok := s.Entry(src, ns)
	if !ok {
		t.Fatalf("backup %s has no %s/%s", id, src, ns)
	}
	out := map[string]string{}
	err = e.repo.ReadNamespace(t.Context(), s, entry,
		func(rec *source.Record) error {
			out[string(rec.Key)] = string(rec.Value)
			return nil
		})
	if err != nil {
		t.Fatalf("read backup %s: %v", id, err)
	}
	return out
}

// sameState fails the test unless the two states are equal.
func sameState(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d records, want %d", what, len(got), len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("%s: key %q differs", what, k)
		}
	}
}

// snapshotIDs lists the committed backups.
func (e *env) snapshotIDs(t *testing.T) []string {
	t.Helper()
	ids, err := e.repo.SnapshotIDs(t.Context())
	if err != nil {
		t.Fatalf("SnapshotIDs: %v", err)
	}
	return ids
}
