package httpsnap_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/lifeline-backup/lifeline/examples/snapshot-server/snapserver"
	"github.com/lifeline-backup/lifeline/internal/source"
	"github.com/lifeline-backup/lifeline/internal/source/httpsnap"
	"github.com/lifeline-backup/lifeline/internal/source/httpsnap/snaptest"
)

func newSource(t *testing.T, srv *snaptest.Server,
	name string) *httpsnap.Source {
	t.Helper()
	src, err := httpsnap.New(srv.Config(name))
	if err != nil {
		t.Fatalf("new source: %v", err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

// readAll reads the namespace whole and returns the records and the
// error that ended the read, nil at a clean end.
func readAll(t *testing.T, src source.Source,
	ns string) ([]source.Record, error) {
	t.Helper()
	ctx := context.Background()
	it, err := src.Read(ctx, ns)
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []source.Record
	for {
		rec, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, *rec)
	}
}

// seed stores n records key-000 to key-(n-1) with values of size bytes.
func seed(srv *snaptest.Server, n, size int) {
	for i := range n {
		value := bytes.Repeat([]byte{byte(i)}, size)
		srv.Put([]byte(fmt.Sprintf("key-%03d", i)),
			snapserver.Record{Value: value})
	}
}

func TestRead_Records(t *testing.T) {
	srv := snaptest.Start(t, "sessions")
	future := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	srv.Put([]byte{0, 0xff, '\n'}, snapserver.Record{Value: []byte{1, 2}})
	srv.Put([]byte{}, snapserver.Record{Value: []byte("empty key")})
	srv.Put([]byte("meta"), snapserver.Record{Value: []byte("v"),
		Metadata: []byte{}})
	srv.Put([]byte("ttl"), snapserver.Record{Value: []byte("v"),
		Metadata: []byte(`{"a":1}`), ExpiresAt: future})
	srv.Put([]byte("gone"), snapserver.Record{Value: []byte("v"),
		ExpiresAt: time.Now().Add(-time.Minute)})
	src := newSource(t, srv, "sessions")

	got, err := readAll(t, src, "sessions")
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if len(got) != 4 {
		t.Fatalf("read %d records, want 4 (the expired one left out)",
			len(got))
	}
	byKey := map[string]source.Record{}
	for _, r := range got {
		byKey[string(r.Key)] = r
	}
	if r := byKey["\x00\xff\n"]; !bytes.Equal(r.Value, []byte{1, 2}) {
		t.Errorf("binary key value = %v, want [1 2]", r.Value)
	}
	if r := byKey[""]; string(r.Value) != "empty key" {
		t.Errorf("empty key value = %q, want %q", r.Value, "empty key")
	}
	if r := byKey["meta"]; r.Metadata == nil || len(r.Metadata) != 0 {
		t.Errorf("empty metadata = %#v, want non-nil and empty",
			r.Metadata)
	}
	if r := byKey["\x00\xff\n"]; r.Metadata != nil {
		t.Errorf("missing metadata = %#v, want nil", r.Metadata)
	}
	r := byKey["ttl"]
	if string(r.Metadata) != `{"a":1}` {
		t.Errorf("metadata = %q, want %q", r.Metadata, `{"a":1}`)
	}
	if !r.ExpiresAt.Equal(future) {
		t.Errorf("expiry = %v, want %v", r.ExpiresAt, future)
	}
}

func TestRoundTrip(t *testing.T) {
	from := snaptest.Start(t, "cache")
	to := snaptest.Start(t, "cache")
	seed(from, 50, 100)
	from.Put([]byte("meta"), snapserver.Record{Value: []byte("v"),
		Metadata: []byte("m")})
	fromSrc := newSource(t, from, "cache")
	toSrc := newSource(t, to, "cache")

	records, err := readAll(t, fromSrc, "cache")
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	res, err := toSrc.Write(context.Background(), "cache", records,
		source.KeepExisting, time.Now())
	if err != nil {
		t.Fatalf("write: %v", err)
	}
	if res.Written != 51 {
		t.Errorf("written = %d, want 51", res.Written)
	}
	again, err := readAll(t, toSrc, "cache")
	if err != nil {
		t.Fatalf("read back: %v", err)
	}
	if len(again) != len(records) {
		t.Fatalf("read back %d records, want %d", len(again),
			len(records))
	}
	for i := range records {
		want, got := records[i], again[i]
		if !bytes.Equal(got.Key, want.Key) ||
			!bytes.Equal(got.Value, want.Value) ||
			!bytes.Equal(got.Metadata, want.Metadata) {
			t.Errorf("record %d = %q/%q/%q, want %q/%q/%q", i, got.Key,
				got.Value, got.Metadata, want.Key, want.Value,
				want.Metadata)
		}
	}
}

func TestWrite_Modes(t *testing.T) {
	srv := snaptest.Start(t, "ns")
	srv.Put([]byte("a"), snapserver.Record{Value: []byte("old")})
	srv.Put([]byte("b"), snapserver.Record{Value: []byte("old")})
	src := newSource(t, srv, "ns")
	ctx := context.Background()
	now := time.Now()
	batch := []source.Record{
		{Key: []byte("a"), Value: []byte("new")},
		{Key: []byte("b"), Deleted: true},
		{Key: []byte("c"), Value: []byte("new")},
		{Key: []byte("d"), Value: []byte("new"),
			ExpiresAt: now.Add(-time.Second)},
	}

	res, err := src.Write(ctx, "ns", batch, source.KeepExisting, now)
	if err != nil {
		t.Fatalf("write keep: %v", err)
	}
	if res.Written != 1 || res.Deleted != 0 || res.Expired != 1 {
		t.Errorf("keep result = %+v, want 1 written, 0 deleted, "+
			"1 expired", res)
	}
	if len(res.Conflicts) != 1 || string(res.Conflicts[0]) != "a" {
		t.Errorf("keep conflicts = %q, want [a]", res.Conflicts)
	}
	if rec, _ := srv.Get([]byte("a")); string(rec.Value) != "old" {
		t.Errorf("keep changed a to %q", rec.Value)
	}
	if _, ok := srv.Get([]byte("b")); !ok {
		t.Error("keep applied the tombstone of b")
	}

	res, err = src.Write(ctx, "ns", batch, source.Replace, now)
	if err != nil {
		t.Fatalf("write replace: %v", err)
	}
	if res.Written != 2 || res.Deleted != 1 || len(res.Conflicts) != 0 {
		t.Errorf("replace result = %+v, want 2 written, 1 deleted, "+
			"no conflicts", res)
	}
	if rec, _ := srv.Get([]byte("a")); string(rec.Value) != "new" {
		t.Errorf("replace left a as %q", rec.Value)
	}
	if _, ok := srv.Get([]byte("b")); ok {
		t.Error("replace kept b, which had a tombstone")
	}
	if _, ok := srv.Get([]byte("d")); ok {
		t.Error("the expired record d was written")
	}
}

func TestWrite_SplitsLargeBatches(t *testing.T) {
	srv := snaptest.Start(t, "ns")
	src := newSource(t, srv, "ns")
	// 20 values of 1 MiB make about 28 MiB of base64 lines, more than
	// one request carries.
	var records []source.Record
	for i := range 20 {
		records = append(records, source.Record{
			Key:   []byte(fmt.Sprintf("big-%02d", i)),
			Value: bytes.Repeat([]byte{byte(i)}, 1<<20),
		})
	}
	res, err := src.Write(context.Background(), "ns", records,
		source.Replace, time.Now())
	if err != nil {
		t.Fatalf("write: %v", err)
	}
	if res.Written != 20 {
		t.Errorf("written = %d, want 20", res.Written)
	}
	if srv.Len() != 20 {
		t.Errorf("server holds %d keys, want 20", srv.Len())
	}
}

func TestRead_CutShort(t *testing.T) {
	cases := []struct {
		name  string
		fault snapserver.Fault
		want  string
	}{
		{"connection closed", snapserver.Fault{Cut: true, CutAfter: 5},
			"response cut short after 5 records"},
		{"closed before trailer", snapserver.Fault{Cut: true,
			CutAfter: 10}, "response cut short after 10 records"},
		{"no trailer", snapserver.Fault{DropTrailer: true},
			"ended without its trailer line"},
		{"wrong hash", snapserver.Fault{WrongHash: true},
			"SHA-256 of the record lines does not match"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := snaptest.Start(t, "ns")
			seed(srv, 10, 10)
			srv.SetFault(tc.fault)
			src := newSource(t, srv, "ns")

			_, err := readAll(t, src, "ns")
			if err == nil {
				t.Fatal("read succeeded, want an error")
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.want) {
				t.Errorf("error %q does not contain %q", msg, tc.want)
			}
			if !strings.Contains(msg, srv.URL+"/snapshot") {
				t.Errorf("error %q does not name the URL %s/snapshot",
					msg, srv.URL)
			}
			if strings.Contains(msg, srv.Token) {
				t.Errorf("error %q contains the token", msg)
			}
		})
	}
}

func TestRead_WrongToken(t *testing.T) {
	srv := snaptest.Start(t, "ns")
	cfg := srv.Config("ns")
	cfg.Token = "wrong-token"
	src, err := httpsnap.New(cfg)
	if err != nil {
		t.Fatalf("new source: %v", err)
	}
	_, err = src.Read(context.Background(), "ns")
	if err == nil {
		t.Fatal("read with a wrong token succeeded")
	}
	if !strings.Contains(err.Error(), "401") ||
		!strings.Contains(err.Error(), "check the token") {
		t.Errorf("error %q does not name status 401 and the token", err)
	}
	if strings.Contains(err.Error(), "wrong-token") {
		t.Errorf("error %q contains the token", err)
	}
}

func TestRead_UnknownNamespace(t *testing.T) {
	srv := snaptest.Start(t, "ns")
	src := newSource(t, srv, "ns")
	_, err := src.Read(context.Background(), "other")
	if !errors.Is(err, source.ErrUnknownNamespace) {
		t.Errorf("error = %v, want ErrUnknownNamespace", err)
	}
}

func TestNamespaces(t *testing.T) {
	cfg := httpsnap.Config{Name: "src", URL: "http://127.0.0.1:1/x",
		Token: "t"}
	for _, tc := range []struct{ namespace, want string }{
		{"", "src"},
		{"custom", "custom"},
	} {
		cfg.Namespace = tc.namespace
		src, err := httpsnap.New(cfg)
		if err != nil {
			t.Fatalf("new source: %v", err)
		}
		got, err := src.Namespaces(context.Background())
		if err != nil {
			t.Fatalf("namespaces: %v", err)
		}
		if len(got) != 1 || got[0] != tc.want {
			t.Errorf("namespaces with namespace %q = %q, want [%s]",
				tc.namespace, got, tc.want)
		}
	}
}

func TestNew_Invalid(t *testing.T) {
	cases := []struct {
		name string
		cfg  httpsnap.Config
		want string
	}{
		{"no URL", httpsnap.Config{Name: "a", Token: "t"}, "missing URL"},
		{"bad scheme", httpsnap.Config{Name: "a", Token: "t",
			URL: "ftp://127.0.0.1/x"}, "not http or https"},
		{"credentials", httpsnap.Config{Name: "a", Token: "t",
			URL: "http://user:secret@127.0.0.1/x"}, "credentials"},
		{"query", httpsnap.Config{Name: "a", Token: "t",
			URL: "http://127.0.0.1/x?token=secret"}, "query"},
		{"no token", httpsnap.Config{Name: "a",
			URL: "http://127.0.0.1/x"}, "missing token"},
		{"no name", httpsnap.Config{Token: "t",
			URL: "http://127.0.0.1/x"}, "missing name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := httpsnap.New(tc.cfg)
			if err == nil {
				t.Fatal("New succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q contains the secret", err)
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	src, err := httpsnap.New(httpsnap.Config{Name: "a", Token: "tok",
		URL: "https://api.example.com/state/"})
	if err != nil {
		t.Fatalf("new source: %v", err)
	}
	want := "http snapshot https://api.example.com/state"
	if got := src.Describe(); got != want {
		t.Errorf("Describe() = %q, want %q", got, want)
	}
}
