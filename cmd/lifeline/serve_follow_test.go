package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/lifeline-backup/lifeline/internal/config"
	"github.com/lifeline-backup/lifeline/internal/metrics"
	"github.com/lifeline-backup/lifeline/internal/repo"
	"github.com/lifeline-backup/lifeline/internal/schedule"
	"github.com/lifeline-backup/lifeline/internal/source/redis/redistest"
)

// dumpCalls returns how many DUMP commands the server has run.
func dumpCalls(t *testing.T, c *goredis.Client) int {
	t.Helper()
	info, err := c.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(info, "\n") {
		rest, ok := strings.CutPrefix(line, "cmdstat_dump:calls=")
		if ok {
			n, _ := strconv.Atoi(strings.Split(rest, ",")[0])
			return n
		}
	}
	return 0
}

// newTestDaemon returns a daemon on the config of e, as serve builds it,
// without its scheduler and HTTP server.
func newTestDaemon(t *testing.T, e *e2e) *daemon {
	t.Helper()
	ctx := context.Background()
	c, err := config.Load(e.config)
	if err != nil {
		t.Fatal(err)
	}
	r, err := openRepo(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	d := &daemon{cfg: c, repo: r, log: log, metrics: metrics.New(),
		clock: schedule.RealClock(), follow: newFollowers(log)}
	t.Cleanup(d.follow.close)
	if d.notify, err = newDispatcher(c, r, log); err != nil {
		t.Fatal(err)
	}
	all, err := selectSources(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	d.follow.start(ctx, all)
	return d
}

// TestServe_FollowedIncrementalReadsOnlyChanges checks that serve's
// incremental of a redis source with keyspace_notifications reads only
// the changed keys, stores them and the tombstones of deleted ones, and
// restores to the source's state.
func TestServe_FollowedIncrementalReadsOnlyChanges(t *testing.T) {
	ctx := context.Background()
	from, to := redistest.Start(t), redistest.Start(t)
	c := from.Client(t)
	for i := range 2000 {
		c.Set(ctx, fmt.Sprintf("key:%04d", i), "value "+strconv.Itoa(i), 0)
	}
	e := newE2E(t)
	_, url := e.localRepo()
	e.writeConfig(fileRepository(url),
		redisSource("cache", from.URL(0))+"keyspace_notifications: true\n",
		redisSource("spare", to.URL(0)))
	e.mustRun("init")
	d := newTestDaemon(t, e)

	if err := d.backup(ctx, repo.Full); err != nil {
		t.Fatalf("full backup: %v", err)
	}
	for i := range 20 {
		c.Set(ctx, fmt.Sprintf("key:%04d", i), "changed", 0)
	}
	for i := 100; i < 105; i++ {
		c.Del(ctx, fmt.Sprintf("key:%04d", i))
	}
	c.Set(ctx, "brief", "x", 0)
	c.Del(ctx, "brief")
	before := dumpCalls(t, c)
	if err := d.backup(ctx, repo.Incremental); err != nil {
		t.Fatalf("incremental: %v", err)
	}
	if n := dumpCalls(t, c) - before; n > 100 {
		t.Errorf("the incremental ran %d DUMPs for 26 changed keys, "+
			"want only those", n)
	}

	snaps, _, err := d.repo.Snapshots(ctx)
	if err != nil {
		t.Fatal(err)
	}
	inc := snaps[len(snaps)-1]
	entry, ok := inc.Entry("cache", "all")
	if !ok || inc.Tier != repo.Incremental {
		t.Fatalf("newest backup is %s without cache/all, want the "+
			"incremental", inc.Tier)
	}
	if entry.Records != 20 || entry.Tombstones != 5 {
		t.Errorf("incremental stored %d records and %d tombstones, "+
			"want 20 and 5", entry.Records, entry.Tombstones)
	}
	if _, ok := inc.Entry("spare", "all"); !ok {
		t.Error("the incremental lacks the unfollowed source spare")
	}

	e.mustRun("restore", "--snapshot", "latest", "--source", "cache",
		"--to", "spare", "--replace")
	got, want := redistest.Digest(t, to), redistest.Digest(t, from)
	if got != want {
		t.Errorf("restored DEBUG DIGEST = %s, want the source's %s",
			got, want)
	}
}

// TestFollowers_LogRepeatedFailureOnce checks that a source that cannot
// follow its changes is logged once, not at every backup.
func TestFollowers_LogRepeatedFailureOnce(t *testing.T) {
	var logs strings.Builder
	fs := newFollowers(slog.New(slog.NewTextHandler(&logs, nil)))
	t.Cleanup(fs.close)
	src := &config.Source{Name: "cache", Type: "redis",
		URL: "redis://" + closedAddr(t) + "/0", KeyspaceNotifications: true}
	for range 3 {
		fs.start(context.Background(), []*config.Source{src})
	}
	if n := strings.Count(logs.String(), "cannot follow"); n != 1 {
		t.Errorf("logged %d warnings for 3 failed attempts, want 1:\n%s",
			n, logs.String())
	}
}
