package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lifeline-backup/lifeline/internal/source/redis/redistest"
)

// TestDrill_RedisNamespacesAndEncodings drills a Redis source with two
// namespaces that land in one scratch database, over data from Redis's
// own RDB test file, whose hashtable-encoded set restores with other
// DUMP bytes than it had. The drill must pass and leave the scratch
// database empty.
func TestDrill_RedisNamespacesAndEncodings(t *testing.T) {
	src := redistest.StartWithRDB(t, filepath.Join(sharedData(t,
		"redis-rdb"), "encodings.rdb"))
	scratch := redistest.Start(t)
	ctx := context.Background()
	c := src.Client(t)
	for i := range 50 {
		if err := c.Set(ctx, fmt.Sprintf("sess:%02d", i), "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}

	e := newE2E(t)
	_, url := e.localRepo()
	e.writeConfig(fileRepository(url),
		redisSource("cache", src.URL(0))+"namespaces:\n"+
			"  - name: sessions\n    match: \"sess:*\"\n"+
			"  - name: rest\n    match: \"*[^0-9]\"\n"+
			"drill:\n  target: scratch\n",
		redisSource("scratch", scratch.URL(0)))
	e.mustRun("init")
	e.mustRun("backup", "--tier", "full", "--source", "cache")

	res := e.run("drill")
	if res.code != 0 {
		t.Fatalf("drill exit %d, want 0; stdout:\n%s\nstderr:\n%s",
			res.code, res.stdout, res.stderr)
	}
	if !strings.Contains(res.stdout, `"source":"scratch"`) ||
		!strings.Contains(res.stdout, "it is a drill target") {
		t.Errorf("drill of all sources did not say it left out the "+
			"scratch source:\n%s", res.stdout)
	}
	n, err := scratch.Client(t).DBSize(ctx).Result()
	if err != nil || n != 0 {
		t.Errorf("scratch DBSIZE after the drill = %d, %v; want 0", n, err)
	}
}
