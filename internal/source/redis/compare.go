package redis

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/lifeline-backup/lifeline/internal/source"
)

var _ source.ValueComparer = (*Source)(nil)

const (
	// tempKeyPrefix starts the name of the temporary key that SameValue
	// restores a value into. A random suffix follows it.
	tempKeyPrefix = "lifeline:cmp:"
	// tempKeyTTL expires a temporary key that SameValue could not
	// delete, for example because the connection broke.
	tempKeyTTL = 60 * time.Second
	// cleanupTimeout bounds the DEL of the temporary key, which runs
	// even when the caller's context is done.
	cleanupTimeout = 5 * time.Second
)

// SameValue reports whether key in the namespace contains the same data
// as value, a DUMP payload. Expiry is not compared. A missing key
// returns false and no error.
//
// Equal DUMP payloads return true at once. Otherwise SameValue restores
// value into a temporary key named "lifeline:cmp:" and 32 random hex
// digits, in the namespace's database, and compares the two keys with
// read commands chosen by type. It deletes the temporary key before it
// returns, and RESTORE gives the key a 60 s expiry in case the DEL
// fails. The key exists while the comparison runs, so a concurrent
// SCAN, such as a backup of the same database, may see it.
//
// NOTE: both keys are read whole (LRANGE 0 -1, HGETALL and so on), so
// comparing a huge key takes memory and blocks Redis for as long as a
// read of the whole key does.
func (s *Source) SameValue(ctx context.Context, namespace string,
	key, value []byte) (bool, error) {
	ns, err := s.namespace(namespace)
	if err != nil {
		return false, err
	}
	same, err := sameValue(ctx, s.client(ns.DB), string(key), value)
	if err != nil {
		return false, fmt.Errorf("compare value in namespace %q on %s: %w",
			ns.Name, s.Describe(), err)
	}
	return same, nil
}

func sameValue(ctx context.Context, c *goredis.Client, key string,
	value []byte) (same bool, err error) {
	current, err := c.Dump(ctx, key).Bytes()
	switch {
	case errors.Is(err, goredis.Nil):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("dump: %w", err)
	case bytes.Equal(current, value):
		return true, nil
	}

	tmp, err := restoreTemp(ctx, c, value)
	if err != nil {
		return false, err
	}
	defer func() {
		err = errors.Join(err, deleteTemp(ctx, c, tmp))
	}()
	return compareKeys(ctx, c, key, tmp)
}

// restoreTemp restores value into a new temporary key and returns the
// key's name.
func restoreTemp(ctx context.Context, c *goredis.Client,
	value []byte) (string, error) {
	suffix := make([]byte, 16)
	if _, err := rand.Read(suffix); err != nil {
		return "", fmt.Errorf("name temporary key: %w", err)
	}
	tmp := tempKeyPrefix + hex.EncodeToString(suffix)

	// Without REPLACE, RESTORE fails rather than overwrite a key of the
	// same name, which 128 random bits make unlikely.
	err := c.Do(ctx, "RESTORE", tmp, tempKeyTTL.Milliseconds(), value).Err()
	if err != nil {
		return "", fmt.Errorf("restore into temporary key: %w", err)
	}
	return tmp, nil
}

func deleteTemp(ctx context.Context, c *goredis.Client, tmp string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx),
		cleanupTimeout)
	defer cancel()
	if err := c.Del(ctx, tmp).Err(); err != nil {
		return fmt.Errorf("delete temporary key %s: %w", tmp, err)
	}
	return nil
}

// compareKeys reports whether keys a and b hold the same type and data.
func compareKeys(ctx context.Context, c *goredis.Client,
	a, b string) (bool, error) {
	typeA, typeB, err := both(ctx, c, a, b,
		func(p goredis.Pipeliner, k string) *goredis.StatusCmd {
			return p.Type(ctx, k)
		})
	if err != nil {
		return false, fmt.Errorf("type: %w", err)
	}
	if typeA.Val() != typeB.Val() {
		return false, nil
	}

	compare, ok := comparers[typeA.Val()]
	if !ok {
		compare = sameDump
	}
	return compare(ctx, c, a, b)
}

// comparer reports whether keys a and b, both of one type, hold the
// same data.
type comparer func(ctx context.Context, c *goredis.Client,
	a, b string) (bool, error)

// comparers holds a comparer for each core Redis type. Other types,
// such as those of modules, fall back to sameDump. The type "none" of a
// key deleted meanwhile compares as different.
var comparers = map[string]comparer{
	"none":   differ,
	"string": sameString,
	"list":   sameList,
	"set":    sameSet,
	"hash":   sameHash,
	"zset":   sameZSet,
	"stream": sameStream,
}

func differ(context.Context, *goredis.Client, string, string) (bool, error) {
	return false, nil
}

// both sends read for keys a and b in one pipeline and returns the two
// commands, or the first error. The goredis.Nil of a key deleted
// meanwhile is an error too.
func both[C goredis.Cmder](ctx context.Context, c *goredis.Client,
	a, b string, read func(goredis.Pipeliner, string) C) (C, C, error) {
	var x, y C
	_, err := c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		x, y = read(p, a), read(p, b)
		return nil
	})
	return x, y, err
}

func sameString(ctx context.Context, c *goredis.Client,
	a, b string) (bool, error) {
	x, y, err := both(ctx, c, a, b,
		func(p goredis.Pipeliner, k string) *goredis.StringCmd {
			return p.Get(ctx, k)
		})
	if errors.Is(err, goredis.Nil) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("get: %w", err)
	}
	return x.Val() == y.Val(), nil
}

func sameList(ctx context.Context, c *goredis.Client,
	a, b string) (bool, error) {
	x, y, err := both(ctx, c, a, b,
		func(p goredis.Pipeliner, k string) *goredis.StringSliceCmd {
			return p.LRange(ctx, k, 0, -1)
		})
	if err != nil {
		return false, fmt.Errorf("lrange: %w", err)
	}
	return slices.Equal(x.Val(), y.Val()), nil
}

// sameSet compares the sizes of the sets and SDIFF a b, the members of
// a that b lacks, which for sets of one size is empty only when they
// are equal.
func sameSet(ctx context.Context, c *goredis.Client,
	a, b string) (bool, error) {
	var cardA, cardB *goredis.IntCmd
	var diff *goredis.StringSliceCmd
	_, err := c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		cardA, cardB = p.SCard(ctx, a), p.SCard(ctx, b)
		diff = p.SDiff(ctx, a, b)
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("sdiff: %w", err)
	}
	return cardA.Val() == cardB.Val() && len(diff.Val()) == 0, nil
}

func sameHash(ctx context.Context, c *goredis.Client,
	a, b string) (bool, error) {
	x, y, err := both(ctx, c, a, b,
		func(p goredis.Pipeliner, k string) *goredis.MapStringStringCmd {
			return p.HGetAll(ctx, k)
		})
	if err != nil {
		return false, fmt.Errorf("hgetall: %w", err)
	}
	return maps.Equal(x.Val(), y.Val()), nil
}

// sameZSet compares the members in ZRANGE order, by score and then by
// member, so equal sorted sets give equal lists. Scores compare bit for
// bit, so 0 and -0 differ.
func sameZSet(ctx context.Context, c *goredis.Client,
	a, b string) (bool, error) {
	x, y, err := both(ctx, c, a, b,
		func(p goredis.Pipeliner, k string) *goredis.ZSliceCmd {
			return p.ZRangeWithScores(ctx, k, 0, -1)
		})
	if err != nil {
		return false, fmt.Errorf("zrange: %w", err)
	}
	return slices.EqualFunc(x.Val(), y.Val(), func(m, n goredis.Z) bool {
		return m.Member == n.Member &&
			math.Float64bits(m.Score) == math.Float64bits(n.Score)
	}), nil
}

// sameStream compares the entries, with their fields in order, and the
// stream's ID state from XINFO STREAM.
//
// NOTE: of the consumer groups only their number is compared, not their
// names, last delivered IDs, consumers or pending entries.
func sameStream(ctx context.Context, c *goredis.Client,
	a, b string) (bool, error) {
	x, y, err := both(ctx, c, a, b,
		func(p goredis.Pipeliner, k string) *goredis.XInfoStreamCmd {
			return p.XInfoStream(ctx, k)
		})
	if err != nil {
		return false, fmt.Errorf("xinfo stream: %w", err)
	}
	if !sameStreamInfo(x.Val(), y.Val()) {
		return false, nil
	}

	// XRANGE through Do keeps each entry's fields as a list: a map, as
	// in XRangeCmd, would lose their order and repeated fields.
	entriesA, entriesB, err := both(ctx, c, a, b,
		func(p goredis.Pipeliner, k string) *goredis.Cmd {
			return p.Do(ctx, "XRANGE", k, "-", "+")
		})
	if err != nil {
		return false, fmt.Errorf("xrange: %w", err)
	}
	return reflect.DeepEqual(entriesA.Val(), entriesB.Val()), nil
}

func sameStreamInfo(x, y *goredis.XInfoStream) bool {
	return x.Length == y.Length &&
		x.LastGeneratedID == y.LastGeneratedID &&
		x.MaxDeletedEntryID == y.MaxDeletedEntryID &&
		x.EntriesAdded == y.EntriesAdded &&
		x.Groups == y.Groups
}

// sameDump compares the DUMP payloads of keys of a type that has no
// comparer, such as a module's type. Both payloads come from this
// server, so they share the RDB version, but a type whose encoding
// depends on insertion order may still compare as different.
func sameDump(ctx context.Context, c *goredis.Client,
	a, b string) (bool, error) {
	x, y, err := both(ctx, c, a, b,
		func(p goredis.Pipeliner, k string) *goredis.StringCmd {
			return p.Dump(ctx, k)
		})
	if errors.Is(err, goredis.Nil) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("dump: %w", err)
	}
	return x.Val() == y.Val(), nil
}
