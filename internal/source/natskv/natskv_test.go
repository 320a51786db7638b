package natskv_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lifeline-backup/lifeline/internal/source"
	"github.com/lifeline-backup/lifeline/internal/source/natskv"
	"github.com/lifeline-backup/lifeline/internal/source/natskv/natstest"
	"github.com/lifeline-backup/lifeline/internal/source/sourcetest"
)

func TestConformance(t *testing.T) {
	srv := natstest.Start(t)
	js := srv.JetStream(t)
	var n atomic.Int64
	sourcetest.Run(t, sourcetest.Harness{
		New: func(t *testing.T) (source.Source, string) {
			name := fmt.Sprintf("b%d", n.Add(1))
			srv.CreateBucket(t, jetstream.KeyValueConfig{Bucket: name,
				LimitMarkerTTL: time.Minute})
			return newSource(t, srv, name), name
		},
		Delete: func(t *testing.T, namespace string, key []byte) {
			kv, err := js.KeyValue(t.Context(), namespace)
			if err != nil {
				t.Fatalf("open bucket %q: %v", namespace, err)
			}
			if err := kv.Delete(t.Context(), string(key)); err != nil {
				t.Fatalf("delete %q: %v", key, err)
			}
		},
		Caps: sourcetest.Caps{
			BinaryValues: true,
			EmptyValues:  true,
			Expiry:       true,
			// The server keeps TTLs in whole seconds and Write rounds
			// them up.
			ExpiryGranularity: time.Second,
			MaxKeyLen:         1024,
			// NATS KV keys may hold only letters, digits and "-/_=.".
			KeyFor: func(key []byte) []byte {
				return bytes.ReplaceAll(key, []byte(":"), []byte("="))
			},
		},
	})
}

// newSource returns a source for srv with the buckets, closed when the
// test ends.
func newSource(t *testing.T, srv *natstest.Server,
	buckets ...string) *natskv.Source {
	t.Helper()
	src, err := natskv.New(natskv.Config{Name: "kv", URL: srv.URL,
		Buckets: buckets})
	if err != nil {
		t.Fatalf("new nats source: %v", err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

func TestNewRejectsInvalidConfig(t *testing.T) {
	cases := map[string]natskv.Config{
		"no URL":     {},
		"no host":    {URL: "nats://"},
		"both auths": {URL: "nats://127.0.0.1:1", Token: "t", CredsFile: "f"},
		"empty name": {URL: "nats://127.0.0.1:1", Buckets: []string{""}},
		"repeated":   {URL: "nats://127.0.0.1:1", Buckets: []string{"a", "a"}},
		"second bad": {URL: "nats://127.0.0.1:1,::"},
	}
	for name, cfg := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := natskv.New(cfg); err == nil {
				t.Fatal("New returned no error")
			}
		})
	}
}

func TestDescribeHidesCredentials(t *testing.T) {
	src, err := natskv.New(natskv.Config{
		URL: "nats://user:secret@127.0.0.1:4222", Token: "token-secret"})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	got := src.Describe()
	if strings.Contains(got, "secret") {
		t.Errorf("Describe() = %q, contains a credential", got)
	}
	if !strings.Contains(got, "127.0.0.1:4222") {
		t.Errorf("Describe() = %q, want the server address", got)
	}
}

// readAll reads it to the end and returns copies of its records by key,
// failing the test on a repeated key.
func readAll(t *testing.T, it source.Iterator) map[string]source.Record {
	t.Helper()
	defer it.Close()
	out := map[string]source.Record{}
	for {
		rec, err := it.Next(t.Context())
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		k := string(rec.Key)
		if _, ok := out[k]; ok {
			t.Fatalf("key %q returned twice", k)
		}
		out[k] = source.Record{Key: []byte(k),
			Value: slices.Clone(rec.Value), ExpiresAt: rec.ExpiresAt,
			Deleted: rec.Deleted}
	}
}

func cursorOf(t *testing.T, it source.Iterator) []byte {
	t.Helper()
	c, ok := it.(source.Cursored)
	if !ok {
		t.Fatalf("iterator %T does not implement source.Cursored", it)
	}
	return c.Cursor()
}

func put(t *testing.T, kv jetstream.KeyValue, key, value string) {
	t.Helper()
	if _, err := kv.Put(t.Context(), key, []byte(value)); err != nil {
		t.Fatalf("put %q: %v", key, err)
	}
}

func TestChangesSinceFullRead(t *testing.T) {
	srv := natstest.Start(t)
	kv := srv.CreateBucket(t, jetstream.KeyValueConfig{Bucket: "app",
		History: 5})
	other := srv.CreateBucket(t, jetstream.KeyValueConfig{Bucket: "other"})
	src := newSource(t, srv)
	ctx := t.Context()
	for i := range 6 {
		put(t, kv, fmt.Sprintf("k%d", i), fmt.Sprintf("v%d", i))
	}
	put(t, other, "k1", "outside the namespace")

	it, err := src.Read(ctx, "app")
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if got := len(readAll(t, it)); got != 6 {
		t.Fatalf("full read returned %d keys, want 6", got)
	}
	cursor := cursorOf(t, it)

	// Updated twice, deleted, purged, created, deleted and put again,
	// and a change in another bucket.
	put(t, kv, "k0", "first update")
	put(t, kv, "k0", "second update")
	if err := kv.Delete(ctx, "k1"); err != nil {
		t.Fatalf("delete k1: %v", err)
	}
	if err := kv.Purge(ctx, "k2"); err != nil {
		t.Fatalf("purge k2: %v", err)
	}
	put(t, kv, "new", "new value")
	if err := kv.Delete(ctx, "k3"); err != nil {
		t.Fatalf("delete k3: %v", err)
	}
	put(t, kv, "k3", "back again")
	put(t, other, "k1", "changed outside")

	it, err = src.Changes(ctx, "app", cursor)
	if err != nil {
		t.Fatalf("Changes: %v", err)
	}
	got := readAll(t, it)
	want := map[string]source.Record{
		"k0":  {Value: []byte("second update")},
		"k1":  {Deleted: true},
		"k2":  {Deleted: true},
		"new": {Value: []byte("new value")},
		"k3":  {Value: []byte("back again")},
	}
	compareChanges(t, got, want)

	it, err = src.Changes(ctx, "app", cursorOf(t, it))
	if err != nil {
		t.Fatalf("second Changes: %v", err)
	}
	if got := readAll(t, it); len(got) != 0 {
		t.Errorf("second Changes returned %d records, want none: %q",
			len(got), slices.Sorted(maps.Keys(got)))
	}
}

func compareChanges(t *testing.T, got, want map[string]source.Record) {
	t.Helper()
	gotKeys := slices.Sorted(maps.Keys(got))
	wantKeys := slices.Sorted(maps.Keys(want))
	if !slices.Equal(gotKeys, wantKeys) {
		t.Errorf("changed keys = %q, want %q", gotKeys, wantKeys)
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			continue
		}
		if g.Deleted != w.Deleted {
			t.Errorf("key %q: Deleted = %v, want %v", k, g.Deleted,
				w.Deleted)
		}
		if string(g.Value) != string(w.Value) {
			t.Errorf("key %q: value %q, want %q", k, g.Value, w.Value)
		}
	}
}

func TestChangesAfterStreamPurge(t *testing.T) {
	srv := natstest.Start(t)
	kv := srv.CreateBucket(t, jetstream.KeyValueConfig{Bucket: "app"})
	src := newSource(t, srv, "app")
	ctx := t.Context()
	put(t, kv, "a", "1")
	it, err := src.Read(ctx, "app")
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	readAll(t, it)
	cursor := cursorOf(t, it)
	put(t, kv, "b", "2")
	put(t, kv, "c", "3")
	stream, err := srv.JetStream(t).Stream(ctx, "KV_app")
	if err != nil {
		t.Fatalf("open stream: %v", err)
	}
	// Removes b's message, the first one after the cursor.
	if err := stream.Purge(ctx, jetstream.WithPurgeSequence(
		binaryCursor(cursor)+2)); err != nil {
		t.Fatalf("purge stream: %v", err)
	}

	_, err = src.Changes(ctx, "app", cursor)
	if !errors.Is(err, source.ErrCursorExpired) {
		t.Fatalf("Changes after a purge past the cursor: error %v, "+
			"want source.ErrCursorExpired", err)
	}
}

func binaryCursor(c []byte) uint64 {
	var n uint64
	for _, b := range c {
		n = n<<8 | uint64(b)
	}
	return n
}

func TestChangesCursorAhead(t *testing.T) {
	srv := natstest.Start(t)
	srv.CreateBucket(t, jetstream.KeyValueConfig{Bucket: "app"})
	src := newSource(t, srv, "app")
	_, err := src.Changes(t.Context(), "app", []byte{0, 0, 0, 0, 0, 0, 1, 0})
	if !errors.Is(err, source.ErrCursorExpired) {
		t.Fatalf("Changes with a cursor past the stream: error %v, want "+
			"source.ErrCursorExpired", err)
	}
}

func TestWriteValueTooLarge(t *testing.T) {
	srv := natstest.Start(t)
	kv := srv.CreateBucket(t, jetstream.KeyValueConfig{Bucket: "small",
		MaxValueSize: 1024})
	src := newSource(t, srv, "small")
	recs := []source.Record{
		{Key: []byte("ok"), Value: []byte("fits")},
		{Key: []byte("big1"), Value: bytes.Repeat([]byte("x"), 2000)},
		{Key: []byte("also-ok"), Value: []byte("fits too")},
		{Key: []byte("big2"), Value: bytes.Repeat([]byte("y"), 1025)},
	}
	res, err := src.Write(t.Context(), "small", recs, source.Replace,
		time.Now())
	if !errors.Is(err, natskv.ErrValueTooLarge) {
		t.Fatalf("Write error = %v, want natskv.ErrValueTooLarge", err)
	}
	for _, want := range []string{"2 values", "1024 bytes", `"big1"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	if res.Written != 2 {
		t.Errorf("Written = %d, want the 2 values that fit", res.Written)
	}
	for _, key := range []string{"ok", "also-ok"} {
		if _, err := kv.Get(t.Context(), key); err != nil {
			t.Errorf("get %q: %v", key, err)
		}
	}
}

func TestExpiryRoundTrip(t *testing.T) {
	srv := natstest.Start(t)
	srv.CreateBucket(t, jetstream.KeyValueConfig{Bucket: "from",
		LimitMarkerTTL: time.Minute})
	srv.CreateBucket(t, jetstream.KeyValueConfig{Bucket: "to",
		LimitMarkerTTL: time.Minute})
	srv.CreateBucket(t, jetstream.KeyValueConfig{Bucket: "plain"})
	src := newSource(t, srv)
	ctx := t.Context()
	expires := time.Now().Add(time.Hour)
	recs := []source.Record{
		{Key: []byte("ttl"), Value: []byte("expires"), ExpiresAt: expires},
		{Key: []byte("forever"), Value: []byte("stays")},
	}
	if _, err := src.Write(ctx, "from", recs, source.KeepExisting,
		time.Now()); err != nil {
		t.Fatalf("Write: %v", err)
	}

	it, err := src.Read(ctx, "from")
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	got := readAll(t, it)
	checkExpiry(t, got["ttl"].ExpiresAt, expires)
	if !got["forever"].ExpiresAt.IsZero() {
		t.Errorf("key without TTL: expiry %v, want none",
			got["forever"].ExpiresAt)
	}

	copied := slices.Collect(maps.Values(got))
	if _, err := src.Write(ctx, "to", copied, source.Replace,
		time.Now()); err != nil {
		t.Fatalf("Write of the copy: %v", err)
	}
	it, err = src.Read(ctx, "to")
	if err != nil {
		t.Fatalf("Read of the copy: %v", err)
	}
	checkExpiry(t, readAll(t, it)["ttl"].ExpiresAt, expires)

	// A bucket without per-message TTLs keeps the value without one.
	if _, err := src.Write(ctx, "plain", copied, source.Replace,
		time.Now()); err != nil {
		t.Fatalf("Write to the plain bucket: %v", err)
	}
	it, err = src.Read(ctx, "plain")
	if err != nil {
		t.Fatalf("Read of the plain bucket: %v", err)
	}
	plain := readAll(t, it)
	if !plain["ttl"].ExpiresAt.IsZero() {
		t.Errorf("plain bucket: expiry %v, want none",
			plain["ttl"].ExpiresAt)
	}
}

func TestBucketTTLBecomesExpiry(t *testing.T) {
	srv := natstest.Start(t)
	kv := srv.CreateBucket(t, jetstream.KeyValueConfig{Bucket: "app",
		TTL: time.Hour})
	src := newSource(t, srv, "app")
	put(t, kv, "a", "1")
	entry, err := kv.Get(t.Context(), "a")
	if err != nil {
		t.Fatalf("get a: %v", err)
	}
	it, err := src.Read(t.Context(), "app")
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	got := readAll(t, it)["a"].ExpiresAt
	if want := entry.Created().Add(time.Hour); !got.Equal(want) {
		t.Errorf("expiry %v, want the creation time plus the bucket "+
			"TTL, %v", got, want)
	}
}

func checkExpiry(t *testing.T, got, want time.Time) {
	t.Helper()
	if d := got.Sub(want).Abs(); d > time.Second {
		t.Errorf("expiry %v is %v from %v, want within a second",
			got, d, want)
	}
}

func TestNamespacesListsBuckets(t *testing.T) {
	srv := natstest.Start(t)
	srv.CreateBucket(t, jetstream.KeyValueConfig{Bucket: "b"})
	srv.CreateBucket(t, jetstream.KeyValueConfig{Bucket: "a"})
	src := newSource(t, srv)
	got, err := src.Namespaces(t.Context())
	if err != nil {
		t.Fatalf("Namespaces: %v", err)
	}
	if want := []string{"a", "b"}; !slices.Equal(got, want) {
		t.Errorf("Namespaces() = %q, want %q", got, want)
	}
	if _, err := src.Read(t.Context(), "missing"); !errors.Is(err,
		source.ErrUnknownNamespace) {
		t.Errorf("Read of a missing bucket: error %v, want "+
			"source.ErrUnknownNamespace", err)
	}
}

func TestReadLeavesNoConsumer(t *testing.T) {
	srv := natstest.Start(t)
	kv := srv.CreateBucket(t, jetstream.KeyValueConfig{Bucket: "app"})
	src := newSource(t, srv, "app")
	ctx := t.Context()
	put(t, kv, "a", "1")
	put(t, kv, "b", "2")

	it, err := src.Read(ctx, "app")
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	readAll(t, it)
	it, err = src.Changes(ctx, "app", make([]byte, 8))
	if err != nil {
		t.Fatalf("Changes: %v", err)
	}
	readAll(t, it)

	stream, err := srv.JetStream(t).Stream(ctx, "KV_app")
	if err != nil {
		t.Fatalf("open stream: %v", err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatalf("stream info: %v", err)
	}
	if n := info.State.Consumers; n != 0 {
		t.Errorf("%d consumers left after the read and Changes, want 0", n)
	}
}
