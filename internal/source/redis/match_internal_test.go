package redis

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/lifeline-backup/lifeline/internal/source/redis/redistest"
)

// TestMatch_AgreesWithScan compares match with SCAN MATCH of a real
// server over random keys and patterns, including escapes, classes,
// ranges and unterminated classes.
func TestMatch_AgreesWithScan(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 11))

	const keyBytes = "ab-c^][\\"
	seen := map[string]bool{"": true}
	keys := []string{""}
	for len(keys) < 300 {
		n := 1 + rng.IntN(5)
		b := make([]byte, n)
		for i := range b {
			b[i] = keyBytes[rng.IntN(len(keyBytes))]
		}
		if !seen[string(b)] {
			seen[string(b)] = true
			keys = append(keys, string(b))
		}
	}
	for _, k := range keys {
		if err := c.Set(ctx, k, "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}

	for range 600 {
		pattern := randomPattern(rng)
		var scanned []string
		iter := c.Scan(ctx, 0, pattern, 1000).Iterator()
		for iter.Next(ctx) {
			scanned = append(scanned, iter.Val())
		}
		if err := iter.Err(); err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			inScan := slices.Contains(scanned, k)
			if inScan != match(pattern, k) {
				t.Errorf("pattern %q, key %q: SCAN matched %v, match() %v",
					pattern, k, inScan, !inScan)
			}
		}
	}
}

// randomPattern returns a pattern of a few random parts: literal bytes,
// *, ?, escapes, and classes with negation, ranges and escapes, some
// left unterminated.
func randomPattern(rng *rand.Rand) string {
	const lit = "ab-c^]["
	var b []byte
	for range 1 + rng.IntN(4) {
		switch rng.IntN(6) {
		case 0:
			b = append(b, '*')
		case 1:
			b = append(b, '?')
		case 2:
			b = append(b, '\\', lit[rng.IntN(len(lit))])
		case 3:
			b = append(b, '[')
			if rng.IntN(2) == 0 {
				b = append(b, '^')
			}
			for range 1 + rng.IntN(3) {
				switch rng.IntN(3) {
				case 0:
					b = append(b, lit[rng.IntN(len(lit))], '-',
						lit[rng.IntN(len(lit))])
				case 1:
					b = append(b, '\\', lit[rng.IntN(len(lit))])
				default:
					b = append(b, lit[rng.IntN(len(lit))])
				}
			}
			if rng.IntN(5) > 0 {
				b = append(b, ']')
			}
		default:
			b = append(b, lit[rng.IntN(len(lit))])
		}
	}
	if rng.IntN(10) == 0 {
		b = append(b, '\\')
	}
	return string(b)
}
