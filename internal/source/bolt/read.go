package bolt

import (
	"context"
	"fmt"
	"io"

	bbolt "go.etcd.io/bbolt"

	"github.com/lifeline-backup/lifeline/internal/source"
)

// Read returns an iterator over the bucket record of the top-level bucket
// namespace, then every value and nested bucket below it, depth first in
// key order. The iterator holds a read transaction and the file open
// until Close, which the caller must call even after an error.
func (s *Source) Read(ctx context.Context, namespace string) (
	source.Iterator, error) {
	if err := s.checkNamespace(namespace); err != nil {
		return nil, err
	}
	db, err := s.open(false)
	if err != nil {
		return nil, fmt.Errorf("read namespace %q: %w", namespace, err)
	}
	tx, err := db.Begin(false)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("read namespace %q from bolt file %s: %w",
			namespace, s.cfg.Path, err)
	}
	bucket := tx.Bucket([]byte(namespace))
	if bucket == nil {
		tx.Rollback()
		db.Close()
		return nil, fmt.Errorf("read namespace %q from bolt file %s: "+
			"no such top-level bucket: %w", namespace, s.cfg.Path,
			source.ErrUnknownNamespace)
	}
	it := &iterator{path: s.cfg.Path, db: db, tx: tx, root: bucket}
	return it, nil
}

// iterator walks the nested buckets of one top-level bucket with a stack
// of cursors, so its memory grows with the nesting depth, not with the
// number of keys.
type iterator struct {
	path string
	db   *bbolt.DB
	tx   *bbolt.Tx
	root *bbolt.Bucket
	// stack holds one frame per bucket being walked, the top-level bucket
	// first. It is nil until the first Next call.
	stack  []frame
	closed bool
}

// frame is a bucket being walked.
type frame struct {
	bucket *bbolt.Bucket
	cursor *bbolt.Cursor
	// path holds the names of the nested buckets down to this one.
	path    [][]byte
	started bool
}

// Next returns the next record. Its slices are copies that the caller
// may keep and change.
func (it *iterator) Next(ctx context.Context) (*source.Record, error) {
	if it.closed {
		return nil, fmt.Errorf("read bolt file %s: iterator is closed",
			it.path)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if it.stack == nil {
		it.stack = []frame{{bucket: it.root, cursor: it.root.Cursor()}}
		return bucketRecord(nil, it.root), nil
	}
	for len(it.stack) > 0 {
		top := &it.stack[len(it.stack)-1]
		key, value := it.advance(top)
		if key == nil {
			it.stack = it.stack[:len(it.stack)-1]
			continue
		}
		path := append(cloneSegments(top.path), clone(key))

		// The cursor returns a nil value for a nested bucket. Bucket
		// confirms it, so an empty value is never taken for a bucket.
		if value == nil {
			if nested := top.bucket.Bucket(key); nested != nil {
				it.stack = append(it.stack, frame{
					bucket: nested,
					cursor: nested.Cursor(),
					path:   path,
				})
				return bucketRecord(path, nested), nil
			}
		}
		return &source.Record{Key: EncodeKey(path), Value: clone(value)},
			nil
	}
	return nil, io.EOF
}

func (it *iterator) advance(f *frame) (key, value []byte) {
	if !f.started {
		f.started = true
		return f.cursor.First()
	}
	return f.cursor.Next()
}

// Close ends the read transaction and closes the file. It is safe to
// call more than once.
func (it *iterator) Close() error {
	if it.closed {
		return nil
	}
	it.closed = true
	it.stack = nil
	rollbackErr := it.tx.Rollback()
	closeErr := it.db.Close()
	if rollbackErr != nil {
		return fmt.Errorf("end read of bolt file %s: %w",
			it.path, rollbackErr)
	}
	if closeErr != nil {
		return fmt.Errorf("close bolt file %s: %w", it.path,
			closeErr)
	}
	return nil
}

func bucketRecord(path [][]byte, b *bbolt.Bucket) *source.Record {
	return &source.Record{
		Key:      EncodeKey(path),
		Metadata: bucketMetadata(b.Sequence()),
	}
}

func clone(b []byte) []byte {
	return append(make([]byte, 0, len(b)), b...)
}

func cloneSegments(path [][]byte) [][]byte {
	return append(make([][]byte, 0, len(path)+1), path...)
}
