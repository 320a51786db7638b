package redis

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/lifeline-backup/lifeline/internal/source"
)

// Read checks with PING that the server is reachable and returns an
// iterator over the keys of the namespace. The iterator reads lazily,
// one SCAN call at a time. It reads each batch of keys with DUMP and
// PTTL in one MULTI/EXEC round trip, so each value and its expiry come
// from the same moment. Memory use depends on ScanCount and Batch, not
// on the number of keys.
//
// NOTE: SCAN may return a key more than once, for example while Redis
// rehashes its key table, and Read does not remove the repeats. The
// consumer must tolerate a key that appears twice in one read.
//
// A key that is deleted between SCAN and DUMP is skipped.
func (s *Source) Read(ctx context.Context, namespace string) (source.Iterator, error) {
	ns, err := s.namespace(namespace)
	if err != nil {
		return nil, err
	}
	c := s.client(ns.DB)
	if err := s.ping(ctx, c); err != nil {
		return nil, err
	}
	return &iterator{src: s, ns: ns, client: c}, nil
}

// iterator walks one SCAN cursor. keys holds the keys of the last SCAN
// reply that are not dumped yet, and records the dumped records not yet
// returned.
type iterator struct {
	src    *Source
	ns     Namespace
	client *goredis.Client

	cursor  uint64
	started bool
	keys    []string
	records []source.Record
	pos     int
}

// Next returns the next record, or io.EOF after the last one.
func (it *iterator) Next(ctx context.Context) (*source.Record, error) {
	for it.pos >= len(it.records) {
		if err := it.fill(ctx); err != nil {
			return nil, err
		}
	}
	rec := &it.records[it.pos]
	it.pos++
	return rec, nil
}

// fill loads the next batch of records, which may be empty when every
// key of the batch was deleted meanwhile.
func (it *iterator) fill(ctx context.Context) error {
	if len(it.keys) == 0 {
		if it.started && it.cursor == 0 {
			return io.EOF
		}
		if err := it.scan(ctx); err != nil {
			return it.wrap(err)
		}
	}
	n := min(len(it.keys), it.src.batch)
	recs, err := dump(ctx, it.client, it.keys[:n], it.records[:0])
	if err != nil {
		return it.wrap(err)
	}
	it.keys = it.keys[n:]
	it.records = recs
	it.pos = 0
	return nil
}

func (it *iterator) scan(ctx context.Context) error {
	keys, cursor, err := it.client.Scan(ctx, it.cursor, it.ns.Match,
		int64(it.src.scanCount)).Result()
	if err != nil {
		return err
	}
	it.started = true
	it.cursor = cursor
	it.keys = keys
	return nil
}

func (it *iterator) wrap(err error) error {
	return fmt.Errorf("read namespace %q from %s: %w",
		it.ns.Name, it.src.Describe(), err)
}

// Close releases the iterator. The connections stay with the Source.
func (it *iterator) Close() error {
	it.keys = nil
	it.records = nil
	return nil
}

// dump reads the values and expiries of keys in one transaction and
// appends a record for each key that still exists to recs.
func dump(ctx context.Context, c *goredis.Client, keys []string,
	recs []source.Record) ([]source.Record, error) {
	dumps := make([]*goredis.StringCmd, len(keys))
	ttls := make([]*goredis.Cmd, len(keys))
	_, err := c.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		for i, k := range keys {
			dumps[i] = p.Dump(ctx, k)
			ttls[i] = p.Do(ctx, "PTTL", k)
		}
		return nil
	})
	// EXEC has returned, so every PTTL counts from about this moment.
	now := time.Now()
	// A deleted key makes DUMP return nil, which go-redis reports as
	// the pipeline's error. Each command is checked below instead.
	if err != nil && !errors.Is(err, goredis.Nil) {
		return recs, err
	}

	for i, k := range keys {
		rec, ok, err := record(k, dumps[i], ttls[i], now)
		if err != nil {
			return recs, err
		}
		if ok {
			recs = append(recs, rec)
		}
	}
	return recs, nil
}

// record builds the record of key from its DUMP and PTTL replies. It
// returns false when the key no longer exists.
func record(key string, dumpCmd *goredis.StringCmd, ttlCmd *goredis.Cmd,
	now time.Time) (source.Record, bool, error) {
	value, err := dumpCmd.Bytes()
	if errors.Is(err, goredis.Nil) {
		return source.Record{}, false, nil
	}
	if err != nil {
		return source.Record{}, false, fmt.Errorf("dump: %w", err)
	}
	ttl, err := ttlCmd.Int64()
	if err != nil {
		return source.Record{}, false, fmt.Errorf("pttl: %w", err)
	}

	rec := source.Record{Key: []byte(key), Value: value}
	switch {
	case ttl == -2:
		return source.Record{}, false, nil
	case ttl >= 0:
		rec.ExpiresAt = now.Add(time.Duration(ttl) * time.Millisecond).
			Truncate(time.Millisecond)
	}
	return rec, true, nil
}
