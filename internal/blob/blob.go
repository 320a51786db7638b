// Package blob defines the store that a repository keeps its objects in.
//
// A store is a flat namespace of immutable objects named by slash-separated
// paths. Implementations live in sub-packages, one per real system: local
// (a folder) and s3 (S3-compatible object storage). Every implementation
// passes the conformance suite in package blobtest.
package blob

import (
	"context"
	"errors"
	"io"
	"iter"
	"time"
)

// ErrNotFound is returned by Get, Stat and Delete for a name that holds no
// object.
var ErrNotFound = errors.New("object not found")

// ErrExists is returned by Put when an object of that name already exists;
// objects are never overwritten.
var ErrExists = errors.New("object already exists")

// Info describes one stored object.
type Info struct {
	Name string
	Size int64
	// ModTime is when the object was stored, as the store reports it.
	ModTime time.Time
}

// Store keeps immutable objects.
type Store interface {
	// Put stores the object only if no object of that name exists, and
	// returns ErrExists otherwise. Once Put returns nil the object is
	// durable. Concurrent readers never see a partial object.
	Put(ctx context.Context, name string, r io.Reader, size int64) error
	// Get opens the object for reading.
	Get(ctx context.Context, name string) (io.ReadCloser, error)
	// Stat returns the size of the object.
	Stat(ctx context.Context, name string) (Info, error)
	// List yields every object whose name starts with prefix, in
	// lexical order of names.
	List(ctx context.Context, prefix string) iter.Seq2[Info, error]
	// Delete removes the object.
	Delete(ctx context.Context, name string) error
	// String names the store for messages, without credentials.
	String() string
}

// ReadAll reads a whole object.
func ReadAll(ctx context.Context, s Store, name string) ([]byte, error) {
	rc, err := s.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}
