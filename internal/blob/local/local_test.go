package local_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lifeline-backup/lifeline/internal/blob"
	"github.com/lifeline-backup/lifeline/internal/blob/blobtest"
	"github.com/lifeline-backup/lifeline/internal/blob/local"
)

func newStore(t *testing.T) blob.Store {
	t.Helper()
	s, err := local.New(filepath.Join(t.TempDir(), "repo"))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func TestStore(t *testing.T) {
	blobtest.Run(t, newStore)
}

func TestStore_Modes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "repo")
	s, err := local.New(dir)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	put(t, s, "data/ab/abcdef", "content")

	for _, path := range []string{dir, filepath.Join(dir, "data"),
		filepath.Join(dir, "data", "ab")} {
		checkMode(t, path, os.ModeDir|0o700)
	}
	checkMode(t, filepath.Join(dir, "data", "ab", "abcdef"), 0o600)
}

func checkMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	if info.Mode() != want {
		t.Errorf("mode of %s = %v, want %v", path, info.Mode(), want)
	}
}

func put(t *testing.T, s blob.Store, name, content string) {
	t.Helper()
	r := strings.NewReader(content)
	if err := s.Put(t.Context(), name, r, int64(len(content))); err != nil {
		t.Fatalf("Put(%q): %v", name, err)
	}
}

func TestStore_String(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "repo")
	s, err := local.New(dir)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if s.String() != dir {
		t.Fatalf("String() = %q, want %q", s.String(), dir)
	}
}

func TestStore_ListSkipsTemporaryFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "repo")
	s, err := local.New(dir)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	put(t, s, "data/one", "1")
	// A crash during Put leaves such a file behind.
	leftover := filepath.Join(dir, "data", ".tmp-12345")
	if err := os.WriteFile(leftover, []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}

	var names []string
	for info, err := range s.List(t.Context(), "") {
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		names = append(names, info.Name)
	}
	if len(names) != 1 || names[0] != "data/one" {
		t.Fatalf("List = %q, want [data/one]", names)
	}
}

func TestStore_InvalidNames(t *testing.T) {
	s := newStore(t)
	names := []string{"", ".", "/abs", "a/../b", "a//b", "a/",
		".tmp-x", "data/.tmp-x"}
	for _, name := range names {
		err := s.Put(t.Context(), name, strings.NewReader("x"), 1)
		if err == nil {
			t.Errorf("Put(%q) returned nil, want an error", name)
		}
		if _, err := s.Stat(t.Context(), name); err == nil {
			t.Errorf("Stat(%q) returned nil, want an error", name)
		}
	}
}

// TestStore_FolderNameReused checks that Delete removes emptied folders,
// so a former folder name can hold an object.
func TestStore_FolderNameReused(t *testing.T) {
	s := newStore(t)
	put(t, s, "a/b/c", "1")
	if err := s.Delete(t.Context(), "a/b/c"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	put(t, s, "a/b", "2")
	put(t, s, "a/c", "3")

	_, err := s.Stat(t.Context(), "a")
	if !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Stat of folder a error = %v, want blob.ErrNotFound", err)
	}
}
