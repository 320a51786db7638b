package bolt

import (
	"bytes"
	"context"
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/lifeline-backup/lifeline/internal/source"
)

// Write applies records to the top-level bucket namespace in one write
// transaction, creating the bucket and any nested bucket on a record's
// path as needed. If any record fails, the transaction is rolled back
// and nothing of the batch is written.
//
// A value or nested bucket that is in the way of a record (a value where
// the path needs a bucket, or the reverse) is a conflict in KeepExisting
// mode and is replaced in Replace mode. A bucket record sets the
// bucket's sequence number only when this call created the bucket or
// mode is Replace. In KeepExisting mode an existing bucket with another
// sequence number is a conflict. A tombstone deletes a value or a whole
// nested bucket, and counts in Deleted only if there was one to delete.
func (s *Source) Write(ctx context.Context, namespace string,
	records []source.Record, mode source.WriteMode, now time.Time) (
	source.WriteResult, error) {
	if err := s.checkNamespace(namespace); err != nil {
		return source.WriteResult{}, err
	}
	db, err := s.open(true)
	if err != nil {
		return source.WriteResult{}, fmt.Errorf("write namespace %q: %w",
			namespace, err)
	}

	w := &writer{mode: mode, created: map[string]bool{}}
	err = db.Update(func(tx *bbolt.Tx) error {
		if err := w.openRoot(tx, namespace); err != nil {
			return err
		}
		return w.applyAll(ctx, records, now)
	})
	closeErr := db.Close()
	if err == nil && closeErr != nil {
		err = fmt.Errorf("close file: %w", closeErr)
	}
	if err != nil {
		return source.WriteResult{}, fmt.Errorf(
			"write namespace %q to bolt file %s: %w",
			namespace, s.cfg.Path, err)
	}
	return w.result, nil
}

// writer applies the records of one Write call inside its transaction.
type writer struct {
	mode source.WriteMode
	root *bbolt.Bucket
	// created holds the encoded paths of the buckets this call created,
	// with "" for the top-level bucket.
	created map[string]bool
	result  source.WriteResult
}

func (w *writer) openRoot(tx *bbolt.Tx, namespace string) error {
	name := []byte(namespace)
	if w.root = tx.Bucket(name); w.root != nil {
		return nil
	}
	root, err := tx.CreateBucket(name)
	if err != nil {
		return fmt.Errorf("create top-level bucket: %w", err)
	}
	w.root = root
	w.created[""] = true
	return nil
}

func (w *writer) applyAll(ctx context.Context, records []source.Record,
	now time.Time) error {
	for i := range records {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if err := w.apply(&records[i], now); err != nil {
			return fmt.Errorf("record %d of the batch: %w", i, err)
		}
	}
	return nil
}

func (w *writer) apply(rec *source.Record, now time.Time) error {
	if rec.Expired(now) {
		w.result.Expired++
		return nil
	}
	path, err := DecodeKey(rec.Key)
	if err != nil {
		return err
	}
	isBucket, sequence, err := parseMetadata(rec.Metadata)
	if err != nil {
		return err
	}
	switch {
	case rec.Deleted:
		return w.delete(path)
	case isBucket:
		return w.putBucket(rec.Key, path, sequence)
	case len(path) == 0:
		return fmt.Errorf("value record with an empty key: %w",
			ErrInvalidKey)
	default:
		return w.putValue(rec.Key, path, rec.Value)
	}
}

func (w *writer) putValue(key []byte, path [][]byte, value []byte) error {
	parent, err := w.parent(path)
	if err != nil {
		return err
	}
	if parent == nil {
		w.conflict(key)
		return nil
	}
	name := path[len(path)-1]
	if parent.Bucket(name) != nil {
		if w.mode != source.Replace {
			w.conflict(key)
			return nil
		}
		if err := parent.DeleteBucket(name); err != nil {
			return fmt.Errorf("replace bucket with value: %w", err)
		}
	} else if w.mode != source.Replace && hasKey(parent, name) {
		w.conflict(key)
		return nil
	}
	if err := parent.Put(name, value); err != nil {
		return fmt.Errorf("put value: %w", err)
	}
	w.result.Written++
	return nil
}

func (w *writer) putBucket(key []byte, path [][]byte, sequence uint64) error {
	bucket, err := w.bucketAt(path)
	if err != nil {
		return err
	}
	if bucket == nil {
		w.conflict(key)
		return nil
	}
	if w.created[string(key)] || w.mode == source.Replace {
		if err := bucket.SetSequence(sequence); err != nil {
			return fmt.Errorf("set bucket sequence: %w", err)
		}
		w.result.Written++
		return nil
	}
	if bucket.Sequence() != sequence {
		w.conflict(key)
	}
	return nil
}

// bucketAt returns the bucket at path, creating it and the buckets on
// the way. It returns nil without an error when a value is in the way
// and mode is KeepExisting.
func (w *writer) bucketAt(path [][]byte) (*bbolt.Bucket, error) {
	if len(path) == 0 {
		return w.root, nil
	}
	parent, err := w.parent(path)
	if err != nil || parent == nil {
		return nil, err
	}
	return w.nested(parent, path)
}

// parent returns the bucket that holds the last segment of path,
// creating the buckets on the way. It returns nil without an error when
// a value is in the way and mode is KeepExisting.
func (w *writer) parent(path [][]byte) (*bbolt.Bucket, error) {
	bucket := w.root
	for i := range len(path) - 1 {
		next, err := w.nested(bucket, path[:i+1])
		if err != nil || next == nil {
			return nil, err
		}
		bucket = next
	}
	return bucket, nil
}

// nested returns the bucket named by the last segment of path inside
// parent, creating it if it is missing. A value of that name is deleted
// first in Replace mode, but in KeepExisting mode nested returns nil.
func (w *writer) nested(parent *bbolt.Bucket, path [][]byte) (
	*bbolt.Bucket, error) {
	name := path[len(path)-1]
	if bucket := parent.Bucket(name); bucket != nil {
		return bucket, nil
	}
	if hasKey(parent, name) {
		if w.mode != source.Replace {
			return nil, nil
		}
		if err := parent.Delete(name); err != nil {
			return nil, fmt.Errorf("replace value with bucket: %w", err)
		}
	}
	bucket, err := parent.CreateBucket(name)
	if err != nil {
		return nil, fmt.Errorf("create nested bucket: %w", err)
	}
	w.created[string(EncodeKey(path))] = true
	return bucket, nil
}

// delete applies a tombstone, which only Replace mode does. A tombstone
// for the top-level bucket itself is ignored, because deleting a whole
// namespace is not a record-level change.
func (w *writer) delete(path [][]byte) error {
	if w.mode != source.Replace || len(path) == 0 {
		return nil
	}
	bucket := w.root
	for _, name := range path[:len(path)-1] {
		if bucket = bucket.Bucket(name); bucket == nil {
			return nil
		}
	}
	name := path[len(path)-1]
	var err error
	switch {
	case bucket.Bucket(name) != nil:
		err = bucket.DeleteBucket(name)
	case hasKey(bucket, name):
		err = bucket.Delete(name)
	default:
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	w.result.Deleted++
	return nil
}

func (w *writer) conflict(key []byte) {
	w.result.Conflicts = append(w.result.Conflicts, clone(key))
}

// hasKey reports whether bucket holds a value or nested bucket named
// key.
func hasKey(bucket *bbolt.Bucket, key []byte) bool {
	found, _ := bucket.Cursor().Seek(key)
	return bytes.Equal(found, key)
}
