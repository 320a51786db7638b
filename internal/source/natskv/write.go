package natskv

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lifeline-backup/lifeline/internal/source"
)

// Write stores records in the bucket one message at a time. In
// KeepExisting mode it uses Create, so a key that exists is left alone
// and reported in Conflicts. In Replace mode it puts the value. A
// tombstone deletes the key in Replace mode, placing a delete marker,
// and counts in Deleted only if the key existed. A record with an
// expiry gets a per-message TTL when the bucket allows them.
//
// Values larger than the limit of the bucket or the server are left out
// and the other records written. Write then returns the counts with an
// error wrapping ErrValueTooLarge that gives the number of such values,
// the limit and the first such key.
func (s *Source) Write(ctx context.Context, namespace string,
	records []source.Record, mode source.WriteMode, now time.Time) (
	source.WriteResult, error) {
	b, err := s.open(ctx, namespace)
	if err != nil {
		return source.WriteResult{}, err
	}
	w := &writer{b: b, mode: mode, now: now,
		limit: valueLimit(s.maxPayload(), b.info.Config.MaxMsgSize)}
	for i := range records {
		if err := w.write(ctx, &records[i]); err != nil {
			return w.result, fmt.Errorf("write bucket %q to %s: %w",
				namespace, s.Describe(), err)
		}
	}
	if w.tooLarge > 0 {
		return w.result, fmt.Errorf("write bucket %q to %s: %d values "+
			"larger than the limit of %d bytes left out, the first "+
			"under key %q: %w", namespace, s.Describe(), w.tooLarge,
			w.limit, w.firstTooLarge, ErrValueTooLarge)
	}
	return w.result, nil
}

// valueLimit returns the largest value a message can carry: the
// smaller of the server's max payload and the stream's max message
// size, when set. Both limits count the headers too, so a value close
// to the limit may still be rejected, and is then also reported.
func valueLimit(maxPayload int64, maxMsgSize int32) int64 {
	limit := maxPayload
	if maxMsgSize > 0 && (limit <= 0 || int64(maxMsgSize) < limit) {
		limit = int64(maxMsgSize)
	}
	return limit
}

// writer applies the records of one Write call.
type writer struct {
	b             *bucket
	mode          source.WriteMode
	now           time.Time
	limit         int64
	tooLarge      int
	firstTooLarge string
	result        source.WriteResult
}

func (w *writer) write(ctx context.Context, rec *source.Record) error {
	if rec.Expired(w.now) {
		w.result.Expired++
		return nil
	}
	key := string(rec.Key)
	if rec.Deleted {
		if w.mode != source.Replace {
			return nil
		}
		return w.delete(ctx, key)
	}
	if w.limit > 0 && int64(len(rec.Value)) > w.limit {
		w.noteTooLarge(key)
		return nil
	}
	err := w.put(ctx, key, rec)
	switch {
	case errors.Is(err, jetstream.ErrKeyExists):
		w.result.Conflicts = append(w.result.Conflicts,
			append([]byte(nil), rec.Key...))
		return nil
	case isTooLarge(err):
		w.noteTooLarge(key)
		return nil
	case err != nil:
		return fmt.Errorf("put key %q: %w", key, err)
	}
	w.result.Written++
	return nil
}

func (w *writer) noteTooLarge(key string) {
	if w.tooLarge == 0 {
		w.firstTooLarge = key
	}
	w.tooLarge++
}

// isTooLarge reports whether err is the client's or the stream's
// rejection of a message larger than its limit.
func isTooLarge(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) &&
		apiErr.ErrorCode == jetstream.JSErrCodeStreamMessageExceedsMaximum {
		return true
	}
	return errors.Is(err, nats.ErrMaxPayload)
}

// put writes one value: with Create in KeepExisting mode, and as a
// plain put otherwise, with a per-message TTL when the record expires
// and the bucket allows it.
func (w *writer) put(ctx context.Context, key string,
	rec *source.Record) error {
	ttl := w.ttl(rec)
	if w.mode == source.KeepExisting {
		var opts []jetstream.KVCreateOpt
		if ttl > 0 {
			opts = append(opts, jetstream.KeyTTL(ttl))
		}
		_, err := w.b.kv.Create(ctx, key, rec.Value, opts...)
		return err
	}
	if ttl == 0 {
		_, err := w.b.kv.Put(ctx, key, rec.Value)
		return err
	}
	msg := &nats.Msg{Subject: w.b.prefix + key, Data: rec.Value}
	_, err := w.b.js.PublishMsg(ctx, msg, jetstream.WithMsgTTL(ttl))
	return err
}

// ttl returns the per-message TTL for rec: the time left until its
// expiry rounded up to whole seconds, because the server counts TTLs
// in whole seconds. It is 0 for a record without expiry or a bucket
// without per-message TTLs.
func (w *writer) ttl(rec *source.Record) time.Duration {
	if rec.ExpiresAt.IsZero() || !w.b.info.Config.AllowMsgTTL {
		return 0
	}
	left := rec.ExpiresAt.Sub(w.now)
	return (left + time.Second - 1).Truncate(time.Second)
}

// delete places a delete marker on key if the key has a value.
func (w *writer) delete(ctx context.Context, key string) error {
	_, err := w.b.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get key %q: %w", key, err)
	}
	if err := w.b.kv.Delete(ctx, key); err != nil {
		return fmt.Errorf("delete key %q: %w", key, err)
	}
	w.result.Deleted++
	return nil
}
