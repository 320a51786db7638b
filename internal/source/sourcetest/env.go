package sourcetest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/lifeline-backup/lifeline/internal/source"
)

// writeBatch is the largest number of records the suite passes to one
// Write call, as the backup engine does.
const writeBatch = 1000

// env is one subtest's source and namespace with the harness that made
// them.
type env struct {
	t   *testing.T
	h   *Harness
	src source.Source
	ns  string
}

// key returns the record key that stores the test key raw.
func (e *env) key(raw string) []byte {
	if e.h.Caps.KeyFor == nil {
		return []byte(raw)
	}
	return e.h.Caps.KeyFor([]byte(raw))
}

// value returns the stored form of the test value raw.
func (e *env) value(raw []byte) []byte {
	if e.h.Caps.ValueFor == nil {
		return raw
	}
	return e.h.Caps.ValueFor(e.t, raw)
}

// record returns a record with the stored forms of key and value.
func (e *env) record(key string, value []byte) source.Record {
	return source.Record{Key: e.key(key), Value: e.value(value)}
}

// put stores recs in the namespace with Seed for a read-only source, and
// otherwise with Write in Replace mode, at most writeBatch at a time.
func (e *env) put(recs []source.Record) {
	e.t.Helper()
	if e.h.Caps.ReadOnly {
		e.h.Caps.Seed(e.t, e.ns, recs)
		return
	}
	for start := 0; start < len(recs); start += writeBatch {
		batch := recs[start:min(start+writeBatch, len(recs))]
		res := e.write(batch, source.Replace, time.Now())
		if res.Written != int64(len(batch)) {
			e.t.Fatalf("Write of %d records: Written = %d, want %d",
				len(batch), res.Written, len(batch))
		}
	}
}

// write calls Write and fails the test on an error.
func (e *env) write(recs []source.Record, mode source.WriteMode,
	now time.Time) source.WriteResult {
	e.t.Helper()
	res, err := e.src.Write(e.t.Context(), e.ns, recs, mode, now)
	if err != nil {
		e.t.Fatalf("Write of %d records to namespace %q: %v",
			len(recs), e.ns, err)
	}
	return res
}

// readAll reads the whole namespace and returns copies of its records,
// without the records that Caps.AdapterRecord marks, in the order read.
func (e *env) readAll() []source.Record {
	e.t.Helper()
	ctx := e.t.Context()
	it, err := e.src.Read(ctx, e.ns)
	if err != nil {
		e.t.Fatalf("Read(%q): %v", e.ns, err)
	}
	defer it.Close()
	var out []source.Record
	for {
		rec, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			e.t.Fatalf("Next after %d records of %q: %v",
				len(out), e.ns, err)
		}
		if !e.adapterRecord(rec) {
			out = append(out, copyRecord(rec))
		}
	}
	if err := it.Close(); err != nil {
		e.t.Fatalf("Close iterator of %q: %v", e.ns, err)
	}
	return out
}

// readMap reads the whole namespace into a map by key. It fails the test
// for a repeated key unless Caps.RepeatsKeys is set, and then keeps the
// first record of each key.
func (e *env) readMap() map[string]source.Record {
	e.t.Helper()
	recs := e.readAll()
	out := make(map[string]source.Record, len(recs))
	for _, rec := range recs {
		k := string(rec.Key)
		if _, ok := out[k]; ok {
			if !e.h.Caps.RepeatsKeys {
				e.t.Fatalf("Read(%q) returned key %q twice",
					e.ns, short(rec.Key))
			}
			continue
		}
		out[k] = rec
	}
	return out
}

func (e *env) adapterRecord(rec *source.Record) bool {
	return e.h.Caps.AdapterRecord != nil && e.h.Caps.AdapterRecord(rec)
}

// check reads the namespace and compares it with want, which must contain
// every record of the namespace.
func (e *env) check(want []source.Record) {
	e.t.Helper()
	got := e.readMap()
	if len(got) != len(want) {
		e.t.Errorf("Read(%q) returned %d keys, want %d",
			e.ns, len(got), len(want))
	}
	for i := range want {
		w := &want[i]
		g, ok := got[string(w.Key)]
		if !ok {
			e.t.Errorf("key %q missing from Read(%q)", short(w.Key), e.ns)
			continue
		}
		e.compare(&g, w)
	}
}

// compare reports every difference between a record read and the one
// written.
func (e *env) compare(got, want *source.Record) {
	e.t.Helper()
	k := short(want.Key)
	if !bytes.Equal(got.Value, want.Value) {
		e.t.Errorf("key %q: value of %d bytes differs from the %d "+
			"bytes written", k, len(got.Value), len(want.Value))
	}
	if e.h.Caps.Metadata && !bytes.Equal(got.Metadata, want.Metadata) {
		e.t.Errorf("key %q: metadata %q, want %q",
			k, got.Metadata, want.Metadata)
	}
	if e.h.Caps.Expiry {
		e.compareExpiry(k, got.ExpiresAt, want.ExpiresAt)
	}
	if got.Deleted {
		e.t.Errorf("key %q: Read returned a tombstone", k)
	}
}

func (e *env) compareExpiry(key string, got, want time.Time) {
	e.t.Helper()
	if got.IsZero() != want.IsZero() {
		e.t.Errorf("key %q: expiry %v, want %v", key, got, want)
		return
	}
	diff := got.Sub(want).Abs()
	if diff > e.h.Caps.ExpiryGranularity {
		e.t.Errorf("key %q: expiry %v is %v from the written %v, "+
			"more than the granularity %v", key, got, diff, want,
			e.h.Caps.ExpiryGranularity)
	}
}

// checkNoSecret fails the test when text, named what, contains a string
// of Harness.Secrets.
func (e *env) checkNoSecret(what, text string) {
	e.t.Helper()
	for i, secret := range e.h.Secrets {
		if secret != "" && strings.Contains(text, secret) {
			e.t.Errorf("%s contains secret %d of the harness", what, i)
		}
	}
}

// numbered returns n records with keys prefix0000000, prefix0000001 and
// so on, and values taken in turn from 16 distinct values, so that
// Caps.ValueFor runs only 16 times.
func (e *env) numbered(prefix string, n int) []source.Record {
	values := make([][]byte, 16)
	for i := range values {
		values[i] = e.value(fmt.Appendf(nil, "value %d of %s", i, prefix))
	}
	recs := make([]source.Record, n)
	for i := range recs {
		recs[i] = source.Record{
			Key:   e.key(fmt.Sprintf("%s%07d", prefix, i)),
			Value: values[i%len(values)],
		}
	}
	return recs
}

func copyRecord(rec *source.Record) source.Record {
	c := *rec
	c.Key = bytes.Clone(rec.Key)
	c.Value = bytes.Clone(rec.Value)
	c.Metadata = bytes.Clone(rec.Metadata)
	return c
}

// short returns key for a message, cut to 40 bytes.
func short(key []byte) string {
	if len(key) > 40 {
		return fmt.Sprintf("%s... (%d bytes)", key[:40], len(key))
	}
	return string(key)
}

// randomBytes returns n bytes from a generator seeded with seed, so a
// failing case can be reproduced.
func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}
