// Package bolt is the source adapter for bbolt files.
//
// Every top-level bucket of the file is a namespace. Read returns every
// key and value of the bucket and of all its nested buckets from one read
// transaction, so a backup holds a consistent copy. Write applies one
// batch of records in one write transaction.
//
// Record.Key is the path of the value below the top-level bucket, made by
// EncodeKey: a key in the top-level bucket without the bytes 0x00 and
// 0x01 is its own encoding.
//
// Record.Metadata distinguishes values from buckets, so nested buckets
// survive a round trip even when empty:
//
//   - A value record has nil Metadata.
//   - A bucket record has 14 bytes of Metadata: the ASCII word "bucket"
//     followed by the bucket's sequence number (bbolt Bucket.Sequence) as
//     8 bytes big-endian. Its Key is the encoded path of a nested bucket,
//     or empty for the top-level bucket itself. Its Value is empty.
//
// bbolt has no expiry, so records from Read never expire.
//
// The adapter opens the file for each Read and Write call and closes it
// when the iterator or the call ends, so it holds the file lock only
// while it works. bbolt locks the file with flock: readers share the
// lock and a writer needs it alone, so a Write on a file that an open
// iterator or another process holds fails after a timeout of one second.
package bolt

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	bbolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/lifeline-backup/lifeline/internal/source"
)

// lockTimeout is how long opening a file waits for the lock that another
// process holds.
const lockTimeout = time.Second

// Config configures a bbolt source.
type Config struct {
	// Name is the source name from the configuration.
	Name string
	// Path is the bbolt file.
	Path string
	// Buckets lists the top-level buckets to back up; empty means every
	// top-level bucket of the file.
	Buckets []string
	// Create lets Write create the file when it is missing, as a restore
	// into a new file needs.
	Create bool
}

// Source reads and writes the buckets of one bbolt file.
type Source struct {
	cfg Config
}

var (
	_ source.Source    = (*Source)(nil)
	_ source.Describer = (*Source)(nil)
)

// New returns a source for the bbolt file cfg.Path. It does not open the
// file.
func New(cfg Config) (*Source, error) {
	if cfg.Path == "" {
		return nil, errors.New("new bolt source: missing path")
	}
	for i, name := range cfg.Buckets {
		if name == "" {
			return nil, fmt.Errorf("new bolt source %s: bucket %d "+
				"has an empty name", cfg.Path, i)
		}
		if slices.Contains(cfg.Buckets[:i], name) {
			return nil, fmt.Errorf("new bolt source %s: bucket %q "+
				"listed twice", cfg.Path, name)
		}
	}
	cfg.Buckets = slices.Clone(cfg.Buckets)
	return &Source{cfg: cfg}, nil
}

// Describe returns "bolt" and the file path.
func (s *Source) Describe() string {
	return "bolt " + s.cfg.Path
}

// Namespaces returns the configured buckets or, when none are
// configured, the names of every top-level bucket in the file.
func (s *Source) Namespaces(ctx context.Context) ([]string, error) {
	if len(s.cfg.Buckets) > 0 {
		return slices.Clone(s.cfg.Buckets), nil
	}
	db, err := s.open(false)
	if err != nil {
		return nil, fmt.Errorf("list namespaces: %w", err)
	}
	defer db.Close()

	var names []string
	err = db.View(func(tx *bbolt.Tx) error {
		return tx.ForEach(func(name []byte, _ *bbolt.Bucket) error {
			names = append(names, string(name))
			return ctx.Err()
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list namespaces in bolt file %s: %w",
			s.cfg.Path, err)
	}
	return names, nil
}

// Close releases nothing, because every call closes the file it opened.
func (s *Source) Close() error {
	return nil
}

// checkNamespace returns source.ErrUnknownNamespace for a namespace
// outside the configured buckets.
func (s *Source) checkNamespace(namespace string) error {
	if namespace == "" {
		return fmt.Errorf("namespace in bolt file %s is empty: %w",
			s.cfg.Path, source.ErrUnknownNamespace)
	}
	if len(s.cfg.Buckets) > 0 &&
		!slices.Contains(s.cfg.Buckets, namespace) {
		return fmt.Errorf("namespace %q is not a configured bucket of "+
			"bolt file %s: %w", namespace, s.cfg.Path,
			source.ErrUnknownNamespace)
	}
	return nil
}

// open opens the file read-only, or read-write when write is true. It
// creates a missing file only for a write with Config.Create set.
func (s *Source) open(write bool) (*bbolt.DB, error) {
	path := s.cfg.Path
	if !write || !s.cfg.Create {
		info, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("open bolt file %s: %w", path, err)
		}
		// A process killed while creating the file leaves it empty; a
		// read-only open cannot initialize it, so it reads as missing,
		// and the next write initializes it.
		if info.Size() == 0 && !write {
			return nil, fmt.Errorf("open bolt file %s: the file is "+
				"empty: %w", path, fs.ErrNotExist)
		}
	}
	if write && s.cfg.Create {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("create folder for bolt file %s: %w",
				path, err)
		}
	}
	opts := &bbolt.Options{Timeout: lockTimeout, ReadOnly: !write}
	db, err := bbolt.Open(path, 0o600, opts)
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("open bolt file %s: another process "+
			"holds its lock (waited %s): %w", path, lockTimeout, err)
	}
	if err != nil {
		return nil, fmt.Errorf("open bolt file %s: %w", path, err)
	}
	return db, nil
}
