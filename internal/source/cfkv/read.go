package cfkv

import (
	"context"
	"fmt"
	"io"
	"math"
	"sync"
	"time"

	"github.com/zeebo/xxh3"

	"github.com/lifeline-backup/lifeline/internal/source"
)

// maxStalledPages is how many pages in a row may bring no new key before
// a listing is taken to loop. Cloudflare may return empty pages with a
// cursor, so a few are normal.
const maxStalledPages = 100

// Read returns every key of the namespace with its value, metadata and
// expiry. Listing and value reads run in goroutines that stop when the
// iterator is closed. Records come in no particular order.
func (s *Source) Read(ctx context.Context,
	namespace string) (source.Iterator, error) {
	id, err := s.resolve(ctx, namespace)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	it := &iterator{
		ctx:    ctx,
		cancel: cancel,
		out:    make(chan source.Record, s.cfg.Concurrency),
		where:  fmt.Sprintf("namespace %q of %s", namespace, s.Describe()),
	}
	keys := make(chan keyInfo, s.cfg.Concurrency)
	var workers sync.WaitGroup
	workers.Go(func() { it.list(ctx, s.api, id, keys) })
	for range s.cfg.Concurrency {
		workers.Go(func() { it.fetch(ctx, s.api, id, keys) })
	}
	go func() {
		workers.Wait()
		close(it.out)
	}()
	return it, nil
}

// iterator streams the records that its goroutines produce.
type iterator struct {
	ctx    context.Context
	cancel context.CancelFunc
	out    chan source.Record
	where  string

	mu  sync.Mutex
	err error

	rec source.Record
}

// fail keeps the first error and stops the goroutines.
func (it *iterator) fail(err error) {
	it.mu.Lock()
	if it.err == nil {
		it.err = err
	}
	it.mu.Unlock()
	it.cancel()
}

// list sends every key of the namespace once into keys and closes it.
func (it *iterator) list(ctx context.Context, api *client, nsID string,
	keys chan<- keyInfo) {
	defer close(keys)
	seen := map[xxh3.Uint128]struct{}{}
	err := walkKeys(ctx, api, nsID, func(page []keyInfo) (int, error) {
		fresh := 0
		for _, k := range page {
			h := xxh3.HashString128(k.Name)
			if _, dup := seen[h]; dup {
				continue
			}
			seen[h] = struct{}{}
			fresh++
			select {
			case keys <- k:
			case <-ctx.Done():
				return fresh, ctx.Err()
			}
		}
		return fresh, nil
	})
	if err != nil {
		it.fail(fmt.Errorf("list keys of %s: %w", it.where, err))
	}
}

// walkKeys calls visit with every page of the namespace's key listing,
// following the cursor until it is empty, so an empty page with a
// cursor does not end the listing. visit returns how many keys of the page it
// had not seen before.
func walkKeys(ctx context.Context, api *client, nsID string,
	visit func(page []keyInfo) (int, error)) error {
	cursor, stalled := "", 0
	for {
		page, next, err := api.listKeys(ctx, nsID, cursor)
		if err != nil {
			return err
		}
		fresh, err := visit(page)
		if err != nil {
			return err
		}
		if next == "" {
			return nil
		}
		if fresh > 0 {
			stalled = 0
		} else {
			stalled++
		}
		if stalled > maxStalledPages {
			return fmt.Errorf("%d pages in a row brought no new key",
				stalled)
		}
		cursor = next
	}
}

// fetch reads the value of every key from keys and sends the records.
func (it *iterator) fetch(ctx context.Context, api *client, nsID string,
	keys <-chan keyInfo) {
	for k := range keys {
		value, found, err := api.getValue(ctx, nsID, k.Name)
		if err != nil {
			it.fail(fmt.Errorf("read key %q in %s: %w", k.Name, it.where,
				err))
			return
		}
		if !found {
			continue // deleted or expired since the listing
		}
		select {
		case it.out <- newRecord(k, value):
		case <-ctx.Done():
			return
		}
	}
}

func newRecord(k keyInfo, value []byte) source.Record {
	rec := source.Record{Key: []byte(k.Name), Value: value}
	if len(k.Metadata) > 0 && string(k.Metadata) != "null" {
		rec.Metadata = k.Metadata
	}
	if k.Expiration > 0 {
		rec.ExpiresAt = time.Unix(int64(math.Ceil(k.Expiration)), 0)
	}
	return rec
}

// Next returns the next record, or io.EOF after the last one.
func (it *iterator) Next(ctx context.Context) (*source.Record, error) {
	select {
	case rec, ok := <-it.out:
		if !ok {
			return nil, it.final()
		}
		it.rec = rec
		return &it.rec, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// final returns the error that ended the goroutines, the cancellation
// of the Read's context, or io.EOF.
func (it *iterator) final() error {
	it.mu.Lock()
	defer it.mu.Unlock()
	if it.err != nil {
		return it.err
	}
	if err := it.ctx.Err(); err != nil {
		return fmt.Errorf("read %s: %w", it.where, err)
	}
	return io.EOF
}

// Close stops the goroutines and waits until they have ended.
func (it *iterator) Close() error {
	it.cancel()
	for range it.out {
	}
	return nil
}
