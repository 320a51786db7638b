package redis_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/lifeline-backup/lifeline/internal/source"
	"github.com/lifeline-backup/lifeline/internal/source/redis"
	"github.com/lifeline-backup/lifeline/internal/source/redis/redistest"
	"github.com/lifeline-backup/lifeline/internal/source/sourcetest"
)

// conformancePassword protects the test server, so the suite can check
// that Describe and errors leave it out.
const conformancePassword = "conformance-secret-5f3a9c"

// TestConformance runs the source conformance suite on one redis-server.
// Each subtest gets a namespace on a database of its own, named after
// the database: "db1", "db2" and so on. Database 0 holds the temporary
// keys that make DUMP payloads.
func TestConformance(t *testing.T) {
	srv := redistest.Start(t, "--requirepass", conformancePassword,
		"--databases", "64")
	payloads := dbClient(t, srv, 0)
	nextDB := 1

	sourcetest.Run(t, sourcetest.Harness{
		New: func(t *testing.T) (source.Source, string) {
			db := nextDB
			nextDB++
			return newConformanceSource(t, srv, db)
		},
		Delete: func(t *testing.T, namespace string, key []byte) {
			c := dbClient(t, srv, namespaceDB(t, namespace))
			if err := c.Del(t.Context(), string(key)).Err(); err != nil {
				t.Fatalf("DEL in namespace %q: %v", namespace, err)
			}
		},
		Secrets: []string{conformancePassword},
		Caps: sourcetest.Caps{
			BinaryKeys:   true,
			BinaryValues: true,
			EmptyValues:  true,
			EmptyKeys:    true,
			Expiry:       true,
			// Redis keeps expiries to the millisecond, but Read turns
			// the relative PTTL back into an absolute time on the
			// client's clock, so the time read back can be late by
			// the time one DUMP transaction takes.
			ExpiryGranularity: time.Second,
			// Redis accepts keys up to 512 MiB; the suite tries 1 MiB.
			MaxKeyLen:   1 << 20,
			ValueFor:    dumpPayload(payloads),
			RepeatsKeys: true,
		},
	})
}

// newConformanceSource returns a source with one namespace "dbN" that
// holds every key of database db.
func newConformanceSource(t *testing.T, srv *redistest.Server,
	db int) (source.Source, string) {
	t.Helper()
	name := fmt.Sprintf("db%d", db)
	url := fmt.Sprintf("redis://:%s@%s/0", conformancePassword, srv.Addr)
	src, err := redis.New(redis.Config{
		URL:        url,
		Namespaces: []redis.Namespace{{Name: name, DB: db}},
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return src, name
}

// namespaceDB returns the database number of a namespace named "dbN".
func namespaceDB(t *testing.T, namespace string) int {
	t.Helper()
	db, err := strconv.Atoi(strings.TrimPrefix(namespace, "db"))
	if err != nil {
		t.Fatalf("namespace %q is not named after a database", namespace)
	}
	return db
}

// dbClient returns a client for database db of srv, closed when the
// test ends.
func dbClient(t *testing.T, srv *redistest.Server, db int) *goredis.Client {
	t.Helper()
	c := goredis.NewClient(&goredis.Options{
		Addr:            srv.Addr,
		Password:        conformancePassword,
		DB:              db,
		DisableIdentity: true,
	})
	t.Cleanup(func() { c.Close() })
	return c
}

// dumpPayload returns a Caps.ValueFor that turns a test value into the
// DUMP payload of a Redis string holding it, by SET and DUMP of a
// temporary key through c.
func dumpPayload(c *goredis.Client) func(*testing.T, []byte) []byte {
	return func(t *testing.T, value []byte) []byte {
		t.Helper()
		const tmp = "sourcetest:payload"
		ctx := t.Context()
		if err := c.Set(ctx, tmp, value, 0).Err(); err != nil {
			t.Fatalf("SET temporary key: %v", err)
		}
		payload, err := c.Dump(ctx, tmp).Bytes()
		if err != nil {
			t.Fatalf("DUMP temporary key: %v", err)
		}
		if err := c.Del(ctx, tmp).Err(); err != nil {
			t.Fatalf("DEL temporary key: %v", err)
		}
		return payload
	}
}
