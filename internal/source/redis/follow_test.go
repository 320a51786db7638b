package redis_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/lifeline-backup/lifeline/internal/source"
	"github.com/lifeline-backup/lifeline/internal/source/redis"
	"github.com/lifeline-backup/lifeline/internal/source/redis/redistest"
)

// followed starts a server with keyspace notifications off and a source
// that follows it, with namespace "all" on database 0 and "users" for
// the keys "user:*" on database 1.
func followed(t *testing.T) (*redistest.Server, *redis.Source) {
	t.Helper()
	srv := redistest.Start(t, "--notify-keyspace-events", "")
	src := newSource(t, redis.Config{URL: srv.URL(0),
		Namespaces: []redis.Namespace{
			{Name: "all", DB: 0},
			{Name: "users", Match: "user:*", DB: 1},
		}})
	if err := src.Follow(context.Background()); err != nil {
		t.Fatalf("Follow: %v", err)
	}
	return srv, src
}

// plainClient returns a client for database db of srv.
func plainClient(t *testing.T, srv *redistest.Server, db int) *goredis.Client {
	t.Helper()
	c := goredis.NewClient(&goredis.Options{Addr: srv.Addr, DB: db,
		DisableIdentity: true})
	t.Cleanup(func() { c.Close() })
	return c
}

// cursorOf reads the namespace whole and returns the read's cursor.
func cursorOf(t *testing.T, src *redis.Source, ns string) []byte {
	t.Helper()
	ctx := context.Background()
	it, err := src.Read(ctx, ns)
	if err != nil {
		t.Fatalf("Read(%q): %v", ns, err)
	}
	defer it.Close()
	for {
		if _, err := it.Next(ctx); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("Next: %v", err)
		}
	}
	c := it.(source.Cursored).Cursor()
	if c == nil {
		t.Fatalf("a read of %q while following has no cursor", ns)
	}
	return c
}

// changes lists the changes of ns after cursor as "key=value" for
// records, "key deleted" for tombstones, sorted, and the new cursor.
func changes(t *testing.T, src *redis.Source, ns string,
	cursor []byte) ([]string, []byte) {
	t.Helper()
	ctx := context.Background()
	it, err := src.Changes(ctx, ns, cursor)
	if err != nil {
		t.Fatalf("Changes(%q): %v", ns, err)
	}
	defer it.Close()
	var out []string
	for {
		rec, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		if rec.Deleted {
			out = append(out, string(rec.Key)+" deleted")
			continue
		}
		out = append(out, fmt.Sprintf("%s=%s", rec.Key,
			dumpedString(t, rec.Value)))
	}
	slices.Sort(out)
	return out, it.(source.Cursored).Cursor()
}

// dumpedString returns the string in a DUMP payload of a short string,
// which Redis stores as type byte 0, a one-byte length and the bytes.
func dumpedString(t *testing.T, dump []byte) string {
	t.Helper()
	if len(dump) < 2 || dump[0] != 0 || int(dump[1]) > len(dump)-2 {
		return fmt.Sprintf("<dump of %d bytes>", len(dump))
	}
	return string(dump[2 : 2+int(dump[1])])
}

func TestFollow_TurnsOnNotifications(t *testing.T) {
	srv, _ := followed(t)
	cfg, err := srv.Client(t).ConfigGet(context.Background(),
		"notify-keyspace-events").Result()
	if err != nil {
		t.Fatal(err)
	}
	flags := cfg["notify-keyspace-events"]
	if !strings.Contains(flags, "E") || !strings.Contains(flags, "A") {
		t.Errorf("notify-keyspace-events = %q after Follow, want E and A",
			flags)
	}
}

func TestFollow_ChangesListOnlyChangedKeys(t *testing.T) {
	srv, src := followed(t)
	ctx := context.Background()
	db0, db1 := plainClient(t, srv, 0), plainClient(t, srv, 1)
	for i := range 500 {
		db0.Set(ctx, fmt.Sprintf("k%03d", i), "old", 0)
		db1.Set(ctx, fmt.Sprintf("user:%03d", i), "old", 0)
		db1.Set(ctx, fmt.Sprintf("order:%03d", i), "old", 0)
	}
	all, users := cursorOf(t, src, "all"), cursorOf(t, src, "users")

	db0.Set(ctx, "k001", "new", 0)
	db0.Del(ctx, "k002")
	db0.Expire(ctx, "k003", time.Hour)
	db0.Rename(ctx, "k004", "moved")
	db0.Set(ctx, "brief", "x", 0)
	db0.Del(ctx, "brief")
	db0.Move(ctx, "k005", 1)
	db1.Set(ctx, "user:001", "new", 0)
	db1.Set(ctx, "order:001", "new", 0)
	db1.Del(ctx, "user:002")

	got, next := changes(t, src, "all", all)
	want := []string{"brief deleted", "k001=new", "k002 deleted",
		"k003=old", "k004 deleted", "k005 deleted", "moved=old"}
	if !slices.Equal(got, want) {
		t.Errorf("changes of all = %q, want %q", got, want)
	}
	got, _ = changes(t, src, "users", users)
	want = []string{"user:001=new", "user:002 deleted"}
	if !slices.Equal(got, want) {
		t.Errorf("changes of users = %q, want %q", got, want)
	}

	// Until a newer cursor is asked for, the first one still lists
	// everything since it, so a backup that failed to commit can be
	// taken again.
	db0.Set(ctx, "k010", "newer", 0)
	got, _ = changes(t, src, "all", all)
	if len(got) != 8 {
		t.Errorf("changes after the first cursor again = %q, want 8", got)
	}
	// The new cursor lists only what changed after it.
	got, _ = changes(t, src, "all", next)
	if want := []string{"k010=newer"}; !slices.Equal(got, want) {
		t.Errorf("changes after the second cursor = %q, want %q", got, want)
	}
	// Once it has been asked for, the older cursor expires.
	if _, err := src.Changes(ctx, "all", all); !errors.Is(err,
		source.ErrCursorExpired) {
		t.Errorf("Changes after an older cursor: %v, want "+
			"ErrCursorExpired", err)
	}
}

func TestFollow_ExpiredKeyBecomesTombstone(t *testing.T) {
	srv, src := followed(t)
	ctx := context.Background()
	db0 := plainClient(t, srv, 0)
	db0.Set(ctx, "short", "v", 0)
	db0.Set(ctx, "long", "v", 0)
	cursor := cursorOf(t, src, "all")
	db0.PExpire(ctx, "short", time.Millisecond)
	time.Sleep(20 * time.Millisecond)
	// A read deletes the expired key, which Redis then notifies.
	db0.Exists(ctx, "short")
	got, _ := changes(t, src, "all", cursor)
	if want := []string{"short deleted"}; !slices.Equal(got, want) {
		t.Errorf("changes = %q, want %q", got, want)
	}
}

// TestFollow_UnnotifiedWritesExpireCursors runs each write that Redis
// does not notify, or that stops the notifications, between a read and
// the next Changes, which must then report the cursor expired. A read
// after it must carry a cursor that works again.
func TestFollow_UnnotifiedWritesExpireCursors(t *testing.T) {
	cases := []struct {
		name string
		// setup, if set, runs before the cursor is made.
		setup func(ctx context.Context, c *goredis.Client) error
		write func(ctx context.Context, c *goredis.Client) error
	}{
		{"flushdb", nil, func(ctx context.Context, c *goredis.Client) error {
			return c.FlushDB(ctx).Err()
		}},
		{"flushall", nil, func(ctx context.Context, c *goredis.Client) error {
			return c.FlushAll(ctx).Err()
		}},
		{"swapdb", nil, func(ctx context.Context, c *goredis.Client) error {
			return c.Do(ctx, "SWAPDB", 0, 2).Err()
		}},
		{"notifications off", nil, func(ctx context.Context, c *goredis.Client) error {
			return c.ConfigSet(ctx, "notify-keyspace-events", "").Err()
		}},
		{"debug reload", nil, func(ctx context.Context, c *goredis.Client) error {
			return c.Do(ctx, "DEBUG", "RELOAD").Err()
		}},
		{"flush inside a script", nil, func(ctx context.Context, c *goredis.Client) error {
			return c.Eval(ctx, "return redis.call('FLUSHDB')", nil).Err()
		}},
		{"fewer notifications", nil, func(ctx context.Context, c *goredis.Client) error {
			return c.ConfigSet(ctx, "notify-keyspace-events", "Ex").Err()
		}},
		{"flushdb hidden by resetstat",
			func(ctx context.Context, c *goredis.Client) error {
				return c.ConfigResetStat(ctx).Err()
			},
			func(ctx context.Context, c *goredis.Client) error {
				if err := c.FlushDB(ctx).Err(); err != nil {
					return err
				}
				return c.ConfigResetStat(ctx).Err()
			}},
		{"stream consumer group read",
			func(ctx context.Context, c *goredis.Client) error {
				c.XAdd(ctx, &goredis.XAddArgs{Stream: "s",
					Values: []string{"f", "v"}})
				return c.XGroupCreate(ctx, "s", "g", "0").Err()
			},
			func(ctx context.Context, c *goredis.Client) error {
				return c.XReadGroup(ctx, &goredis.XReadGroupArgs{
					Group: "g", Consumer: "c", Streams: []string{"s", ">"},
					Count: 1}).Err()
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, src := followed(t)
			ctx := context.Background()
			c := srv.Client(t)
			c.Set(ctx, "a", "1", 0)
			if tc.setup != nil {
				if err := tc.setup(ctx, c); err != nil {
					t.Fatalf("setup: %v", err)
				}
			}
			cursor := cursorOf(t, src, "all")
			if err := tc.write(ctx, c); err != nil {
				t.Fatalf("write: %v", err)
			}
			_, err := src.Changes(ctx, "all", cursor)
			if !errors.Is(err, source.ErrCursorExpired) {
				t.Fatalf("Changes after %s: %v, want ErrCursorExpired",
					tc.name, err)
			}
			// The next cursor works again: the follower turned the
			// notifications back on where they were off.
			cursor = cursorOf(t, src, "all")
			c.Set(ctx, "b", "two", 0)
			got, _ := changes(t, src, "all", cursor)
			if want := []string{"b=two"}; !slices.Equal(got, want) {
				t.Errorf("changes after a new read = %q, want %q", got, want)
			}
		})
	}
}

func TestFollow_LostSubscriptionExpiresCursors(t *testing.T) {
	srv, src := followed(t)
	ctx := context.Background()
	c := srv.Client(t)
	cursor := cursorOf(t, src, "all")
	if err := c.Do(ctx, "CLIENT", "KILL", "TYPE", "pubsub").Err(); err != nil {
		t.Fatalf("CLIENT KILL: %v", err)
	}
	c.Set(ctx, "missed", "1", 0)
	_, err := src.Changes(ctx, "all", cursor)
	if !errors.Is(err, source.ErrCursorExpired) {
		t.Fatalf("Changes after the subscription was killed: %v, "+
			"want ErrCursorExpired", err)
	}

	// The follower subscribes again; wait for a read with a cursor.
	var fresh []byte
	for range 100 {
		it, err := src.Read(ctx, "all")
		if err != nil {
			t.Fatal(err)
		}
		fresh = it.(source.Cursored).Cursor()
		it.Close()
		if fresh != nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if fresh == nil {
		t.Fatal("no read carried a cursor again after 5 s")
	}
	c.Set(ctx, "after", "yes", 0)
	got, _ := changes(t, src, "all", fresh)
	if want := []string{"after=yes"}; !slices.Equal(got, want) {
		t.Errorf("changes after resubscribing = %q, want %q", got, want)
	}
}

func TestFollow_CursorOfAnotherProcessExpires(t *testing.T) {
	srv, src := followed(t)
	cursor := cursorOf(t, src, "all")
	other := newSource(t, redis.Config{URL: srv.URL(0)})
	ctx := context.Background()
	if _, err := other.Changes(ctx, "all", cursor); !errors.Is(err,
		source.ErrCursorExpired) {
		t.Errorf("Changes on a source that does not follow: %v, want "+
			"ErrCursorExpired", err)
	}
	if err := other.Follow(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Changes(ctx, "all", cursor); !errors.Is(err,
		source.ErrCursorExpired) {
		t.Errorf("Changes with another follower's cursor: %v, want "+
			"ErrCursorExpired", err)
	}
	if _, err := other.Changes(ctx, "all", []byte("junk")); !errors.Is(err,
		source.ErrCursorExpired) {
		t.Errorf("Changes with a junk cursor: %v, want ErrCursorExpired", err)
	}
}

func TestFollow_RefusesReplica(t *testing.T) {
	primary := redistest.Start(t)
	replica := redistest.Start(t)
	host, port, _ := strings.Cut(primary.Addr, ":")
	ctx := context.Background()
	if err := replica.Client(t).Do(ctx, "REPLICAOF", host, port).Err(); err != nil {
		t.Fatal(err)
	}
	src := newSource(t, redis.Config{URL: replica.URL(0)})
	err := src.Follow(ctx)
	if err == nil || !strings.Contains(err.Error(), "follow the primary") {
		t.Errorf("Follow on a replica: %v, want a refusal that names "+
			"the primary", err)
	}
}

func TestFollow_ReadWithoutFollowingHasNoCursor(t *testing.T) {
	srv := redistest.Start(t)
	src := newSource(t, redis.Config{URL: srv.URL(0)})
	it, err := src.Read(context.Background(), "all")
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	if c := it.(source.Cursored).Cursor(); c != nil {
		t.Errorf("cursor = %x without following, want nil", c)
	}
}

func TestFollow_DumpMatchesRead(t *testing.T) {
	srv, src := followed(t)
	ctx := context.Background()
	c := srv.Client(t)
	cursor := cursorOf(t, src, "all")
	c.HSet(ctx, "h", "f", "v")
	c.RPush(ctx, "l", "a", "b")
	c.Set(ctx, "s", "v", time.Hour)
	it, err := src.Changes(ctx, "all", cursor)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	byKey := map[string]source.Record{}
	for _, r := range readAll(t, src, "all") {
		byKey[string(r.Key)] = r
	}
	n := 0
	for {
		rec, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
		want := byKey[string(rec.Key)]
		if !bytes.Equal(rec.Value, want.Value) ||
			rec.ExpiresAt.Sub(want.ExpiresAt).Abs() > time.Second {
			t.Errorf("change of %q differs from a read of it", rec.Key)
		}
	}
	if n != 3 {
		t.Errorf("%d changes, want 3", n)
	}
}

// TestFollow_RestartTurnsNotificationsOnAgain restarts Redis, which
// starts with keyspace notifications off as its command line sets. The
// follower must turn them on again, or every later incremental would
// miss every change.
func TestFollow_RestartTurnsNotificationsOnAgain(t *testing.T) {
	srv, src := followed(t)
	ctx := context.Background()
	c := srv.Client(t)
	cursor := cursorOf(t, src, "all")
	// DEBUG RESTART replies only when it fails.
	c.Do(ctx, "DEBUG", "RESTART")
	var fresh []byte
	for range 100 {
		time.Sleep(50 * time.Millisecond)
		if _, err := src.Changes(ctx, "all", cursor); !errors.Is(err,
			source.ErrCursorExpired) {
			continue
		}
		it, err := src.Read(ctx, "all")
		if err != nil {
			continue
		}
		fresh = it.(source.Cursored).Cursor()
		it.Close()
		if fresh != nil {
			break
		}
	}
	if fresh == nil {
		t.Fatal("no read carried a cursor after the restart within 5 s")
	}
	c.Set(ctx, "after", "restart", 0)
	got, _ := changes(t, src, "all", fresh)
	if want := []string{"after=restart"}; !slices.Equal(got, want) {
		t.Errorf("changes after the restart = %q, want %q", got, want)
	}
}

// TestFollow_LostConfigGetIsReported takes CONFIG GET away from the
// follower's user: reads then carry no cursor, and FollowErr returns
// the cause.
func TestFollow_LostConfigGetIsReported(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	admin := srv.Client(t)
	err := admin.Do(ctx, "ACL", "SETUSER", "backup", "on", ">secret",
		"~*", "&*", "+@all").Err()
	if err != nil {
		t.Fatal(err)
	}
	src := newSource(t, redis.Config{
		URL: "redis://backup:secret@" + srv.Addr + "/0"})
	if err := src.Follow(ctx); err != nil {
		t.Fatalf("Follow: %v", err)
	}
	cursorOf(t, src, "all")
	if err := src.FollowErr(); err != nil {
		t.Fatalf("FollowErr after a good read: %v", err)
	}
	err = admin.Do(ctx, "ACL", "SETUSER", "backup", "-config|get").Err()
	if err != nil {
		t.Fatal(err)
	}
	it, err := src.Read(ctx, "all")
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	if c := it.(source.Cursored).Cursor(); c != nil {
		t.Error("a read without CONFIG GET carries a cursor")
	}
	if err := src.FollowErr(); err == nil ||
		!strings.Contains(err.Error(), "CONFIG GET") {
		t.Errorf("FollowErr = %v, want one that names CONFIG GET", err)
	}
}

// TestFollow_ResetStatNamedAsTheReason checks that a CONFIG RESETSTAT
// after a CONFIG SET in an earlier interval is reported as the reset.
func TestFollow_ResetStatNamedAsTheReason(t *testing.T) {
	srv, src := followed(t)
	ctx := context.Background()
	c := srv.Client(t)
	c.ConfigSet(ctx, "maxmemory-policy", "noeviction")
	cursorOf(t, src, "all")
	cursor := cursorOf(t, src, "all")
	if err := c.ConfigResetStat(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	_, err := src.Changes(ctx, "all", cursor)
	if err == nil || !strings.Contains(err.Error(), "RESETSTAT") {
		t.Errorf("Changes after CONFIG RESETSTAT: %v, want it named", err)
	}
}
