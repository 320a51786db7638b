package bolt

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lifeline-backup/lifeline/internal/source"
)

// TestEmptyFileReadsAsMissing covers the file a process killed while
// creating it leaves behind: reads see a missing file, and a write
// initializes it.
func TestEmptyFileReadsAsMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "target.db")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Name: "target", Path: path, Create: true})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	_, err = s.Read(t.Context(), "app")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Read of an empty file: %v, want fs.ErrNotExist", err)
	}
	recs := []source.Record{{Key: []byte("k"), Value: []byte("v")}}
	if _, err := s.Write(t.Context(), "app", recs, source.Replace,
		time.Now()); err != nil {
		t.Fatalf("Write into an empty file: %v", err)
	}
	names, err := s.Namespaces(t.Context())
	if err != nil || len(names) != 1 || names[0] != "app" {
		t.Fatalf("Namespaces after the write = %v, %v; want [app]", names,
			err)
	}
}
