// Package local implements blob.Store over a folder of the local file
// system.
//
// Each object is one file, and the slashes in its name become folders. An
// object is written to a temporary file whose name starts with ".tmp-",
// synced, and then hard-linked to its final name, so a reader never sees
// a partial object and an existing object is never replaced. Because of
// the folder layout, a name cannot be both an object and the folder of
// another object ("a" and "a/b").
package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/lifeline-backup/lifeline/internal/blob"
)

// tempPrefix starts the name of every file that Put has not finished.
// List skips such files, and object names may not use it.
const tempPrefix = ".tmp-"

// Store is a blob.Store that keeps objects as files under one folder.
type Store struct {
	dir string
}

var _ blob.Store = (*Store)(nil)

// New opens the store kept in dir, creating the folder with mode 0700 if
// it does not exist.
func New(dir string) (*Store, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("open local store %q: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("open local store %q: %w", dir, err)
	}
	return &Store{dir: abs}, nil
}

// String returns the path of the store's folder.
func (s *Store) String() string {
	return s.dir
}

// path checks name and returns the file that holds its object.
func (s *Store) path(name string) (string, error) {
	if !fs.ValidPath(name) || name == "." {
		return "", fmt.Errorf("invalid object name %q: "+
			"want a relative slash-separated path", name)
	}
	for part := range strings.SplitSeq(name, "/") {
		if strings.HasPrefix(part, tempPrefix) {
			return "", fmt.Errorf("invalid object name %q: "+
				"no part may start with %q", name, tempPrefix)
		}
	}
	return filepath.Join(s.dir, filepath.FromSlash(name)), nil
}

// Put stores the object through a synced temporary file and a hard link,
// so it never replaces an existing object. It returns blob.ErrExists if
// the name is taken. A negative size means the size is unknown. Any other
// size must match the length of r.
func (s *Store) Put(ctx context.Context, name string, r io.Reader,
	size int64) error {
	if err := s.put(ctx, name, r, size); err != nil {
		return fmt.Errorf("put %q to %s: %w", name, s.dir, err)
	}
	return nil
}

func (s *Store) put(ctx context.Context, name string, r io.Reader,
	size int64) error {
	path, err := s.path(name)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	parent := filepath.Dir(path)
	if err := s.mkdirAll(parent); err != nil {
		return err
	}
	tmp, err := writeTemp(ctx, parent, r, size)
	if errors.Is(err, fs.ErrNotExist) {
		// A concurrent Delete removed the folder, which was empty
		// between mkdirAll and CreateTemp.
		if err = s.mkdirAll(parent); err == nil {
			tmp, err = writeTemp(ctx, parent, r, size)
		}
	}
	if err != nil {
		return err
	}
	defer os.Remove(tmp)

	// Link fails if the name exists, unlike Rename, so of several
	// concurrent Puts only one can succeed.
	err = os.Link(tmp, path)
	if errors.Is(err, fs.ErrExist) {
		return blob.ErrExists
	}
	if err != nil {
		return err
	}
	return syncDir(parent)
}

// writeTemp copies r to a new synced temporary file in dir and returns
// its path.
func writeTemp(ctx context.Context, dir string, r io.Reader,
	size int64) (string, error) {
	f, err := os.CreateTemp(dir, tempPrefix+"*")
	if err != nil {
		return "", err
	}
	err = copyAndSync(ctx, f, r, size)
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

func copyAndSync(ctx context.Context, f *os.File, r io.Reader,
	size int64) error {
	n, err := io.Copy(f, contextReader{ctx: ctx, r: r})
	if err != nil {
		return fmt.Errorf("read object content: %w", err)
	}
	if size >= 0 && n != size {
		return fmt.Errorf("read %d bytes of object content, want %d",
			n, size)
	}
	return f.Sync()
}

// mkdirAll creates dir and its missing parents with mode 0700, and syncs
// the parent of each folder it creates so the new entries are durable.
func (s *Store) mkdirAll(dir string) error {
	if dir == s.dir {
		return nil
	}
	info, err := os.Stat(dir)
	if err == nil {
		if !info.IsDir() {
			return fmt.Errorf("%s is an object, not a folder", dir)
		}
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	parent := filepath.Dir(dir)
	if err := s.mkdirAll(parent); err != nil {
		return err
	}
	// Another Put may create the same folder at the same time.
	if err := os.Mkdir(dir, 0o700); err != nil &&
		!errors.Is(err, fs.ErrExist) {
		return err
	}
	return syncDir(parent)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if closeErr := d.Close(); err == nil {
		err = closeErr
	}
	return err
}

// contextReader stops reading once its context is done.
type contextReader struct {
	ctx context.Context
	r   io.Reader
}

func (c contextReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// Get opens the object's file for reading.
func (s *Store) Get(ctx context.Context, name string) (io.ReadCloser,
	error) {
	f, err := s.open(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("get %q from %s: %w", name, s.dir, err)
	}
	return f, nil
}

func (s *Store) open(ctx context.Context, name string) (*os.File, error) {
	path, err := s.path(name)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, notFound(err)
	}
	info, err := f.Stat()
	if err == nil && !info.Mode().IsRegular() {
		err = blob.ErrNotFound
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// Stat returns the size of the object's file.
func (s *Store) Stat(ctx context.Context, name string) (blob.Info, error) {
	info, err := s.stat(ctx, name)
	if err != nil {
		return blob.Info{}, fmt.Errorf("stat %q in %s: %w", name, s.dir, err)
	}
	return blob.Info{Name: name, Size: info.Size(),
		ModTime: info.ModTime()}, nil
}

func (s *Store) stat(ctx context.Context, name string) (fs.FileInfo,
	error) {
	path, err := s.path(name)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	info, err := os.Lstat(path)
	if err != nil {
		return nil, notFound(err)
	}
	if !info.Mode().IsRegular() {
		return nil, blob.ErrNotFound
	}
	return info, nil
}

// Delete removes the object's file and then every folder that this
// leaves empty, so the folder names can become object names again.
func (s *Store) Delete(ctx context.Context, name string) error {
	if err := s.delete(ctx, name); err != nil {
		return fmt.Errorf("delete %q from %s: %w", name, s.dir, err)
	}
	return nil
}

func (s *Store) delete(ctx context.Context, name string) error {
	if _, err := s.stat(ctx, name); err != nil {
		return err
	}
	path, err := s.path(name)
	if err != nil {
		return err
	}
	if err := os.Remove(path); err != nil {
		return notFound(err)
	}
	parent := filepath.Dir(path)
	for parent != s.dir && os.Remove(parent) == nil {
		parent = filepath.Dir(parent)
	}
	return syncDir(parent)
}

// notFound wraps blob.ErrNotFound around errors that mean a path does not
// exist, including a path through a file instead of a folder.
func notFound(err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return fmt.Errorf("%w: %w", blob.ErrNotFound, err)
	}
	return err
}
