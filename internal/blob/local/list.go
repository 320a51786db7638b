package local

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/lifeline-backup/lifeline/internal/blob"
)

// List yields the objects whose names start with prefix, in lexical order
// of names, skipping unfinished ".tmp-" files.
func (s *Store) List(ctx context.Context,
	prefix string) iter.Seq2[blob.Info, error] {
	return func(yield func(blob.Info, error) bool) {
		// Only the folder that the prefix names can hold matches.
		dir := ""
		if i := strings.LastIndex(prefix, "/"); i >= 0 {
			dir = prefix[:i]
		}
		w := walker{ctx: ctx, root: s.dir, prefix: prefix, yield: yield}
		err := w.walk(dir)
		if err != nil && !errors.Is(err, errStop) {
			yield(blob.Info{}, fmt.Errorf("list %q in %s: %w",
				prefix, s.dir, err))
		}
	}
}

// errStop ends a walk whose consumer stopped the iteration.
var errStop = errors.New("iteration stopped")

type walker struct {
	ctx    context.Context
	root   string
	prefix string
	yield  func(blob.Info, error) bool
}

// walk yields the matching objects under the folder dir, a slash-separated
// path relative to the root.
func (w *walker) walk(dir string) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	entries, err := os.ReadDir(filepath.Join(w.root, filepath.FromSlash(dir)))
	if errors.Is(err, fs.ErrNotExist) && dir != "" {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range sortEntries(entries) {
		if err := w.visit(dir, e); err != nil {
			return err
		}
	}
	return nil
}

func (w *walker) visit(dir string, e fs.DirEntry) error {
	name := path.Join(dir, e.Name())
	if strings.HasPrefix(e.Name(), tempPrefix) {
		return nil
	}
	if e.IsDir() {
		sub := name + "/"
		if strings.HasPrefix(sub, w.prefix) ||
			strings.HasPrefix(w.prefix, sub) {
			return w.walk(name)
		}
		return nil
	}
	if !e.Type().IsRegular() || !strings.HasPrefix(name, w.prefix) {
		return nil
	}
	info, err := e.Info()
	if errors.Is(err, fs.ErrNotExist) {
		// A concurrent Delete removed it.
		return nil
	}
	if err != nil {
		return err
	}
	if !w.yield(blob.Info{Name: name, Size: info.Size(),
		ModTime: info.ModTime()}, nil) {
		return errStop
	}
	return nil
}

// sortEntries orders entries so that walking them yields names in lexical
// order: a folder "a" sorts as "a/", after a file "a-b" and before "a0".
func sortEntries(entries []fs.DirEntry) []fs.DirEntry {
	key := func(e fs.DirEntry) string {
		if e.IsDir() {
			return e.Name() + "/"
		}
		return e.Name()
	}
	return slices.SortedFunc(slices.Values(entries),
		func(a, b fs.DirEntry) int { return cmp.Compare(key(a), key(b)) })
}
