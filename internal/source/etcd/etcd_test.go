package etcd_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/lifeline-backup/lifeline/internal/source"
	"github.com/lifeline-backup/lifeline/internal/source/etcd"
	"github.com/lifeline-backup/lifeline/internal/source/etcd/etcdtest"
	"github.com/lifeline-backup/lifeline/internal/source/sourcetest"
)

func TestConformance(t *testing.T) {
	srv := etcdtest.Start(t)
	cli := srv.Client(t)
	var n atomic.Int64
	prefixes := map[string]string{}
	sourcetest.Run(t, sourcetest.Harness{
		New: func(t *testing.T) (source.Source, string) {
			name := fmt.Sprintf("ns%d", n.Add(1))
			prefix := "/" + name + "/"
			prefixes[name] = prefix
			return newSource(t, srv, etcd.Namespace{Name: name,
				Prefix: prefix}), name
		},
		Delete: func(t *testing.T, namespace string, key []byte) {
			full := prefixes[namespace] + string(key)
			if _, err := cli.Delete(t.Context(), full); err != nil {
				t.Fatalf("delete %q: %v", full, err)
			}
		},
		Caps: sourcetest.Caps{
			BinaryKeys:   true,
			BinaryValues: true,
			EmptyValues:  true,
			// The key is the prefix alone, which etcd accepts.
			EmptyKeys:         true,
			Expiry:            true,
			ExpiryGranularity: time.Second,
			MaxKeyLen:         4096,
		},
	})
}

// newSource returns a source for srv with the namespaces, closed when
// the test ends.
func newSource(t *testing.T, srv *etcdtest.Server,
	namespaces ...etcd.Namespace) *etcd.Source {
	t.Helper()
	src, err := etcd.New(etcd.Config{Name: "kv",
		Endpoints: []string{srv.Endpoint}, Namespaces: namespaces})
	if err != nil {
		t.Fatalf("new etcd source: %v", err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

func TestNewRejectsInvalidConfig(t *testing.T) {
	ns := []etcd.Namespace{{Name: "a", Prefix: "a/"}}
	cases := map[string]etcd.Config{
		"no endpoints":  {Namespaces: ns},
		"empty":         {Endpoints: []string{""}, Namespaces: ns},
		"no namespaces": {Endpoints: []string{"http://127.0.0.1:1"}},
		"credentials in URL": {Namespaces: ns,
			Endpoints: []string{"http://user:secret@127.0.0.1:1"}},
		"repeated namespace": {Endpoints: []string{"http://127.0.0.1:1"},
			Namespaces: append(ns, ns[0])},
		"unnamed namespace": {Endpoints: []string{"http://127.0.0.1:1"},
			Namespaces: []etcd.Namespace{{Prefix: "x"}}},
		"password alone": {Endpoints: []string{"http://127.0.0.1:1"},
			Namespaces: ns, Password: "secret"},
	}
	for name, cfg := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := etcd.New(cfg)
			if err == nil {
				t.Fatal("New returned no error")
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q contains the password", err)
			}
		})
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

func put(t *testing.T, cli *clientv3.Client, key, value string,
	opts ...clientv3.OpOption) {
	t.Helper()
	if _, err := cli.Put(t.Context(), key, value, opts...); err != nil {
		t.Fatalf("put %q: %v", key, err)
	}
}

func del(t *testing.T, cli *clientv3.Client, key string) {
	t.Helper()
	if _, err := cli.Delete(t.Context(), key); err != nil {
		t.Fatalf("delete %q: %v", key, err)
	}
}

func TestChangesSinceFullRead(t *testing.T) {
	srv := etcdtest.Start(t)
	cli := srv.Client(t)
	src := newSource(t, srv, etcd.Namespace{Name: "app", Prefix: "app/"})
	ctx := t.Context()
	for i := range 5 {
		put(t, cli, fmt.Sprintf("app/k%d", i), fmt.Sprintf("v%d", i))
	}
	put(t, cli, "other/k1", "outside the namespace")

	it, err := src.Read(ctx, "app")
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if got := len(readAll(t, it)); got != 5 {
		t.Fatalf("full read returned %d keys, want 5", got)
	}
	cursor := cursorOf(t, it)

	// Updated twice, deleted, created, created and deleted, deleted
	// and created again, and a change outside the namespace.
	put(t, cli, "app/k0", "first update")
	put(t, cli, "app/k0", "second update")
	del(t, cli, "app/k1")
	put(t, cli, "app/new", "new value")
	put(t, cli, "app/gone", "short-lived")
	del(t, cli, "app/gone")
	del(t, cli, "app/k2")
	put(t, cli, "app/k2", "back again")
	put(t, cli, "other/k1", "changed outside")

	it, err = src.Changes(ctx, "app", cursor)
	if err != nil {
		t.Fatalf("Changes: %v", err)
	}
	got := readAll(t, it)
	want := map[string]source.Record{
		"k0":  {Key: []byte("k0"), Value: []byte("second update")},
		"k1":  {Key: []byte("k1"), Deleted: true},
		"new": {Key: []byte("new"), Value: []byte("new value")},
		"k2":  {Key: []byte("k2"), Value: []byte("back again")},
	}
	compareChanges(t, got, want)

	// Nothing changed since the second cursor.
	it, err = src.Changes(ctx, "app", cursorOf(t, it))
	if err != nil {
		t.Fatalf("second Changes: %v", err)
	}
	if got := readAll(t, it); len(got) != 0 {
		t.Errorf("second Changes returned %d records, want none: %v",
			len(got), slices.Sorted(maps.Keys(got)))
	}
}

func compareChanges(t *testing.T, got, want map[string]source.Record) {
	t.Helper()
	if !slices.Equal(slices.Sorted(maps.Keys(got)),
		slices.Sorted(maps.Keys(want))) {
		t.Errorf("changed keys = %q, want %q",
			slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
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

func TestChangesAfterCompaction(t *testing.T) {
	srv := etcdtest.Start(t)
	cli := srv.Client(t)
	src := newSource(t, srv, etcd.Namespace{Name: "app", Prefix: "app/"})
	put(t, cli, "app/a", "1")
	it, err := src.Read(t.Context(), "app")
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	readAll(t, it)
	cursor := cursorOf(t, it)
	put(t, cli, "app/a", "2")
	put(t, cli, "app/a", "3")
	srv.Compact(t)

	_, err = src.Changes(t.Context(), "app", cursor)
	if !errors.Is(err, source.ErrCursorExpired) {
		t.Fatalf("Changes after compaction: error %v, want "+
			"source.ErrCursorExpired", err)
	}
}

func TestChangesCursorAhead(t *testing.T) {
	srv := etcdtest.Start(t)
	src := newSource(t, srv, etcd.Namespace{Name: "app", Prefix: "app/"})
	cursor := []byte{0, 0, 0, 0, 0, 1, 0, 0}
	_, err := src.Changes(t.Context(), "app", cursor)
	if !errors.Is(err, source.ErrCursorExpired) {
		t.Fatalf("Changes with a cursor past the cluster's revision: "+
			"error %v, want source.ErrCursorExpired", err)
	}
}

func TestReadIsOneRevision(t *testing.T) {
	srv := etcdtest.Start(t)
	cli := srv.Client(t)
	src := newSource(t, srv, etcd.Namespace{Name: "app", Prefix: "app/"})
	const n = 2*etcd.PageSize + 10
	for start := 0; start < n; start += 100 {
		ops := []clientv3.Op{}
		for i := start; i < min(start+100, n); i++ {
			ops = append(ops, clientv3.OpPut(fmt.Sprintf("app/%05d", i),
				"before"))
		}
		if _, err := cli.Txn(t.Context()).Then(ops...).Commit(); err != nil {
			t.Fatalf("seed keys: %v", err)
		}
	}

	it, err := src.Read(t.Context(), "app")
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	// Changed after the first page: the read must not see them.
	put(t, cli, fmt.Sprintf("app/%05d", n-1), "after")
	put(t, cli, "app/zzz", "after")
	got := readAll(t, it)
	if len(got) != n {
		t.Errorf("Read returned %d keys, want %d", len(got), n)
	}
	for k, rec := range got {
		if string(rec.Value) != "before" {
			t.Errorf("key %q: value %q, want the value at the "+
				"read's revision", k, rec.Value)
		}
	}
}

func TestLeaseRoundTrip(t *testing.T) {
	srv := etcdtest.Start(t)
	cli := srv.Client(t)
	from := newSource(t, srv, etcd.Namespace{Name: "app", Prefix: "app/"})
	to := newSource(t, srv, etcd.Namespace{Name: "app", Prefix: "copy/"})
	ctx := t.Context()
	lease, err := cli.Grant(ctx, 3600)
	if err != nil {
		t.Fatalf("grant lease: %v", err)
	}
	granted := time.Now().Add(time.Hour)
	put(t, cli, "app/a", "with lease", clientv3.WithLease(lease.ID))
	put(t, cli, "app/b", "same lease", clientv3.WithLease(lease.ID))
	put(t, cli, "app/c", "no lease")

	it, err := from.Read(ctx, "app")
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	recs := readAll(t, it)
	checkExpiry(t, recs["a"].ExpiresAt, granted)
	checkExpiry(t, recs["b"].ExpiresAt, granted)
	if !recs["c"].ExpiresAt.IsZero() {
		t.Errorf("key without lease: expiry %v, want none",
			recs["c"].ExpiresAt)
	}

	res, err := to.Write(ctx, "app", slices.Collect(maps.Values(recs)),
		source.KeepExisting, time.Now())
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	if res.Written != 3 {
		t.Errorf("Written = %d, want 3", res.Written)
	}
	resp, err := cli.Get(ctx, "copy/", clientv3.WithPrefix())
	if err != nil {
		t.Fatalf("get copies: %v", err)
	}
	leases := map[int64]bool{}
	for _, kv := range resp.Kvs {
		if string(kv.Key) != "copy/c" {
			leases[kv.Lease] = true
		}
	}
	if len(leases) != 1 || leases[0] {
		t.Errorf("the two keys with a lease were restored on leases %v, "+
			"want one shared lease", slices.Collect(maps.Keys(leases)))
	}

	it, err = to.Read(ctx, "app")
	if err != nil {
		t.Fatalf("Read of the copy: %v", err)
	}
	copies := readAll(t, it)
	checkExpiry(t, copies["a"].ExpiresAt, granted)
	checkExpiry(t, copies["b"].ExpiresAt, granted)
}

func checkExpiry(t *testing.T, got, want time.Time) {
	t.Helper()
	if d := got.Sub(want).Abs(); d > time.Second {
		t.Errorf("expiry %v is %v from %v, want within a second",
			got, d, want)
	}
}

func TestWriteManyOpsAndConflicts(t *testing.T) {
	srv := etcdtest.Start(t)
	cli := srv.Client(t)
	src := newSource(t, srv, etcd.Namespace{Name: "app", Prefix: "app/"})
	ctx := t.Context()
	for i := 0; i < 1000; i += 7 {
		put(t, cli, fmt.Sprintf("app/%04d", i), "existing")
	}
	var recs []source.Record
	for i := range 1000 {
		recs = append(recs, source.Record{
			Key: fmt.Appendf(nil, "%04d", i), Value: []byte("new")})
	}
	// A repeated key in one batch must not break the transaction.
	recs = append(recs, source.Record{Key: []byte("0001"),
		Value: []byte("repeat")})

	res, err := src.Write(ctx, "app", recs, source.KeepExisting,
		time.Now())
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	existing := (1000 + 6) / 7
	if res.Written != int64(1000-existing) {
		t.Errorf("Written = %d, want %d", res.Written, 1000-existing)
	}
	if len(res.Conflicts) != existing+1 {
		t.Errorf("%d conflicts, want %d", len(res.Conflicts), existing+1)
	}
	resp, err := cli.Get(ctx, "app/0007")
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if got := string(resp.Kvs[0].Value); got != "existing" {
		t.Errorf("existing key: value %q, want it unchanged", got)
	}
}

func TestUnknownNamespaceChanges(t *testing.T) {
	src, err := etcd.New(etcd.Config{
		Endpoints:  []string{"http://127.0.0.1:1"},
		Namespaces: []etcd.Namespace{{Name: "app", Prefix: "app/"}}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	_, err = src.Changes(context.Background(), "nope", make([]byte, 8))
	if !errors.Is(err, source.ErrUnknownNamespace) {
		t.Errorf("Changes of an unknown namespace: error %v, want "+
			"source.ErrUnknownNamespace", err)
	}
}
