package natskv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lifeline-backup/lifeline/internal/source"
)

// Changes returns the newest state of every key of the bucket written
// after the stream sequence in cursor, up to the stream's last sequence
// when Changes starts: values for puts and tombstones for deletes and
// purges. It returns source.ErrCursorExpired when the stream no longer
// holds the message after the cursor, or when the cursor is past the
// stream's last sequence, as after the bucket was recreated.
func (s *Source) Changes(ctx context.Context, namespace string,
	cursor []byte) (source.Iterator, error) {
	from, err := decodeCursor(cursor)
	if err != nil {
		return nil, fmt.Errorf("list changes of bucket %q: %w",
			namespace, err)
	}
	b, err := s.open(ctx, namespace)
	if err != nil {
		return nil, err
	}
	changes, last, err := b.changes(ctx, from)
	if err != nil {
		return nil, fmt.Errorf("list changes of bucket %q in %s after "+
			"sequence %d: %w", namespace, s.Describe(), from, err)
	}
	keys := make([]string, 0, len(changes))
	for k := range changes {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return &changeIterator{keys: keys, changes: changes, last: last}, nil
}

// changes reads the stream from sequence from+1 to its current last
// sequence and returns the newest entry of each key and that sequence.
func (b *bucket) changes(ctx context.Context, from uint64) (
	map[string]*entry, uint64, error) {
	state := b.info.State
	last := state.LastSeq
	switch {
	case last < from:
		return nil, 0, fmt.Errorf("stream ends at sequence %d, before "+
			"the cursor: %w", last, source.ErrCursorExpired)
	case last == from:
		return map[string]*entry{}, last, nil
	case state.FirstSeq > from+1:
		return nil, 0, fmt.Errorf("stream starts at sequence %d: %w",
			state.FirstSeq, source.ErrCursorExpired)
	}

	msgs, err := b.consume(ctx, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:   from + 1,
	}, last)
	if err != nil {
		return nil, 0, err
	}
	defer msgs.stop()
	changes := map[string]*entry{}
	for {
		e, err := msgs.next(ctx)
		if errors.Is(err, io.EOF) {
			return changes, last, nil
		}
		if err != nil {
			return nil, 0, err
		}
		changes[e.key] = e
	}
}

// changeIterator returns the changes one Changes call collected.
type changeIterator struct {
	keys    []string
	changes map[string]*entry
	last    uint64
	rec     source.Record
}

var _ source.Cursored = (*changeIterator)(nil)

// Next returns the next changed key.
func (it *changeIterator) Next(context.Context) (*source.Record, error) {
	if len(it.keys) == 0 {
		return nil, io.EOF
	}
	key := it.keys[0]
	it.keys = it.keys[1:]
	e := it.changes[key]
	delete(it.changes, key)
	it.rec = e.record()
	return &it.rec, nil
}

// Cursor returns the last sequence the changes reach, as 8 bytes
// big-endian.
func (it *changeIterator) Cursor() []byte {
	return encodeCursor(it.last)
}

// Close drops the changes not yet returned.
func (it *changeIterator) Close() error {
	it.keys = nil
	it.changes = nil
	return nil
}
