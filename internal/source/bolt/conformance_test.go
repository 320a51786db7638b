package bolt_test

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	bbolt "go.etcd.io/bbolt"

	"github.com/lifeline-backup/lifeline/internal/source"
	"github.com/lifeline-backup/lifeline/internal/source/bolt"
	"github.com/lifeline-backup/lifeline/internal/source/sourcetest"
)

// TestConformance runs the source conformance suite on a new bbolt file
// per subtest. Each namespace gets a name of its own, so Delete finds
// the file of the namespace it is given.
func TestConformance(t *testing.T) {
	var mu sync.Mutex
	files := map[string]string{}

	sourcetest.Run(t, sourcetest.Harness{
		New: func(t *testing.T) (source.Source, string) {
			mu.Lock()
			defer mu.Unlock()
			name := fmt.Sprintf("bucket-%d", len(files)+1)
			path := filepath.Join(t.TempDir(), "conformance.db")
			files[name] = path
			src, err := bolt.New(bolt.Config{Path: path, Create: true})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			return src, name
		},
		Delete: func(t *testing.T, namespace string, key []byte) {
			mu.Lock()
			path := files[namespace]
			mu.Unlock()
			deleteLater(t, path, namespace, key)
		},
		Caps: sourcetest.Caps{
			// Record keys are encoded paths, so a key of any bytes is
			// stored as the path of one segment.
			BinaryKeys:   true,
			BinaryValues: true,
			EmptyValues:  true,
			MaxKeyLen:    bbolt.MaxKeySize,
			KeyFor: func(key []byte) []byte {
				return bolt.EncodeKey([][]byte{key})
			},
			// Read returns a bucket record, with Metadata, for the
			// top-level bucket and for each nested bucket.
			AdapterRecord: func(rec *source.Record) bool {
				return len(rec.Metadata) > 0
			},
		},
	})
}

// deleteLater deletes key from the top-level bucket namespace of the
// bbolt file at path in a goroutine of its own. The delete waits for the
// file lock, which the suite's open iterator holds until the read ends,
// and the test waits for the delete before it ends.
func deleteLater(t *testing.T, path, namespace string, key []byte) {
	segments, err := bolt.DecodeKey(key)
	if err != nil || len(segments) != 1 {
		t.Fatalf("record key %q is not a key of the top-level bucket "+
			"(segments %d, error %v)", key, len(segments), err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { <-done })
	go func() {
		defer close(done)
		if err := deleteKey(path, namespace, segments[0]); err != nil {
			t.Errorf("delete behind the source's back: %v", err)
		}
	}()
}

func deleteKey(path, namespace string, key []byte) error {
	// A zero Timeout waits for the file lock as long as it takes.
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{})
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer db.Close()
	return db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket([]byte(namespace))
		if b == nil {
			return fmt.Errorf("bucket %q not found in %s", namespace, path)
		}
		return b.Delete(key)
	})
}
