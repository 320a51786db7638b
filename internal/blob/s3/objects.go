package s3

import (
	"context"
	"fmt"
	"io"
	"iter"
	"strings"

	"github.com/minio/minio-go/v7"

	"github.com/lifeline-backup/lifeline/internal/blob"
)

// Get opens the object for reading. It sends the GET request before it
// returns, so a missing object yields blob.ErrNotFound here and not on
// the first Read.
func (s *Store) Get(ctx context.Context, name string) (io.ReadCloser,
	error) {
	obj, err := s.get(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("get %q from %s: %w", name, s, err)
	}
	return &objectReader{obj: obj, name: name, store: s}, nil
}

// objectReader maps errors of reading the body, as those of the request:
// minio-go may send another GET on Read, and an object deleted meanwhile
// must read as blob.ErrNotFound.
type objectReader struct {
	obj   *minio.Object
	name  string
	store *Store
}

func (r *objectReader) Read(p []byte) (int, error) {
	n, err := r.obj.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("read %q from %s: %w", r.name, r.store,
			mapError(err))
	}
	return n, err
}

func (r *objectReader) Close() error { return r.obj.Close() }

func (s *Store) get(ctx context.Context, name string) (*minio.Object,
	error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	obj, err := s.client.GetObject(ctx, s.bucket, s.key(name),
		minio.GetObjectOptions{})
	if err != nil {
		return nil, mapError(err)
	}
	// Object.Stat sends the request and returns its error.
	if _, err := obj.Stat(); err != nil {
		obj.Close()
		return nil, mapError(err)
	}
	return obj, nil
}

// Stat returns the object's size from a HEAD request.
func (s *Store) Stat(ctx context.Context, name string) (blob.Info, error) {
	info, err := s.stat(ctx, name)
	if err != nil {
		return blob.Info{}, fmt.Errorf("stat %q in %s: %w", name, s, err)
	}
	return blob.Info{Name: name, Size: info.Size,
		ModTime: info.LastModified}, nil
}

func (s *Store) stat(ctx context.Context, name string) (minio.ObjectInfo,
	error) {
	if err := checkName(name); err != nil {
		return minio.ObjectInfo{}, err
	}
	info, err := s.client.StatObject(ctx, s.bucket, s.key(name),
		minio.StatObjectOptions{})
	return info, mapError(err)
}

// Delete removes the object. S3 reports success for deleting a missing
// key, so Delete first checks that the object exists. A delete that the
// server refuses because of Object Lock returns blob.ErrLocked.
func (s *Store) Delete(ctx context.Context, name string) error {
	if err := s.delete(ctx, name); err != nil {
		return fmt.Errorf("delete %q from %s: %w", name, s, err)
	}
	return nil
}

func (s *Store) delete(ctx context.Context, name string) error {
	// NOTE: an object deleted by someone else between the two requests
	// is not reported as blob.ErrNotFound.
	info, err := s.stat(ctx, name)
	if err != nil {
		return err
	}
	err = s.client.RemoveObject(ctx, s.bucket, s.key(name),
		minio.RemoveObjectOptions{})
	if locked := lockRefusal(err, info); locked != nil {
		return locked
	}
	return mapError(err)
}

// List yields the objects whose names start with prefix, in the order the
// server lists keys, which S3 defines as lexical order of UTF-8 bytes.
func (s *Store) List(ctx context.Context,
	prefix string) iter.Seq2[blob.Info, error] {
	return func(yield func(blob.Info, error) bool) {
		// Canceling stops the client's listing goroutine when the
		// consumer stops early.
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		objects := s.client.ListObjects(ctx, s.bucket,
			minio.ListObjectsOptions{
				Prefix:    s.key(prefix),
				Recursive: true,
			})
		for obj := range objects {
			if obj.Err != nil {
				yield(blob.Info{}, fmt.Errorf("list %q in %s: %w",
					prefix, s, obj.Err))
				return
			}
			name := strings.TrimPrefix(obj.Key, s.prefix)
			if !yield(blob.Info{Name: name, Size: obj.Size,
				ModTime: obj.LastModified}, nil) {
				return
			}
		}
	}
}
