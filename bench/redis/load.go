package main

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// city is one entry of the cities data set.
type city struct {
	Name    string `json:"name"`
	Lat     string `json:"lat"`
	Lng     string `json:"lng"`
	Country string `json:"country"`
	Admin1  string `json:"admin1"`
	Admin2  string `json:"admin2"`
}

// readCities reads the gzip-compressed JSON array of cities at path.
func readCities(path string) ([]city, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read cities: %w", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("read cities %s: %w", path, err)
	}
	var cities []city
	if err := json.NewDecoder(zr).Decode(&cities); err != nil {
		return nil, fmt.Errorf("read cities %s: %w", path, err)
	}
	if len(cities) == 0 {
		return nil, fmt.Errorf("read cities %s: the array is empty", path)
	}
	return cities, nil
}

// randomCities makes n cities with random names, for when the data set
// is missing.
func randomCities(n int) []city {
	rng := rand.New(rand.NewPCG(2, 2))
	out := make([]city, n)
	for i := range out {
		out[i] = city{
			Name:    filler(rng, 5+rng.IntN(15)),
			Lat:     strconv.FormatFloat(rng.Float64()*180-90, 'f', 5, 64),
			Lng:     strconv.FormatFloat(rng.Float64()*360-180, 'f', 5, 64),
			Country: filler(rng, 2),
			Admin1:  strconv.Itoa(rng.IntN(100)),
		}
	}
	return out
}

const (
	loadWorkers  = 4
	loadPipeline = 1000
	// hashShare and expiryShare are the shares of keys stored as a hash
	// and of keys given an expiry.
	hashShare   = 0.10
	expiryShare = 0.20
)

// loadKeys writes n keys, cycling through cities. 10% are hashes of
// the city's fields. The rest are strings of the city's JSON, padded to
// a random length of 50 to 300 bytes unless the JSON alone is longer.
// 20% of all keys expire in 1 to 48 hours. The data is the same for the
// same n.
func loadKeys(ctx context.Context, c *goredis.Client, n int,
	cities []city) error {
	var wg sync.WaitGroup
	errs := make([]error, loadWorkers)
	per := (n + loadWorkers - 1) / loadWorkers
	for w := range loadWorkers {
		lo, hi := w*per, min((w+1)*per, n)
		wg.Go(func() {
			errs[w] = loadRange(ctx, c, lo, hi, cities, uint64(w))
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func loadRange(ctx context.Context, c *goredis.Client, lo, hi int,
	cities []city, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, 1))
	for start := lo; start < hi; start += loadPipeline {
		pipe := c.Pipeline()
		for i := start; i < min(start+loadPipeline, hi); i++ {
			queueKey(ctx, pipe, rng, i, cities[i%len(cities)])
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return fmt.Errorf("load keys %d to %d: %w", start,
				start+loadPipeline, err)
		}
	}
	return nil
}

func queueKey(ctx context.Context, pipe goredis.Pipeliner,
	rng *rand.Rand, i int, c city) {
	key := "city:" + c.Country + ":" + strconv.Itoa(i)
	var ttl time.Duration
	if rng.Float64() < expiryShare {
		ttl = time.Hour + time.Duration(rng.Int64N(int64(47*time.Hour)))
	}
	if rng.Float64() < hashShare {
		pipe.HSet(ctx, key, "name", c.Name, "lat", c.Lat, "lng", c.Lng,
			"country", c.Country, "admin1", c.Admin1, "admin2", c.Admin2)
		if ttl > 0 {
			pipe.Expire(ctx, key, ttl)
		}
		return
	}
	pipe.Set(ctx, key, cityValue(rng, c), ttl)
}

// cityValue returns the city as JSON with a "notes" field of random
// letters that brings it to a random length of 50 to 300 bytes.
func cityValue(rng *rand.Rand, c city) []byte {
	base, _ := json.Marshal(c)
	want := 50 + rng.IntN(251)
	const extra = len(`,"notes":""`)
	if len(base)+extra >= want {
		return base
	}
	pad := filler(rng, want-len(base)-extra)
	out := append(base[:len(base)-1], `,"notes":"`...)
	out = append(out, pad...)
	return append(out, `"}`...)
}

// filler returns n random lower-case letters and spaces.
func filler(rng *rand.Rand, n int) string {
	const letters = "abcdefghijklmnopqrstuvwxyz    "
	b := make([]byte, n)
	for i := range b {
		b[i] = letters[rng.IntN(len(letters))]
	}
	return string(b)
}
