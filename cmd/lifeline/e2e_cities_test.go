package main

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/lifeline-backup/lifeline/internal/source/redis/redistest"
)

// city is one entry of the shared cities file.
type city struct {
	Name    string `json:"name"`
	Lat     string `json:"lat"`
	Lng     string `json:"lng"`
	Country string `json:"country"`
	Admin1  string `json:"admin1"`
	Admin2  string `json:"admin2"`
}

// loadCities reads the gzipped JSON array of the shared cities file.
func loadCities(t *testing.T) []city {
	t.Helper()
	f, err := os.Open(sharedData(t, "cities", "cities.json.gz"))
	if err != nil {
		t.Fatalf("open cities: %v", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("read cities: %v", err)
	}
	var cities []city
	if err := json.NewDecoder(zr).Decode(&cities); err != nil {
		t.Fatalf("decode cities: %v", err)
	}
	if len(cities) == 0 {
		t.Fatal("the cities file contains no entries")
	}
	return cities
}

// storeCities writes each city as key city:<country>:<index> containing
// its JSON, and gives about a fifth of the keys, chosen at random, an
// expiry between 1 and 48 hours. It returns the keys.
func storeCities(t *testing.T, c *goredis.Client, cities []city) []string {
	t.Helper()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	keys := make([]string, 0, len(cities))
	const batch = 2000
	for start := 0; start < len(cities); start += batch {
		pipe := c.Pipeline()
		for i := start; i < min(start+batch, len(cities)); i++ {
			value, err := json.Marshal(cities[i])
			if err != nil {
				t.Fatal(err)
			}
			key := fmt.Sprintf("city:%s:%d", cities[i].Country, i)
			keys = append(keys, key)
			pipe.Set(ctx, key, value, 0)
			if rng.IntN(5) == 0 {
				ms := time.Hour.Milliseconds() +
					rng.Int64N(47*time.Hour.Milliseconds())
				pipe.PExpire(ctx, key, time.Duration(ms)*time.Millisecond)
			}
		}
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatalf("store cities: %v", err)
		}
	}
	return keys
}

// keyState is a key's value and absolute expiry, zero for none.
type keyState struct {
	value   string
	expires time.Time
}

// readStates reads the value and PTTL of each key and turns the PTTL
// into an absolute expiry, using the time the PTTL reply arrived.
func readStates(t *testing.T, c *goredis.Client,
	keys []string) map[string]keyState {
	t.Helper()
	ctx := context.Background()
	out := make(map[string]keyState, len(keys))
	const batch = 2000
	for start := 0; start < len(keys); start += batch {
		part := keys[start:min(start+batch, len(keys))]
		pipe := c.Pipeline()
		gets := make([]*goredis.StringCmd, len(part))
		ttls := make([]*goredis.DurationCmd, len(part))
		for i, k := range part {
			gets[i] = pipe.Get(ctx, k)
			ttls[i] = pipe.PTTL(ctx, k)
		}
		_, err := pipe.Exec(ctx)
		now := time.Now()
		if err != nil && err != goredis.Nil {
			t.Fatalf("read keys: %v", err)
		}
		for i, k := range part {
			out[k] = keyState{value: gets[i].Val(),
				expires: absoluteExpiry(now, ttls[i].Val())}
		}
	}
	return out
}

// absoluteExpiry turns a PTTL reply into a time. The replies -1 (no
// expiry) and -2 (missing key) give the zero time.
func absoluteExpiry(now time.Time, ttl time.Duration) time.Time {
	if ttl < 0 {
		return time.Time{}
	}
	return now.Add(ttl)
}

func TestE2E_CitiesRoundTrip(t *testing.T) {
	cities := loadCities(t)
	from, to := redistest.Start(t), redistest.Start(t)
	keys := storeCities(t, from.Client(t), cities)

	e := newE2E(t)
	_, url := e.localRepo()
	e.writeConfig(fileRepository(url),
		redisSource("cache", from.URL(0)),
		redisSource("copy", to.URL(0)))
	e.mustRun("init")
	e.mustRun("backup", "--tier", "full", "--source", "cache")
	e.mustRun("restore", "--snapshot", "latest", "--to", "copy")

	want := readStates(t, from.Client(t), keys)
	got := readStates(t, to.Client(t), keys)
	compareStates(t, keys, got, want)

	size, err := to.Client(t).DBSize(context.Background()).Result()
	if err != nil {
		t.Fatalf("DBSIZE: %v", err)
	}
	if size != int64(len(keys)) {
		t.Errorf("restored server contains %d keys, want %d", size, len(keys))
	}
}

// compareStates reports every key whose value or expiry differs, up to
// a limit, and the number of such keys.
func compareStates(t *testing.T, keys []string, got,
	want map[string]keyState) {
	t.Helper()
	withExpiry, bad := 0, 0
	for _, k := range keys {
		g, w := got[k], want[k]
		if !w.expires.IsZero() {
			withExpiry++
		}
		msg := stateDiff(g, w)
		if msg == "" {
			continue
		}
		bad++
		if bad <= 10 {
			t.Errorf("key %s: %s", k, msg)
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d keys differ", bad, len(keys))
	}
	if withExpiry < len(keys)/10 {
		t.Errorf("only %d of %d source keys have an expiry, want about "+
			"a fifth", withExpiry, len(keys))
	}
}

// stateDiff describes how got differs from want, or returns "".
func stateDiff(got, want keyState) string {
	switch {
	case got.value != want.value:
		return fmt.Sprintf("value = %q, want %q", got.value, want.value)
	case want.expires.IsZero() && !got.expires.IsZero():
		return fmt.Sprintf("expires at %s, want no expiry",
			formatTime(got.expires))
	case !want.expires.IsZero() && got.expires.IsZero():
		return fmt.Sprintf("has no expiry, want %s",
			formatTime(want.expires))
	}
	d := got.expires.Sub(want.expires)
	if d > time.Second || d < -time.Second {
		return fmt.Sprintf("expires at %s, want %s (off by %v)",
			formatTime(got.expires), formatTime(want.expires), d)
	}
	return ""
}

func formatTime(t time.Time) string {
	return t.UTC().Format(time.RFC3339Nano)
}
