package redis_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/lifeline-backup/lifeline/internal/source"
	"github.com/lifeline-backup/lifeline/internal/source/redis"
	"github.com/lifeline-backup/lifeline/internal/source/redis/redistest"
)

// TestSameValue_RDBRoundTrip restores encodings.rdb into a second server
// and compares every key both ways. Its sets in the hashtable encoding
// give other DUMP bytes after RESTORE.
func TestSameValue_RDBRoundTrip(t *testing.T) {
	from := redistest.StartWithRDB(t,
		filepath.Join(rdbDir(t), "encodings.rdb"))
	to := redistest.Start(t)
	fromSrc := newSource(t, redis.Config{URL: from.URL(0)})
	toSrc := newSource(t, redis.Config{URL: to.URL(0)})

	recs := readAll(t, fromSrc, "all")
	if len(recs) == 0 {
		t.Fatal("read no records from encodings.rdb")
	}
	write(t, toSrc, "all", recs, source.Replace)

	differ := differentDumps(t, to.Client(t), recs)
	if len(differ) == 0 {
		t.Fatal("every key has the same DUMP bytes after RESTORE, " +
			"so the test does not exercise the comparison by type")
	}
	t.Logf("keys with other DUMP bytes after RESTORE: %q", differ)
	checkDigestValues(t, from.Client(t), to.Client(t), differ)

	for _, rec := range recs {
		checkSame(t, toSrc, "all", rec.Key, rec.Value, true)
	}
	for _, rec := range readAll(t, toSrc, "all") {
		checkSame(t, fromSrc, "all", rec.Key, rec.Value, true)
	}
	checkNoTempKeys(t, to.Client(t))
	checkNoTempKeys(t, from.Client(t))
}

// differentDumps returns the keys of recs whose DUMP on c differs from
// the record's value.
func differentDumps(t *testing.T, c *goredis.Client,
	recs []source.Record) []string {
	t.Helper()
	var keys []string
	for _, rec := range recs {
		got := dumpKey(t, c, string(rec.Key))
		if !bytes.Equal(got, rec.Value) {
			keys = append(keys, string(rec.Key))
		}
	}
	return keys
}

// checkDigestValues confirms with DEBUG DIGEST-VALUE that each key holds
// the same data on both servers.
func checkDigestValues(t *testing.T, a, b *goredis.Client, keys []string) {
	t.Helper()
	ctx := context.Background()
	for _, k := range keys {
		x, err := a.Do(ctx, "DEBUG", "DIGEST-VALUE", k).Slice()
		must(t, err)
		y, err := b.Do(ctx, "DEBUG", "DIGEST-VALUE", k).Slice()
		must(t, err)
		if fmt.Sprint(x) != fmt.Sprint(y) {
			t.Errorf("DIGEST-VALUE of %q: %v and %v, want equal", k, x, y)
		}
	}
}

// TestSameValue_InsertionOrder compares keys built in opposite orders,
// on a database other than 0.
func TestSameValue_InsertionOrder(t *testing.T) {
	srv := redistest.Start(t)
	c := clientDB(t, srv, 2)
	src := newSource(t, redis.Config{
		URL:        srv.URL(0),
		Namespaces: []redis.Namespace{{Name: "db2", DB: 2}},
	})
	ctx := context.Background()

	members := make([]string, 300)
	for i := range members {
		members[i] = fmt.Sprintf("member-%03d", i)
	}

	cases := []struct {
		name    string
		members []string
		add     func(key string, order []string)
		// differ is true when the DUMP bytes must differ.
		differ bool
	}{
		{"set hashtable", members, func(key string, order []string) {
			must(t, c.SAdd(ctx, key, anys(order)...).Err())
		}, true},
		{"hash hashtable", members, func(key string, order []string) {
			must(t, c.HSet(ctx, key, pairs(order)...).Err())
		}, true},
		{"hash listpack", members[:10], func(key string, order []string) {
			must(t, c.HSet(ctx, key, pairs(order)...).Err())
		}, true},
		{"zset skiplist", members, func(key string, order []string) {
			for _, m := range order {
				// The last digit as score gives ties, which ZRANGE
				// orders by member.
				score := float64(m[len(m)-1] - '0')
				z := goredis.Z{Score: score, Member: m}
				must(t, c.ZAdd(ctx, key, z).Err())
			}
		}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			reversed := slices.Clone(tc.members)
			slices.Reverse(reversed)
			tc.add("forward", tc.members)
			tc.add("backward", reversed)
			defer c.Del(ctx, "forward", "backward")

			backward := dumpKey(t, c, "backward")
			forward := dumpKey(t, c, "forward")
			if tc.differ && bytes.Equal(forward, backward) {
				t.Fatal("DUMP bytes are equal, want them to differ")
			}
			checkSame(t, src, "db2", []byte("forward"), backward, true)
		})
	}
	checkNoTempKeys(t, c)
	checkNoTempKeys(t, srv.Client(t))
}

// TestSameValue_DifferentData compares a key with values that differ
// from it in one detail each.
func TestSameValue_DifferentData(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client(t)
	src := newSource(t, redis.Config{URL: srv.URL(0)})
	ctx := context.Background()
	do := func(args ...any) {
		t.Helper()
		must(t, c.Do(ctx, args...).Err())
	}

	cases := []struct {
		name  string
		key   func(k string)
		other func(k string)
	}{
		{"string", func(k string) { do("SET", k, "a") },
			func(k string) { do("SET", k, "b") }},
		{"type", func(k string) { do("SET", k, "a") },
			func(k string) { do("RPUSH", k, "a") }},
		{"list order", func(k string) { do("RPUSH", k, "a", "b") },
			func(k string) { do("RPUSH", k, "b", "a") }},
		{"set member missing", func(k string) { do("SADD", k, "a", "b") },
			func(k string) { do("SADD", k, "a") }},
		{"set member other", func(k string) { do("SADD", k, "a", "b") },
			func(k string) { do("SADD", k, "a", "c") }},
		{"hash value", func(k string) { do("HSET", k, "f", "1") },
			func(k string) { do("HSET", k, "f", "2") }},
		{"hash extra field", func(k string) { do("HSET", k, "f", "1") },
			func(k string) { do("HSET", k, "f", "1", "g", "1") }},
		{"zset score", func(k string) { do("ZADD", k, 1, "a") },
			func(k string) { do("ZADD", k, 2, "a") }},
		{"zset member", func(k string) { do("ZADD", k, 1, "a") },
			func(k string) { do("ZADD", k, 1, "b") }},
		{"stream entry", func(k string) { do("XADD", k, "1-1", "f", "v") },
			func(k string) { do("XADD", k, "1-1", "f", "w") }},
		{"stream field order",
			func(k string) { do("XADD", k, "1-1", "f", "v", "g", "v") },
			func(k string) { do("XADD", k, "1-1", "g", "v", "f", "v") }},
		{"stream last ID",
			func(k string) { do("XADD", k, "1-1", "f", "v") },
			func(k string) {
				do("XADD", k, "1-1", "f", "v")
				do("XSETID", k, "5-0")
			}},
		{"stream groups",
			func(k string) { do("XADD", k, "1-1", "f", "v") },
			func(k string) {
				do("XADD", k, "1-1", "f", "v")
				do("XGROUP", "CREATE", k, "g", "0")
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.other("other")
			value := dumpKey(t, c, "other")
			do("DEL", "other")
			tc.key("key")
			defer do("DEL", "key")

			checkSame(t, src, "all", []byte("key"), value, false)
		})
	}
	checkNoTempKeys(t, c)
}

func TestSameValue_MissingKey(t *testing.T) {
	srv := redistest.Start(t)
	src := newSource(t, redis.Config{URL: srv.URL(0)})
	value := dumpOf(t, srv, "v")

	checkSame(t, src, "all", []byte("missing"), value, false)
	checkNoTempKeys(t, srv.Client(t))
}

func TestSameValue_InvalidPayload(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client(t)
	src := newSource(t, redis.Config{URL: srv.URL(0)})
	ctx := context.Background()
	must(t, c.Set(ctx, "key", "v", 0).Err())

	const payload = "not-a-dump-payload"
	same, err := src.SameValue(ctx, "all", []byte("key"), []byte(payload))
	if err == nil {
		t.Fatalf("SameValue = %v and no error, want an error", same)
	}
	if strings.Contains(err.Error(), payload) {
		t.Errorf("error %q contains the value", err)
	}
	if !strings.Contains(err.Error(), srv.Addr) {
		t.Errorf("error %q does not name the server %s", err, srv.Addr)
	}
	checkNoTempKeys(t, c)
}

func TestSameValue_UnknownNamespace(t *testing.T) {
	srv := redistest.Start(t)
	src := newSource(t, redis.Config{URL: srv.URL(0)})
	value := dumpOf(t, srv, "v")

	_, err := src.SameValue(context.Background(), "nope",
		[]byte("key"), value)
	if !errors.Is(err, source.ErrUnknownNamespace) {
		t.Errorf("SameValue error = %v, want ErrUnknownNamespace", err)
	}
}

func checkSame(t *testing.T, src *redis.Source, ns string,
	key, value []byte, want bool) {
	t.Helper()
	got, err := src.SameValue(context.Background(), ns, key, value)
	if err != nil {
		t.Errorf("SameValue(%q): %v", key, err)
		return
	}
	if got != want {
		t.Errorf("SameValue(%q) = %v, want %v", key, got, want)
	}
}

// checkNoTempKeys fails the test when c's database holds a temporary
// key of SameValue.
func checkNoTempKeys(t *testing.T, c *goredis.Client) {
	t.Helper()
	ctx := context.Background()
	iter := c.Scan(ctx, 0, "lifeline:cmp:*", 100).Iterator()
	for iter.Next(ctx) {
		t.Errorf("temporary key %s left behind", iter.Val())
	}
	must(t, iter.Err())
}

// dumpKey returns the DUMP payload of key, failing the test when the
// key is missing.
func dumpKey(t *testing.T, c *goredis.Client, key string) []byte {
	t.Helper()
	b, err := c.Dump(context.Background(), key).Bytes()
	if err != nil {
		t.Fatalf("DUMP %q: %v", key, err)
	}
	return b
}

// clientDB returns a client for database db of srv, closed when the
// test ends.
func clientDB(t *testing.T, srv *redistest.Server, db int) *goredis.Client {
	t.Helper()
	c := goredis.NewClient(&goredis.Options{
		Addr:            srv.Addr,
		DB:              db,
		DisableIdentity: true,
	})
	t.Cleanup(func() { c.Close() })
	return c
}

func anys(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// pairs returns field-value arguments for HSET, each field's value
// being the field itself.
func pairs(fields []string) []any {
	out := make([]any, 0, 2*len(fields))
	for _, f := range fields {
		out = append(out, f, f)
	}
	return out
}
