// Package history stores the results of status page checks in a bbolt
// file: raw samples for a short window, hourly and daily summaries for
// uptime figures, and the last confirmed state of each component, so
// that a restart neither loses the bars nor alerts again.
//
// It does not run checks and does not decide states: package status
// does both and passes the outcome here. Times are UTC, and summaries
// start on whole UTC hours and days.
package history

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Defaults of Options.
const (
	DefaultRawRetention     = 48 * time.Hour
	DefaultSummaryRetention = 90 * 24 * time.Hour
)

// Top-level buckets. The raw, hourly and daily buckets contain one
// nested bucket per component id.
var (
	bucketRaw    = []byte("raw")
	bucketHourly = []byte("hourly")
	bucketDaily  = []byte("daily")
	bucketState  = []byte("state")
)

// Options are the retention settings of a Store.
type Options struct {
	// RawRetention is how long raw samples are kept. Zero means
	// DefaultRawRetention (48 hours).
	RawRetention time.Duration
	// SummaryRetention is how long hourly and daily summaries are
	// kept. Zero means DefaultSummaryRetention (90 days).
	SummaryRetention time.Duration
}

// Store is the history database. It is safe for concurrent use.
type Store struct {
	db   *bolt.DB
	opts Options
}

// Open opens or creates the history file at path. It fails after one
// second if another process holds the file open.
func Open(path string, opts Options) (*Store, error) {
	if opts.RawRetention < 0 || opts.SummaryRetention < 0 {
		return nil, fmt.Errorf("open history %s: negative retention", path)
	}
	if opts.RawRetention == 0 {
		opts.RawRetention = DefaultRawRetention
	}
	if opts.SummaryRetention == 0 {
		opts.SummaryRetention = DefaultSummaryRetention
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("open history %s: the file is locked by "+
			"another process, such as a second lifeline serve with the "+
			"same state_dir; stop it or give this one its own state_dir",
			path)
	}
	if err != nil {
		return nil, fmt.Errorf("open history %s: %w", path, err)
	}
	err = db.Update(createBuckets)
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open history %s: %w", path, err)
	}
	return &Store{db: db, opts: opts}, nil
}

func createBuckets(tx *bolt.Tx) error {
	for _, name := range [][]byte{
		bucketRaw, bucketHourly, bucketDaily, bucketState,
	} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	return nil
}

// Close closes the file.
func (s *Store) Close() error {
	return s.db.Close()
}

// timeKey encodes t as 8 big-endian bytes of Unix nanoseconds, so that
// keys sort by time. Times before 1970 are not expected.
func timeKey(t time.Time) []byte {
	key := make([]byte, 8)
	binary.BigEndian.PutUint64(key, uint64(t.UnixNano()))
	return key
}

func keyTime(key []byte) time.Time {
	return time.Unix(0, int64(binary.BigEndian.Uint64(key))).UTC()
}

// componentBucket returns the nested bucket of id inside the top-level
// bucket name, or nil when it does not exist and create is false.
func componentBucket(
	tx *bolt.Tx, name []byte, id string, create bool,
) (*bolt.Bucket, error) {
	if id == "" {
		return nil, errors.New("empty component id")
	}
	top := tx.Bucket(name)
	if !create {
		return top.Bucket([]byte(id)), nil
	}
	return top.CreateBucketIfNotExists([]byte(id))
}
