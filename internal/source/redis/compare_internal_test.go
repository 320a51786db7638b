package redis

import (
	"context"
	"testing"

	"github.com/lifeline-backup/lifeline/internal/source/redis/redistest"
)

// TestCompareKeys_EqualData checks each type's comparison with two keys
// that hold equal data. SameValue reaches these comparisons only when the
// DUMP bytes differ, which for most types equal data never causes.
func TestCompareKeys_EqualData(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client(t)
	ctx := context.Background()

	cases := []struct {
		name string
		// args is a write command without its key, which follows the
		// command name.
		args    []any
		compare comparer
	}{
		{"string", []any{"SET", "v"}, sameString},
		{"list", []any{"RPUSH", "a", "b", "a"}, sameList},
		{"set", []any{"SADD", "a", "b"}, sameSet},
		{"hash", []any{"HSET", "f", "1", "g", "2"}, sameHash},
		{"zset", []any{"ZADD", "-0", "a", "1.5", "b"}, sameZSet},
		{"stream", []any{"XADD", "1-1", "f", "v", "f", "w"},
			sameStream},
		{"dump", []any{"SET", "v"}, sameDump},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, key := range []string{"a", "b"} {
				args := append([]any{tc.args[0], key}, tc.args[1:]...)
				if err := c.Do(ctx, args...).Err(); err != nil {
					t.Fatalf("%v: %v", args, err)
				}
			}
			defer c.Del(ctx, "a", "b")

			same, err := tc.compare(ctx, c, "a", "b")
			if err != nil {
				t.Fatalf("compare: %v", err)
			}
			if !same {
				t.Error("compare = false, want true")
			}
			same, err = compareKeys(ctx, c, "a", "b")
			if err != nil {
				t.Fatalf("compareKeys: %v", err)
			}
			if !same {
				t.Error("compareKeys = false, want true")
			}
		})
	}
}
