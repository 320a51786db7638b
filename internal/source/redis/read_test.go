package redis_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/lifeline-backup/lifeline/internal/source"
	"github.com/lifeline-backup/lifeline/internal/source/redis"
	"github.com/lifeline-backup/lifeline/internal/source/redis/redistest"
)

func TestRead_ManyBatches(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	c := srv.Client(t)
	const n = 1234
	p := c.Pipeline()
	for i := range n {
		p.Set(ctx, fmt.Sprintf("k%d", i), i, 0)
	}
	if _, err := p.Exec(ctx); err != nil {
		t.Fatal(err)
	}

	src := newSource(t, redis.Config{URL: srv.URL(0), ScanCount: 50, Batch: 7})
	seen := map[string]bool{}
	for _, r := range readAll(t, src, "all") {
		seen[string(r.Key)] = true
	}
	if len(seen) != n {
		t.Errorf("read %d distinct keys, want %d", len(seen), n)
	}
}

func TestRead_KeyDeletedDuringIteration(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	c := srv.Client(t)
	const n = 200
	for i := range n {
		must(t, c.Set(ctx, fmt.Sprintf("k%03d", i), "v", 0).Err())
	}

	// With a COUNT far above the key count the first SCAN returns every
	// key, and Batch 1 dumps them one at a time. The reader runs a few
	// batches ahead, so after the first record only those batches can
	// still arrive: every other key is deleted before it is dumped.
	src := newSource(t, redis.Config{URL: srv.URL(0), ScanCount: 1000,
		Batch: 1})
	it, err := src.Read(ctx, "all")
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	defer it.Close()
	first, err := it.Next(ctx)
	if err != nil {
		t.Fatalf("first Next: %v", err)
	}
	must(t, c.FlushDB(ctx).Err())

	got := 1
	for {
		rec, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("Next after deletes: %v", err)
		}
		if string(rec.Key) == string(first.Key) {
			t.Errorf("key %q returned twice", rec.Key)
		}
		got++
	}
	if got >= n/2 {
		t.Errorf("read %d records after deleting all keys early, want "+
			"only the few read ahead", got)
	}
}

func TestRead_UnknownNamespace(t *testing.T) {
	srv := redistest.Start(t)
	src := newSource(t, redis.Config{URL: srv.URL(0)})
	_, err := src.Read(context.Background(), "nope")
	if !errors.Is(err, source.ErrUnknownNamespace) {
		t.Errorf("Read error %v, want ErrUnknownNamespace", err)
	}
	_, err = src.Write(context.Background(), "nope", nil,
		source.Replace, time.Now())
	if !errors.Is(err, source.ErrUnknownNamespace) {
		t.Errorf("Write error %v, want ErrUnknownNamespace", err)
	}
}

// closedAddr returns a 127.0.0.1 address where nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestUnreachable_ErrorNamesAddress(t *testing.T) {
	addr := closedAddr(t)
	src := newSource(t, redis.Config{
		URL: "redis://:s3cret-pw@" + addr + "/0",
	})
	ctx := context.Background()
	want := "connect to redis " + addr + ": "

	_, err := src.Namespaces(ctx)
	checkUnreachable(t, "Namespaces", err, want)
	_, err = src.Read(ctx, "all")
	checkUnreachable(t, "Read", err, want)
	_, err = src.Write(ctx, "all", []source.Record{{Key: []byte("k")}},
		source.Replace, time.Now())
	checkUnreachable(t, "Write", err, addr)
}

func checkUnreachable(t *testing.T, op string, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error from an unreachable server", op)
	}
	msg := err.Error()
	if !strings.Contains(msg, want) {
		t.Errorf("%s error %q does not contain %q", op, msg, want)
	}
	if !strings.Contains(msg, "connection refused") {
		t.Errorf("%s error %q does not give the cause", op, msg)
	}
	if strings.Contains(msg, "s3cret-pw") {
		t.Errorf("%s error %q contains the password", op, msg)
	}
}

func TestPassword_NeverShown(t *testing.T) {
	srv := redistest.Start(t, "--requirepass", "right-pw")
	ctx := context.Background()

	good := newSource(t, redis.Config{URL: "redis://:right-pw@" + srv.Addr + "/0"})
	if _, err := good.Namespaces(ctx); err != nil {
		t.Errorf("Namespaces with the right password: %v", err)
	}
	if got, want := good.Describe(), "redis "+srv.Addr; got != want {
		t.Errorf("Describe() = %q, want %q", got, want)
	}

	bad := newSource(t, redis.Config{URL: "redis://:wrong-pw@" + srv.Addr + "/0"})
	_, err := bad.Namespaces(ctx)
	if err == nil {
		t.Fatal("Namespaces with a wrong password: no error")
	}
	if strings.Contains(err.Error(), "wrong-pw") {
		t.Errorf("error %q contains the password", err)
	}
	if !strings.Contains(err.Error(), srv.Addr) {
		t.Errorf("error %q does not name the address", err)
	}
}

func TestNew_InvalidConfig(t *testing.T) {
	const url = "redis://127.0.0.1:6379/0"
	tests := []struct {
		name string
		cfg  redis.Config
	}{
		{"missing URL", redis.Config{}},
		{"bad scheme", redis.Config{URL: "http://127.0.0.1:6379"}},
		{"bad database", redis.Config{URL: "redis://127.0.0.1:6379/x"}},
		{"negative scan count", redis.Config{URL: url, ScanCount: -1}},
		{"negative batch", redis.Config{URL: url, Batch: -1}},
		{"unnamed namespace", redis.Config{URL: url,
			Namespaces: []redis.Namespace{{DB: -1}}}},
		{"repeated namespace", redis.Config{URL: url,
			Namespaces: []redis.Namespace{{Name: "a"}, {Name: "a"}}}},
		{"negative database", redis.Config{URL: url,
			Namespaces: []redis.Namespace{{Name: "a", DB: -2}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := redis.New(tt.cfg); err == nil {
				t.Errorf("New(%+v) returned no error", tt.cfg)
			}
		})
	}
}

func TestNew_URLErrorHidesPassword(t *testing.T) {
	_, err := redis.New(redis.Config{URL: "redis://:s3cret-pw@127.0.0.1:bad/0"})
	if err == nil {
		t.Fatal("New with an invalid port: no error")
	}
	if strings.Contains(err.Error(), "s3cret-pw") {
		t.Errorf("error %q contains the password", err)
	}
}
