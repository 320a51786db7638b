package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"

	bbolt "go.etcd.io/bbolt"
)

// writeBoltFixture creates a bbolt file with binary keys (0x00 and 0x01
// bytes included), an empty value, a 20 MiB value, nested buckets, an
// empty nested bucket and bucket sequence numbers.
func writeBoltFixture(t *testing.T, path string) {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer db.Close()

	big := make([]byte, 20<<20)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		app, err := tx.CreateBucket([]byte("app"))
		if err != nil {
			return err
		}
		if err := app.SetSequence(41); err != nil {
			return err
		}
		for key, value := range map[string][]byte{
			"\x00":           []byte("zero"),
			"\x01":           []byte("one"),
			"a\x00b\x01c":    {0x00, 0x01, 0xff},
			"\xff\xfe":       []byte("high bytes"),
			"empty":          {},
			"big":            big,
			"plain text key": []byte("plain value"),
		} {
			if err := app.Put([]byte(key), value); err != nil {
				return err
			}
		}
		nested, err := app.CreateBucket([]byte("nested\x00\x01"))
		if err != nil {
			return err
		}
		if err := nested.SetSequence(7); err != nil {
			return err
		}
		if err := nested.Put([]byte("\x01inner"), []byte("v")); err != nil {
			return err
		}
		deeper, err := nested.CreateBucket([]byte("deeper"))
		if err != nil {
			return err
		}
		if err := deeper.Put([]byte("k"), []byte("deep value")); err != nil {
			return err
		}
		if _, err := app.CreateBucket([]byte("empty-bucket")); err != nil {
			return err
		}
		other, err := tx.CreateBucket([]byte("other"))
		if err != nil {
			return err
		}
		for i := range 1000 {
			k := []byte(fmt.Sprintf("k%04d", i))
			if err := other.Put(k, bytes.Repeat(k, i%7)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
}

// compareBoltFiles compares two bbolt files bucket by bucket and key by
// key, including bucket sequence numbers.
func compareBoltFiles(t *testing.T, gotPath, wantPath string) {
	t.Helper()
	opts := &bbolt.Options{ReadOnly: true}
	got, err := bbolt.Open(gotPath, 0o600, opts)
	if err != nil {
		t.Fatalf("open %s: %v", gotPath, err)
	}
	defer got.Close()
	want, err := bbolt.Open(wantPath, 0o600, opts)
	if err != nil {
		t.Fatalf("open %s: %v", wantPath, err)
	}
	defer want.Close()

	err = got.View(func(gtx *bbolt.Tx) error {
		return want.View(func(wtx *bbolt.Tx) error {
			compareTopLevel(t, gtx, wtx)
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
}

func compareTopLevel(t *testing.T, got, want *bbolt.Tx) {
	t.Helper()
	var gotNames, wantNames []string
	got.ForEach(func(name []byte, _ *bbolt.Bucket) error {
		gotNames = append(gotNames, string(name))
		return nil
	})
	want.ForEach(func(name []byte, b *bbolt.Bucket) error {
		wantNames = append(wantNames, string(name))
		g := got.Bucket(name)
		if g == nil {
			t.Errorf("bucket %q is missing", name)
			return nil
		}
		compareBuckets(t, fmt.Sprintf("%q", name), g, b)
		return nil
	})
	if fmt.Sprint(gotNames) != fmt.Sprint(wantNames) {
		t.Errorf("top-level buckets = %q, want %q", gotNames, wantNames)
	}
}

// compareBuckets compares the keys, values, nested buckets and sequence
// of two buckets. The path names the bucket in messages.
func compareBuckets(t *testing.T, path string, got, want *bbolt.Bucket) {
	t.Helper()
	if g, w := got.Sequence(), want.Sequence(); g != w {
		t.Errorf("bucket %s: sequence = %d, want %d", path, g, w)
	}
	gc, wc := got.Cursor(), want.Cursor()
	gk, gv := gc.First()
	wk, wv := wc.First()
	for gk != nil || wk != nil {
		switch {
		case wk == nil || (gk != nil && bytes.Compare(gk, wk) < 0):
			t.Errorf("bucket %s: extra key %q", path, gk)
			gk, gv = gc.Next()
			continue
		case gk == nil || bytes.Compare(gk, wk) > 0:
			t.Errorf("bucket %s: missing key %q", path, wk)
			wk, wv = wc.Next()
			continue
		}
		compareEntry(t, path, wk, got, want, gv, wv)
		gk, gv = gc.Next()
		wk, wv = wc.Next()
	}
}

// compareEntry compares one key present in both buckets: a value, or a
// nested bucket when the value is nil.
func compareEntry(t *testing.T, path string, key []byte, got,
	want *bbolt.Bucket, gv, wv []byte) {
	t.Helper()
	switch {
	case wv == nil && gv == nil:
		compareBuckets(t, fmt.Sprintf("%s/%q", path, key),
			got.Bucket(key), want.Bucket(key))
	case wv == nil:
		t.Errorf("bucket %s: key %q is a value, want a bucket", path, key)
	case gv == nil:
		t.Errorf("bucket %s: key %q is a bucket, want a value", path, key)
	case !bytes.Equal(gv, wv):
		t.Errorf("bucket %s: key %q: value of %d bytes differs from the "+
			"original of %d bytes", path, key, len(gv), len(wv))
	}
}

func TestE2E_BoltRoundTrip(t *testing.T) {
	e := newE2E(t)
	original := filepath.Join(e.dir, "app.db")
	copyPath := filepath.Join(e.dir, "restored.db")
	writeBoltFixture(t, original)

	_, url := e.localRepo()
	e.writeConfig(fileRepository(url),
		boltSource("app", original),
		boltSource("copy", copyPath))
	e.mustRun("init")
	e.mustRun("backup", "--tier", "full", "--source", "app")
	e.mustRun("restore", "--snapshot", "latest", "--to", "copy")

	compareBoltFiles(t, copyPath, original)
}
