package redis

import (
	"context"
	"fmt"
	"io"
	"slices"

	goredis "github.com/redis/go-redis/v9"

	"github.com/lifeline-backup/lifeline/internal/source"
)

// Changes returns the newest state of every key of the namespace that
// changed after the cursor, read with DUMP and PTTL like Read does, and
// a tombstone for each such key that no longer exists. The cursor must
// come from a read made while this source followed its changes (see
// Follow). Any other cursor, or one from before a gap in the
// notifications, returns source.ErrCursorExpired.
func (s *Source) Changes(ctx context.Context, namespace string,
	cursor []byte) (source.Iterator, error) {
	ns, err := s.namespace(namespace)
	if err != nil {
		return nil, err
	}
	wrap := func(err error) error {
		return fmt.Errorf("list changes of namespace %q in %s: %w",
			namespace, s.Describe(), err)
	}
	f := s.following()
	if f == nil {
		return nil, wrap(source.ErrNotFollowing)
	}
	from, err := f.decode(cursor)
	if err != nil {
		return nil, wrap(err)
	}
	to, err := f.cut(ctx)
	if err != nil {
		return nil, wrap(fmt.Errorf("%w: %w", err, source.ErrCursorExpired))
	}
	keys, err := f.since(ns.Name, from)
	if err != nil {
		return nil, wrap(err)
	}
	slices.Sort(keys)
	return &changeIterator{src: s, ns: ns, client: s.client(ns.DB),
		keys: keys, cursor: f.encode(to)}, nil
}

// changeIterator reads the changed keys of a namespace in batches.
type changeIterator struct {
	src    *Source
	ns     Namespace
	client *goredis.Client
	keys   []string
	cursor []byte

	records []source.Record
	pos     int
}

var (
	_ source.Cursored            = (*changeIterator)(nil)
	_ source.UncheckedTombstones = (*changeIterator)(nil)
)

// Next returns the next changed key.
func (it *changeIterator) Next(ctx context.Context) (*source.Record, error) {
	for it.pos >= len(it.records) {
		if len(it.keys) == 0 {
			return nil, io.EOF
		}
		n := min(len(it.keys), it.src.batch)
		if err := it.read(ctx, it.keys[:n]); err != nil {
			return nil, fmt.Errorf("read namespace %q from %s: %w",
				it.ns.Name, it.src.Describe(), err)
		}
		it.keys = it.keys[n:]
	}
	rec := &it.records[it.pos]
	it.pos++
	return rec, nil
}

// read reads one batch of keys, with a tombstone for each missing key.
func (it *changeIterator) read(ctx context.Context, keys []string) error {
	recs, err := dump(ctx, it.client, keys, it.records[:0])
	if err != nil {
		return err
	}
	present := make(map[string]bool, len(recs))
	for _, r := range recs {
		present[string(r.Key)] = true
	}
	for _, k := range keys {
		if !present[k] {
			recs = append(recs, source.Record{Key: []byte(k), Deleted: true})
		}
	}
	it.records, it.pos = recs, 0
	return nil
}

// Cursor returns the cursor the next incremental continues from.
func (it *changeIterator) Cursor() []byte { return it.cursor }

// UncheckedTombstones reports true: a key created and deleted between
// two backups gets a tombstone too.
func (it *changeIterator) UncheckedTombstones() bool { return true }

// Close drops the keys not yet read.
func (it *changeIterator) Close() error {
	it.keys, it.records = nil, nil
	return nil
}
