package natskv

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lifeline-backup/lifeline/internal/source"
)

// Headers of KV messages. NATS KV marks deletes and purges with
// KV-Operation; the server marks keys removed by a TTL with
// Nats-Marker-Reason.
const (
	operationHeader = "KV-Operation"
	opDelete        = "DEL"
	opPurge         = "PURGE"
)

const (
	// inactiveThreshold is how long the server keeps a consumer of a
	// read that ended without deleting it.
	inactiveThreshold = time.Minute
	// deleteTimeout bounds deleting a consumer when a read ends.
	deleteTimeout = 5 * time.Second
)

// Read returns the current value of every key of the bucket. Its
// iterator implements source.Cursored. A key written during the read
// may be returned twice, first with its older value.
func (s *Source) Read(ctx context.Context, namespace string) (
	source.Iterator, error) {
	b, err := s.open(ctx, namespace)
	if err != nil {
		return nil, err
	}
	cursor := b.info.State.LastSeq
	msgs, err := b.consume(ctx, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverLastPerSubjectPolicy,
	}, 0)
	if err != nil {
		return nil, fmt.Errorf("read bucket %q from %s: %w", namespace,
			s.Describe(), err)
	}
	return &reader{src: s, ns: namespace, msgs: msgs, cursor: cursor}, nil
}

// reader returns the live keys of one bucket.
type reader struct {
	src    *Source
	ns     string
	msgs   *messages
	cursor uint64
	rec    source.Record
}

var _ source.Cursored = (*reader)(nil)

// Next returns the next live key, skipping delete and purge markers.
func (r *reader) Next(ctx context.Context) (*source.Record, error) {
	for {
		e, err := r.msgs.next(ctx)
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		if err != nil {
			return nil, fmt.Errorf("read bucket %q from %s: %w", r.ns,
				r.src.Describe(), err)
		}
		if !e.deleted {
			r.rec = e.record()
			return &r.rec, nil
		}
	}
}

// Cursor returns the stream's last sequence before the read, as 8 bytes
// big-endian.
func (r *reader) Cursor() []byte {
	return encodeCursor(r.cursor)
}

// Close stops the consumer.
func (r *reader) Close() error {
	r.msgs.stop()
	return nil
}

// entry is one KV message of the bucket's stream.
type entry struct {
	key     string
	value   []byte
	deleted bool
	expires time.Time
	seq     uint64
}

func (e *entry) record() source.Record {
	if e.deleted {
		return source.Record{Key: []byte(e.key), Deleted: true}
	}
	return source.Record{Key: []byte(e.key), Value: e.value,
		ExpiresAt: e.expires}
}

// messages reads the bucket's stream through an ordered consumer.
type messages struct {
	b    *bucket
	cons jetstream.Consumer
	iter jetstream.MessagesContext
	// last, when not 0, is the last sequence to return.
	last uint64
	done bool
}

// consume starts an ordered consumer on the bucket's keys. It returns
// messages until the consumer has no message pending or, when last is
// not 0, until the sequence last.
func (b *bucket) consume(ctx context.Context,
	cfg jetstream.OrderedConsumerConfig, last uint64) (*messages, error) {
	cfg.FilterSubjects = []string{b.prefix + ">"}
	cfg.InactiveThreshold = inactiveThreshold
	cons, err := b.js.OrderedConsumer(ctx, b.info.Config.Name, cfg)
	if err != nil {
		return nil, fmt.Errorf("create consumer: %w", err)
	}
	iter, err := cons.Messages()
	if err != nil {
		return nil, fmt.Errorf("start consumer: %w", err)
	}
	m := &messages{b: b, cons: cons, iter: iter, last: last}
	if info := cons.CachedInfo(); info != nil && info.NumPending == 0 {
		m.done = true
	}
	return m, nil
}

// next returns the next message, or io.EOF after the last one.
func (m *messages) next(ctx context.Context) (*entry, error) {
	if m.done {
		return nil, io.EOF
	}
	msg, err := m.iter.Next(jetstream.NextContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("next message: %w", err)
	}
	meta, err := msg.Metadata()
	if err != nil {
		return nil, fmt.Errorf("read message metadata: %w", err)
	}
	seq := meta.Sequence.Stream
	if m.last != 0 && seq > m.last {
		m.done = true
		return nil, io.EOF
	}
	if meta.NumPending == 0 || seq == m.last {
		m.done = true
	}
	return m.b.parse(msg, meta)
}

// parse turns a message into an entry.
func (b *bucket) parse(msg jetstream.Msg, meta *jetstream.MsgMetadata) (
	*entry, error) {
	e := &entry{
		key:   strings.TrimPrefix(msg.Subject(), b.prefix),
		value: msg.Data(),
		seq:   meta.Sequence.Stream,
	}
	h := msg.Headers()
	switch h.Get(operationHeader) {
	case opDelete, opPurge:
		e.deleted = true
		return e, nil
	}
	if h.Get(jetstream.MarkerReasonHeader) != "" {
		e.deleted = true
		return e, nil
	}
	ttl, err := parseTTL(h.Get(jetstream.MsgTTLHeader))
	if err != nil {
		return nil, fmt.Errorf("message %d: %w", e.seq, err)
	}
	if ttl == 0 {
		ttl = b.info.Config.MaxAge
	}
	if ttl > 0 {
		e.expires = meta.Timestamp.Add(ttl)
	}
	return e, nil
}

// parseTTL parses a Nats-TTL header as the server does: "never", a Go
// duration or a number of seconds, truncated to whole seconds. It
// returns 0 for a missing header and -1 for "never".
func parseTTL(v string) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	if strings.EqualFold(v, "never") {
		return -1, nil
	}
	if d, err := time.ParseDuration(v); err == nil {
		return d.Truncate(time.Second), nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("invalid %s header %q", jetstream.MsgTTLHeader,
			v)
	}
	return time.Duration(n) * time.Second, nil
}

// stop stops the consumer and deletes it from the server. A consumer
// that cannot be deleted, as when the connection is gone, is removed by
// the server after inactiveThreshold.
func (m *messages) stop() {
	m.done = true
	m.iter.Stop()
	info := m.cons.CachedInfo()
	if info == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), deleteTimeout)
	defer cancel()
	_ = m.b.js.DeleteConsumer(ctx, info.Stream, info.Name)
}

// encodeCursor returns seq as 8 bytes big-endian.
func encodeCursor(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, seq)
}

// decodeCursor parses a cursor made by encodeCursor.
func decodeCursor(c []byte) (uint64, error) {
	if len(c) != 8 {
		return 0, fmt.Errorf("invalid nats cursor: %d bytes, want 8",
			len(c))
	}
	return binary.BigEndian.Uint64(c), nil
}
