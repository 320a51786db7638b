package redis

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
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
// A key that is deleted between SCAN and DUMP is skipped. While the
// source follows its changes, the iterator's cursor lets the next
// incremental read only the keys changed since the read began.
func (s *Source) Read(ctx context.Context, namespace string) (source.Iterator, error) {
	ns, err := s.namespace(namespace)
	if err != nil {
		return nil, err
	}
	c := s.client(ns.DB)
	if err := s.ping(ctx, c); err != nil {
		return nil, err
	}
	// The cursor comes before the first SCAN, so the read includes
	// every write made before it. Without a cursor the next incremental
	// compares a full read with the change index, so a failed cut
	// costs only time.
	var cursor []byte
	if f := s.following(); f != nil {
		if epoch, err := f.cut(ctx); err == nil {
			cursor = f.encode(epoch)
		}
	}
	it := newIterator(ctx, s, ns, c)
	it.cursor = cursor
	return it, nil
}

// iterator walks one SCAN cursor. A producer goroutine runs SCAN and the
// DUMP transactions ahead of the consumer, so Redis round trips overlap
// with the work done on each record; at most prefetch batches wait.
type iterator struct {
	batches <-chan batch
	cancel  context.CancelFunc
	done    chan struct{}

	records []source.Record
	pos     int
	err     error
	// cursor is set when the source follows its changes.
	cursor []byte
}

var _ source.Cursored = (*iterator)(nil)

// Cursor returns the cursor of the read, or nil when the source does not
// follow its changes.
func (it *iterator) Cursor() []byte { return it.cursor }

// prefetch is how many batches of records the producer reads ahead.
const prefetch = 4

type batch struct {
	records []source.Record
	err     error
}

func newIterator(ctx context.Context, s *Source, ns Namespace,
	c *goredis.Client) *iterator {
	ctx, cancel := context.WithCancel(ctx)
	ch := make(chan batch, prefetch)
	it := &iterator{batches: ch, cancel: cancel, done: make(chan struct{})}
	p := &producer{src: s, ns: ns, client: c, out: ch}
	go func() {
		defer close(it.done)
		defer close(ch)
		if err := p.run(ctx); err != nil {
			select {
			case ch <- batch{err: err}:
			case <-ctx.Done():
			}
		}
	}()
	return it
}

// Next returns the next record, or io.EOF after the last one.
func (it *iterator) Next(ctx context.Context) (*source.Record, error) {
	for it.pos >= len(it.records) {
		if it.err != nil {
			return nil, it.err
		}
		select {
		case b, ok := <-it.batches:
			if !ok {
				it.err = io.EOF
				continue
			}
			if b.err != nil {
				it.err = b.err
				continue
			}
			it.records, it.pos = b.records, 0
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	rec := &it.records[it.pos]
	it.pos++
	return rec, nil
}

// Close stops the producer and waits for it to exit. The connections
// stay with the Source.
func (it *iterator) Close() error {
	it.cancel()
	<-it.done
	it.records = nil
	return nil
}

// producer reads batches of records for an iterator.
type producer struct {
	src    *Source
	ns     Namespace
	client *goredis.Client
	out    chan<- batch
}

// dumpWorkers is how many DUMP transactions run at once, each on its own
// connection, so Redis serves one batch while the records of another are
// processed.
const dumpWorkers = 3

// run scans the namespace and has dumpWorkers goroutines read the
// batches of keys. Records of different batches may arrive out of order.
func (p *producer) run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	keys := make(chan []string, dumpWorkers)
	errs := make(chan error, dumpWorkers+1)
	var wg sync.WaitGroup
	for range dumpWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.dumpBatches(ctx, keys); err != nil {
				errs <- err
				cancel()
			}
		}()
	}
	if err := p.scan(ctx, keys); err != nil {
		errs <- err
	}
	close(keys)
	wg.Wait()
	close(errs)
	return <-errs
}

// scan sends the keys of the namespace in batches of at most p.src.batch.
func (p *producer) scan(ctx context.Context, out chan<- []string) error {
	var cursor uint64
	for {
		keys, next, err := p.client.Scan(ctx, cursor, p.ns.Match,
			int64(p.src.scanCount)).Result()
		if err != nil {
			if ctx.Err() != nil {
				return nil // a worker failed and reports why
			}
			return p.wrap(err)
		}
		for len(keys) > 0 {
			n := min(len(keys), p.src.batch)
			select {
			case out <- keys[:n]:
			case <-ctx.Done():
				return nil
			}
			keys = keys[n:]
		}
		if next == 0 {
			return nil
		}
		cursor = next
	}
}

func (p *producer) dumpBatches(ctx context.Context, in <-chan []string) error {
	for keys := range in {
		recs, err := dump(ctx, p.client, keys, nil)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return p.wrap(err)
		}
		select {
		case p.out <- batch{records: recs}:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (p *producer) wrap(err error) error {
	return fmt.Errorf("read namespace %q from %s: %w",
		p.ns.Name, p.src.Describe(), err)
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
