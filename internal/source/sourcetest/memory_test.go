package sourcetest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/lifeline-backup/lifeline/internal/source"
)

// memorySource is an in-memory source with one namespace that follows
// the source contract, unless fault names a deliberate bug.
type memorySource struct {
	namespace string
	secret    string
	fault     string
	// readOnly marks a read-only source, whose Write fails.
	readOnly bool

	mu      sync.Mutex
	records map[string]source.Record
}

func newMemorySource(namespace, secret, fault string) *memorySource {
	return &memorySource{
		namespace: namespace,
		secret:    secret,
		fault:     fault,
		records:   map[string]source.Record{},
	}
}

// Describe names the source, and with the fault "secret-in-describe"
// its secret too.
func (m *memorySource) Describe() string {
	if m.fault == "secret-in-describe" {
		return "memory " + m.secret
	}
	return "memory"
}

func (m *memorySource) Namespaces(context.Context) ([]string, error) {
	return []string{m.namespace}, nil
}

func (m *memorySource) Close() error { return nil }

// WriteConcurrency lets the suite run two Write calls at once.
func (m *memorySource) WriteConcurrency() int { return 2 }

// ReadOnly reports whether the source rejects writes.
func (m *memorySource) ReadOnly() bool { return m.readOnly }

// seed stores recs directly, as a read-only source's store would get
// them.
func (m *memorySource) seed(recs []source.Record) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var res source.WriteResult
	for i := range recs {
		m.apply(&recs[i], source.Replace, time.Time{}, &res)
	}
}

// remove deletes key as a store would behind the source's back.
func (m *memorySource) remove(key []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.records, string(key))
}

// Read returns the records sorted by key. The iterator looks each key up
// when it reaches it, so a key deleted during the read is not returned.
func (m *memorySource) Read(_ context.Context, namespace string) (
	source.Iterator, error) {
	if namespace != m.namespace && m.fault != "any-namespace" {
		return nil, fmt.Errorf("read namespace %q: %w", namespace,
			source.ErrUnknownNamespace)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	keys := make([]string, 0, len(m.records))
	for k := range m.records {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	switch {
	case m.fault == "repeat-key" && len(keys) > 0:
		keys = append(keys, keys[0])
	case m.fault == "drop-last" && len(keys) > 1000:
		keys = keys[:len(keys)-1]
	}
	return &memoryIterator{src: m, keys: keys}, nil
}

func (m *memorySource) Write(_ context.Context, namespace string,
	records []source.Record, mode source.WriteMode,
	now time.Time) (source.WriteResult, error) {
	var res source.WriteResult
	if m.readOnly {
		return res, fmt.Errorf("write namespace %q: source is read-only",
			namespace)
	}
	if namespace != m.namespace {
		return res, fmt.Errorf("write namespace %q: %w", namespace,
			source.ErrUnknownNamespace)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range records {
		m.apply(&records[i], mode, now, &res)
	}
	return res, nil
}

// apply writes one record, or with a fault the wrong way.
func (m *memorySource) apply(rec *source.Record, mode source.WriteMode,
	now time.Time, res *source.WriteResult) {
	k := string(rec.Key)
	_, exists := m.records[k]
	switch {
	case rec.Deleted && mode != source.Replace &&
		m.fault != "tombstone-in-keep":
	case rec.Deleted:
		if exists {
			delete(m.records, k)
			res.Deleted++
		}
	case rec.Expired(now) && m.fault != "expired-written":
		res.Expired++
	case exists && mode == source.KeepExisting &&
		m.fault != "keep-overwrites":
		res.Conflicts = append(res.Conflicts, bytes.Clone(rec.Key))
	default:
		c := *rec
		c.Key = bytes.Clone(rec.Key)
		c.Value = bytes.Clone(rec.Value)
		c.Metadata = bytes.Clone(rec.Metadata)
		if m.fault == "drop-metadata" {
			c.Metadata = nil
		}
		m.records[k] = c
		res.Written++
	}
}

// memoryIterator is an iterator over a sorted list of keys. It reuses
// one Record, as the Iterator contract allows.
type memoryIterator struct {
	src  *memorySource
	keys []string
	pos  int
	rec  source.Record
}

func (it *memoryIterator) Next(ctx context.Context) (*source.Record, error) {
	it.src.mu.Lock()
	defer it.src.mu.Unlock()
	for it.pos < len(it.keys) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rec, ok := it.src.records[it.keys[it.pos]]
		it.pos++
		if ok {
			it.rec = rec
			return &it.rec, nil
		}
		if it.src.fault == "fail-on-missing" {
			return nil, errors.New("key not found during the read")
		}
	}
	return nil, io.EOF
}

func (it *memoryIterator) Close() error {
	it.keys = nil
	return nil
}
