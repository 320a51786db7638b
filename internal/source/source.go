// Package source defines the records lifeline backs up and the interface
// that every source adapter (Redis, bbolt, and later others) implements.
//
// The package holds no adapter itself: each one lives in a package of its
// own below this one, so adding a source never touches the backup or
// restore engines.
package source

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Record is one key with its value, metadata and expiry.
//
// Key must identify the record uniquely inside its namespace, because
// incremental backups and restores match records by Key alone. Adapters
// whose stores nest keys (bbolt buckets) encode the whole path into Key.
type Record struct {
	Key   []byte
	Value []byte
	// Metadata is source-specific and kept verbatim.
	Metadata []byte
	// ExpiresAt is the absolute expiry; the zero time means never.
	ExpiresAt time.Time
	// Deleted marks a tombstone, which only incremental backups carry.
	Deleted bool
}

// Expired reports whether the record's expiry is at or before now.
func (r *Record) Expired(now time.Time) bool {
	return !r.ExpiresAt.IsZero() && !r.ExpiresAt.After(now)
}

// Iterator yields the records of one namespace read.
//
// Next returns io.EOF after the last record. The returned Record and its
// byte slices may be reused by the next call, so a caller that keeps them
// must copy them.
type Iterator interface {
	Next(ctx context.Context) (*Record, error)
	Close() error
}

// WriteMode says what a write does to a key that already exists in the
// target.
type WriteMode int

const (
	// KeepExisting leaves existing keys untouched and reports them as
	// conflicts.
	KeepExisting WriteMode = iota
	// Replace overwrites existing keys.
	Replace
)

// WriteResult counts what one Write call did.
type WriteResult struct {
	Written int64
	// Conflicts holds keys that already existed and were left alone
	// because the mode was KeepExisting.
	Conflicts [][]byte
	// Expired counts records skipped because their expiry had passed.
	Expired int64
	// Deleted counts tombstones applied.
	Deleted int64
}

// Add folds o into r.
func (r *WriteResult) Add(o WriteResult) {
	r.Written += o.Written
	r.Conflicts = append(r.Conflicts, o.Conflicts...)
	r.Expired += o.Expired
	r.Deleted += o.Deleted
}

// Source is one system that holds data: a Redis server, a bbolt file.
type Source interface {
	// Namespaces lists the namespaces the source is configured to back up.
	Namespaces(ctx context.Context) ([]string, error)
	// Read returns every live record of the namespace.
	Read(ctx context.Context, namespace string) (Iterator, error)
	// Write stores records into the namespace. Records whose expiry has
	// passed by now are skipped and counted, never written; tombstones
	// delete the key only when mode is Replace.
	Write(ctx context.Context, namespace string, records []Record,
		mode WriteMode, now time.Time) (WriteResult, error)
	// Close releases connections and file handles.
	Close() error
}

// Describer is implemented by sources that can name themselves for
// messages, such as "redis 127.0.0.1:6379".
type Describer interface {
	Describe() string
}

// ConcurrentWriter is implemented by sources that accept several Write
// calls at once for one namespace, when no two calls hold the same key.
// Sources without it get one Write at a time, in record order.
type ConcurrentWriter interface {
	// WriteConcurrency returns how many Write calls may run at once.
	WriteConcurrency() int
}

// Cursored is implemented by iterators of sources with a change feed: the
// cursor names the position the read saw, such as an etcd revision or a
// NATS stream sequence, so the next incremental asks for changes after
// it. It is valid once Next has returned io.EOF.
type Cursored interface {
	Cursor() []byte
}

// ChangeFeed is implemented by sources that list their own changes, so
// an incremental reads only what changed instead of the whole namespace.
type ChangeFeed interface {
	// Changes returns the records changed after cursor: the newest state
	// of each changed key, at most one record per key, and tombstones for
	// deleted keys. Its iterator implements Cursored.
	// It returns ErrCursorExpired when the source no longer has the
	// history back to cursor, and the caller falls back to a full read.
	Changes(ctx context.Context, namespace string, cursor []byte) (Iterator, error)
}

// Follower is implemented by sources that follow their own changes while
// a long-running process keeps them open, as Redis does through keyspace
// notifications. Such a source is also a ChangeFeed, and its reads made
// while following carry cursors. A process that does not follow treats
// those cursors as expired.
type Follower interface {
	// Follow starts following and returns once the source is
	// listening. It keeps following until the source is closed.
	Follow(ctx context.Context) error
}

// UncheckedTombstones is implemented by change iterators whose
// tombstones may name keys the namespace never held at the cursor, such
// as a Redis key created and deleted between two backups. The backup
// keeps only the tombstones of keys in the namespace's change index.
type UncheckedTombstones interface {
	UncheckedTombstones() bool
}

// ErrCursorExpired is returned by ChangeFeed.Changes when the history
// since the cursor is gone, for example compacted.
var ErrCursorExpired = errors.New("change cursor expired")

// ErrNotFollowing is returned by the Changes of a Follower that does not
// follow its changes in this process, such as a Redis source outside
// serve. It is an ErrCursorExpired, and comparing a full read is then
// the expected way to take an incremental.
var ErrNotFollowing = fmt.Errorf("%w: the source does not follow its "+
	"changes in this process", ErrCursorExpired)

// ReadOnly is implemented by sources that are kept as a record and never
// written, such as a bucket listing. Restore previews them only.
type ReadOnly interface {
	ReadOnly() bool
}

// ValueComparer is implemented by sources whose stored value bytes can
// differ for equal data, such as Redis DUMP payloads of unordered types.
type ValueComparer interface {
	// SameValue reports whether the key in the namespace contains the
	// same data as value, which is in the source's own Record.Value
	// form. A missing key returns false and no error.
	SameValue(ctx context.Context, namespace string,
		key, value []byte) (bool, error)
}

// ErrUnknownNamespace is returned by Read and Write for a namespace the
// source does not have.
var ErrUnknownNamespace = errors.New("unknown namespace")
