package redis_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lifeline-backup/lifeline/internal/source"
	"github.com/lifeline-backup/lifeline/internal/source/redis"
	"github.com/lifeline-backup/lifeline/internal/source/redis/redistest"
)

// rdbDir returns the folder of shared RDB test files, found next to the
// module root.
func rdbDir(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
	return filepath.Join(dir, "..", "shared", "data", "redis-rdb")
}

func newSource(t *testing.T, cfg redis.Config) *redis.Source {
	t.Helper()
	src, err := redis.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

// readAll reads a whole namespace and copies each record, because the
// iterator may reuse them.
func readAll(t *testing.T, src source.Source, ns string) []source.Record {
	t.Helper()
	ctx := context.Background()
	it, err := src.Read(ctx, ns)
	if err != nil {
		t.Fatalf("Read(%q): %v", ns, err)
	}
	defer it.Close()
	var out []source.Record
	for {
		rec, err := it.Next(ctx)
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("Next in %q: %v", ns, err)
		}
		c := *rec
		c.Key = bytes.Clone(rec.Key)
		c.Value = bytes.Clone(rec.Value)
		out = append(out, c)
	}
}

func write(t *testing.T, src source.Source, ns string,
	recs []source.Record, mode source.WriteMode) source.WriteResult {
	t.Helper()
	res, err := src.Write(context.Background(), ns, recs, mode, time.Now())
	if err != nil {
		t.Fatalf("Write(%q): %v", ns, err)
	}
	return res
}

func TestRoundTrip_RDBFiles(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(rdbDir(t), "*.rdb"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no RDB files in %s", rdbDir(t))
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			from := redistest.StartWithRDB(t, file)
			to := redistest.Start(t)
			ctx := context.Background()
			keys, err := from.Client(t).DBSize(ctx).Result()
			if err != nil {
				t.Fatal(err)
			}
			if keys == 0 {
				t.Fatalf("server loaded no keys from %s", file)
			}

			recs := readAll(t, newSource(t, redis.Config{URL: from.URL(0)}), "all")
			if int64(len(recs)) != keys {
				t.Errorf("read %d records, want %d", len(recs), keys)
			}
			dst := newSource(t, redis.Config{URL: to.URL(0)})
			res := write(t, dst, "all", recs, source.Replace)
			if res.Written != keys {
				t.Errorf("Written = %d, want %d", res.Written, keys)
			}

			got, want := redistest.Digest(t, to), redistest.Digest(t, from)
			if got != want {
				t.Errorf("restored digest %s, want %s", got, want)
			}
		})
	}
}

func TestRoundTrip_Expiry(t *testing.T) {
	from, to := redistest.Start(t), redistest.Start(t)
	ctx := context.Background()
	fc := from.Client(t)
	if err := fc.Set(ctx, "session", "v", 90*time.Second).Err(); err != nil {
		t.Fatal(err)
	}
	if err := fc.Set(ctx, "plain", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}

	recs := readAll(t, newSource(t, redis.Config{URL: from.URL(0)}), "all")
	byKey := map[string]source.Record{}
	for _, r := range recs {
		byKey[string(r.Key)] = r
	}
	if !byKey["plain"].ExpiresAt.IsZero() {
		t.Errorf("plain: ExpiresAt = %v, want zero", byKey["plain"].ExpiresAt)
	}
	want, err := fc.PExpireTime(ctx, "session").Result()
	if err != nil {
		t.Fatal(err)
	}
	gotRead := byKey["session"].ExpiresAt.Sub(time.UnixMilli(want.Milliseconds()))
	if gotRead < -time.Second || gotRead > time.Second {
		t.Errorf("session: ExpiresAt off by %v from PEXPIRETIME", gotRead)
	}

	write(t, newSource(t, redis.Config{URL: to.URL(0)}), "all",
		recs, source.Replace)
	tc := to.Client(t)
	got, err := tc.PExpireTime(ctx, "session").Result()
	if err != nil {
		t.Fatal(err)
	}
	if diff := got - want; diff < -time.Second || diff > time.Second {
		t.Errorf("restored PEXPIRETIME %v, want %v within 1s", got, want)
	}
	if ttl := tc.PTTL(ctx, "plain").Val(); ttl != -1 {
		t.Errorf("plain: restored PTTL = %v, want -1 (no expiry)", ttl)
	}
}

func TestWrite_SkipsExpired(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	payload := dumpOf(t, srv, "v")
	now := time.Now()
	recs := []source.Record{
		{Key: []byte("gone"), Value: payload, ExpiresAt: now.Add(-time.Second)},
		{Key: []byte("now"), Value: payload, ExpiresAt: now},
		{Key: []byte("live"), Value: payload, ExpiresAt: now.Add(time.Hour)},
	}
	dst := newSource(t, redis.Config{URL: srv.URL(0)})
	res, err := dst.Write(ctx, "all", recs, source.Replace, now)
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	if res.Expired != 2 {
		t.Errorf("Expired = %d, want 2", res.Expired)
	}
	if res.Written != 1 {
		t.Errorf("Written = %d, want 1", res.Written)
	}
	n, err := srv.Client(t).Exists(ctx, "gone", "now").Result()
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d expired keys were written, want 0", n)
	}
}

// dumpOf returns the DUMP payload of a string value, made on srv.
func dumpOf(t *testing.T, srv *redistest.Server, value string) []byte {
	t.Helper()
	ctx := context.Background()
	c := srv.Client(t)
	if err := c.Set(ctx, "dumpOf:tmp", value, 0).Err(); err != nil {
		t.Fatal(err)
	}
	b, err := c.Dump(ctx, "dumpOf:tmp").Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Del(ctx, "dumpOf:tmp").Err(); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestWrite_KeepExistingConflict(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	c := srv.Client(t)
	recs := []source.Record{
		{Key: []byte("taken"), Value: dumpOf(t, srv, "new")},
		{Key: []byte("free"), Value: dumpOf(t, srv, "new")},
	}
	if err := c.Set(ctx, "taken", "old", 0).Err(); err != nil {
		t.Fatal(err)
	}

	dst := newSource(t, redis.Config{URL: srv.URL(0)})
	res := write(t, dst, "all", recs, source.KeepExisting)
	if len(res.Conflicts) != 1 || string(res.Conflicts[0]) != "taken" {
		t.Errorf("Conflicts = %q, want [taken]", res.Conflicts)
	}
	if res.Written != 1 {
		t.Errorf("Written = %d, want 1", res.Written)
	}
	if got := c.Get(ctx, "taken").Val(); got != "old" {
		t.Errorf("taken = %q, want the existing value old", got)
	}
	if got := c.Get(ctx, "free").Val(); got != "new" {
		t.Errorf("free = %q, want new", got)
	}
}

func TestWrite_ReplaceOverwrites(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	c := srv.Client(t)
	recs := []source.Record{{Key: []byte("k"), Value: dumpOf(t, srv, "new")}}
	if err := c.Set(ctx, "k", "old", 0).Err(); err != nil {
		t.Fatal(err)
	}

	dst := newSource(t, redis.Config{URL: srv.URL(0)})
	res := write(t, dst, "all", recs, source.Replace)
	if len(res.Conflicts) != 0 {
		t.Errorf("Conflicts = %q, want none", res.Conflicts)
	}
	if got := c.Get(ctx, "k").Val(); got != "new" {
		t.Errorf("k = %q, want new", got)
	}
}

func TestWrite_Tombstones(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	c := srv.Client(t)
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	dst := newSource(t, redis.Config{URL: srv.URL(0)})
	recs := []source.Record{{Key: []byte("k"), Deleted: true}}

	res := write(t, dst, "all", recs, source.KeepExisting)
	if res.Deleted != 0 {
		t.Errorf("KeepExisting: Deleted = %d, want 0", res.Deleted)
	}
	if n := c.Exists(ctx, "k").Val(); n != 1 {
		t.Errorf("KeepExisting deleted the key")
	}

	res = write(t, dst, "all", recs, source.Replace)
	if res.Deleted != 1 {
		t.Errorf("Replace: Deleted = %d, want 1", res.Deleted)
	}
	if n := c.Exists(ctx, "k").Val(); n != 0 {
		t.Errorf("Replace left the key in place")
	}
}

func TestRoundTrip_BinaryAndEmpty(t *testing.T) {
	from, to := redistest.Start(t), redistest.Start(t)
	ctx := context.Background()
	values := map[string]string{
		"\x00\xff\r\n key": "\x00\x01\xfe\xff\r\n",
		"empty":            "",
		"":                 "empty key",
	}
	fc := from.Client(t)
	for k, v := range values {
		if err := fc.Set(ctx, k, v, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}

	recs := readAll(t, newSource(t, redis.Config{URL: from.URL(0)}), "all")
	if len(recs) != len(values) {
		t.Fatalf("read %d records, want %d", len(recs), len(values))
	}
	write(t, newSource(t, redis.Config{URL: to.URL(0)}), "all",
		recs, source.Replace)

	tc := to.Client(t)
	for k, want := range values {
		got, err := tc.Get(ctx, k).Result()
		if err != nil {
			t.Errorf("GET %q: %v", k, err)
			continue
		}
		if got != want {
			t.Errorf("GET %q = %q, want %q", k, got, want)
		}
	}
	if got, want := redistest.Digest(t, to), redistest.Digest(t, from); got != want {
		t.Errorf("restored digest %s, want %s", got, want)
	}
}

func TestNamespaces_DatabaseNumbers(t *testing.T) {
	from, to := redistest.Start(t), redistest.Start(t)
	ctx := context.Background()
	fc := from.Client(t)
	// SELECT changes the connection, so every command runs on one.
	conn := fc.Conn()
	defer conn.Close()
	must(t, conn.Set(ctx, "user:1", "a", 0).Err())
	must(t, conn.Set(ctx, "other", "b", 0).Err())
	must(t, conn.Select(ctx, 3).Err())
	must(t, conn.Set(ctx, "user:3", "c", 0).Err())

	cfg := func(url string) redis.Config {
		return redis.Config{URL: url, Namespaces: []redis.Namespace{
			{Name: "users", Match: "user:*", DB: -1},
			{Name: "three", DB: 3},
		}}
	}
	src := newSource(t, cfg(from.URL(0)))
	names, err := src.Namespaces(ctx)
	if err != nil {
		t.Fatalf("Namespaces: %v", err)
	}
	if strings.Join(names, ",") != "users,three" {
		t.Errorf("Namespaces = %q, want [users three]", names)
	}

	users := readAll(t, src, "users")
	if len(users) != 1 || string(users[0].Key) != "user:1" {
		t.Errorf("users read %q, want only user:1", keysOf(users))
	}
	three := readAll(t, src, "three")
	if len(three) != 1 || string(three[0].Key) != "user:3" {
		t.Errorf("three read %q, want only user:3", keysOf(three))
	}

	urlDB := readAll(t, newSource(t, redis.Config{URL: from.URL(3)}), "all")
	if len(urlDB) != 1 || string(urlDB[0].Key) != "user:3" {
		t.Errorf("URL database 3 read %q, want only user:3", keysOf(urlDB))
	}

	dst := newSource(t, cfg(to.URL(0)))
	write(t, dst, "users", users, source.Replace)
	write(t, dst, "three", three, source.Replace)
	tc := to.Client(t).Conn()
	defer tc.Close()
	if got := tc.Get(ctx, "user:1").Val(); got != "a" {
		t.Errorf("db 0 user:1 = %q, want a", got)
	}
	must(t, tc.Select(ctx, 3).Err())
	if got := tc.Get(ctx, "user:3").Val(); got != "c" {
		t.Errorf("db 3 user:3 = %q, want c", got)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func keysOf(recs []source.Record) []string {
	keys := make([]string, len(recs))
	for i, r := range recs {
		keys[i] = string(r.Key)
	}
	return keys
}
