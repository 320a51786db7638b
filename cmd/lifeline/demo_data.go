package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"go.etcd.io/bbolt"
)

// sampleBuckets are the top-level buckets of the demo store.
var sampleBuckets = []string{"sessions", "signing_keys", "audit_log",
	"config"}

// writeSampleStore creates a bbolt file with n records spread over
// sampleBuckets and returns the count per bucket. Audit-log entries sit in
// one nested bucket per day, as applications often keep them.
func writeSampleStore(path string, n int, now time.Time) (map[string]int,
	error) {
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("create sample store %s: %w", path, err)
	}
	defer db.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	counts := map[string]int{}
	err = db.Update(func(tx *bbolt.Tx) error {
		buckets := map[string]*bbolt.Bucket{}
		for _, name := range sampleBuckets {
			b, err := tx.CreateBucket([]byte(name))
			if err != nil {
				return err
			}
			buckets[name] = b
		}
		put := func(bucket string, b *bbolt.Bucket, k string, v any) error {
			counts[bucket]++
			body, err := json.Marshal(v)
			if err != nil {
				return err
			}
			return b.Put([]byte(k), body)
		}
		for i := range 20 {
			key := make([]byte, 32)
			for j := range key {
				key[j] = byte(rng.UintN(256))
			}
			err := put("signing_keys", buckets["signing_keys"],
				fmt.Sprintf("kid-%04d", i), map[string]any{
					"alg": "EdDSA", "public": base64.StdEncoding.
						EncodeToString(key), "created": now.AddDate(0, 0, -i*30),
				})
			if err != nil {
				return err
			}
		}
		settings := map[string]any{"feature.checkout_v2": true,
			"rate_limit.per_minute": 600, "maintenance": false,
			"support_email": "support@example.com"}
		for k, v := range settings {
			if err := put("config", buckets["config"], k, v); err != nil {
				return err
			}
		}
		rest := n - counts["signing_keys"] - counts["config"]
		for i := range rest / 2 {
			err := put("sessions", buckets["sessions"],
				fmt.Sprintf("sess:%016x", rng.Uint64()), map[string]any{
					"user_id":    rng.IntN(100000),
					"expires_at": now.Add(time.Duration(rng.IntN(48)+1) * time.Hour),
					"ip":         fmt.Sprintf("203.0.113.%d", i%250),
				})
			if err != nil {
				return err
			}
		}
		for i := range rest - rest/2 {
			day := now.AddDate(0, 0, -(i % 7)).Format("2006-01-02")
			b, err := buckets["audit_log"].CreateBucketIfNotExists([]byte(day))
			if err != nil {
				return err
			}
			seq, _ := b.NextSequence()
			err = put("audit_log", b, fmt.Sprintf("%010d", seq),
				map[string]any{"actor": fmt.Sprintf("user-%d", rng.IntN(500)),
					"action": []string{"login", "logout", "update",
						"export"}[rng.IntN(4)]})
			if err != nil {
				return err
			}
		}
		return nil
	})
	return counts, err
}

// changeSampleStore edits the demo store after its backup: it rewrites
// some sessions, deletes others and adds a configuration entry. It returns
// the number of records touched.
func changeSampleStore(path string) (int, error) {
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		return 0, fmt.Errorf("open sample store %s: %w", path, err)
	}
	defer db.Close()
	changed := 0
	err = db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket([]byte("sessions"))
		var keys [][]byte
		c := b.Cursor()
		for k, _ := c.First(); k != nil && len(keys) < 100; k, _ = c.Next() {
			keys = append(keys, append([]byte(nil), k...))
		}
		for i, k := range keys {
			var err error
			if i%2 == 0 {
				err = b.Put(k, []byte(`{"revoked":true}`))
			} else {
				err = b.Delete(k)
			}
			if err != nil {
				return err
			}
			changed++
		}
		changed++
		return tx.Bucket([]byte("config")).Put([]byte("maintenance"),
			[]byte("true"))
	})
	return changed, err
}
