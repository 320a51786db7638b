package bolt

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/lifeline-backup/lifeline/internal/source"
)

// entry is one value or bucket found by dumpFile.
type entry struct {
	path     string // encoded path below the top-level bucket
	bucket   bool
	value    []byte
	sequence uint64
}

// dumpFile returns every top-level bucket of the bbolt file at path with
// its nested buckets, values and sequence numbers, in key order.
func dumpFile(t *testing.T, path string) map[string][]entry {
	t.Helper()
	db, err := bbolt.Open(path, 0o600,
		&bbolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer db.Close()

	out := map[string][]entry{}
	err = db.View(func(tx *bbolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bbolt.Bucket) error {
			out[string(name)] = dumpBucket(nil, b, []entry{{
				bucket: true, sequence: b.Sequence(),
			}})
			return nil
		})
	})
	if err != nil {
		t.Fatalf("dump %s: %v", path, err)
	}
	return out
}

func dumpBucket(path [][]byte, b *bbolt.Bucket, out []entry) []entry {
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		p := append(append([][]byte{}, path...), bytes.Clone(k))
		if nested := b.Bucket(k); nested != nil {
			out = append(out, entry{path: string(EncodeKey(p)),
				bucket: true, sequence: nested.Sequence()})
			out = dumpBucket(p, nested, out)
			continue
		}
		out = append(out, entry{path: string(EncodeKey(p)),
			value: bytes.Clone(v)})
	}
	return out
}

// compareDumps reports every difference between two dumps.
func compareDumps(t *testing.T, got, want map[string][]entry) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("got %d top-level buckets, want %d", len(got), len(want))
	}
	for name, wantEntries := range want {
		gotEntries, ok := got[name]
		if !ok {
			t.Errorf("top-level bucket %q missing", name)
			continue
		}
		if len(gotEntries) != len(wantEntries) {
			t.Errorf("bucket %q: got %d entries, want %d",
				name, len(gotEntries), len(wantEntries))
			continue
		}
		for i, w := range wantEntries {
			compareEntry(t, name, gotEntries[i], w)
		}
	}
}

func compareEntry(t *testing.T, bucket string, got, want entry) {
	t.Helper()
	switch {
	case got.path != want.path:
		t.Errorf("bucket %q: entry path %q, want %q",
			bucket, got.path, want.path)
	case got.bucket != want.bucket:
		t.Errorf("bucket %q, path %q: is bucket %v, want %v",
			bucket, got.path, got.bucket, want.bucket)
	case got.sequence != want.sequence:
		t.Errorf("bucket %q, path %q: sequence %d, want %d",
			bucket, got.path, got.sequence, want.sequence)
	case !bytes.Equal(got.value, want.value):
		t.Errorf("bucket %q, path %q: value of %d bytes differs from "+
			"the wanted %d bytes", bucket, got.path, len(got.value),
			len(want.value))
	}
}

// readAll reads every record of namespace.
func readAll(t *testing.T, s *Source, namespace string) []source.Record {
	t.Helper()
	ctx := context.Background()
	it, err := s.Read(ctx, namespace)
	if err != nil {
		t.Fatalf("Read(%q): %v", namespace, err)
	}
	defer it.Close()
	var records []source.Record
	for {
		rec, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("Next in %q: %v", namespace, err)
		}
		records = append(records, *rec)
	}
	if err := it.Close(); err != nil {
		t.Fatalf("Close iterator of %q: %v", namespace, err)
	}
	return records
}

// update runs fn in a write transaction on the bbolt file at path,
// creating the file if it is missing.
func update(t *testing.T, path string, fn func(tx *bbolt.Tx) error) {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer db.Close()
	if err := db.Update(fn); err != nil {
		t.Fatalf("update %s: %v", path, err)
	}
}

func newSource(t *testing.T, cfg Config) *Source {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func tempFile(t *testing.T, name string) string {
	t.Helper()
	return filepath.Join(t.TempDir(), name)
}

func bucketRec(key string, sequence uint64) source.Record {
	return source.Record{Key: []byte(key), Metadata: bucketMetadata(sequence)}
}

func valueRec(key, value string) source.Record {
	return source.Record{Key: []byte(key), Value: []byte(value)}
}
