package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/lifeline-backup/lifeline/internal/backup"
	"github.com/lifeline-backup/lifeline/internal/codec"
	"github.com/lifeline-backup/lifeline/internal/config"
	"github.com/lifeline-backup/lifeline/internal/drill"
	"github.com/lifeline-backup/lifeline/internal/notify"
	"github.com/lifeline-backup/lifeline/internal/repo"
	"github.com/lifeline-backup/lifeline/internal/restore"
	"github.com/lifeline-backup/lifeline/internal/source/redis/redistest"
)

// webhookEnv is the environment variable with the drill tests' webhook
// URL.
const webhookEnv = "LIFELINE_TEST_WEBHOOK"

// drillScenario is a Redis source "cache" on database 0 with the spare
// source "spare" on database 1 as its drill target, and a webhook
// receiver on 127.0.0.1.
type drillScenario struct {
	*e2e
	server *redistest.Server
	cache  *goredis.Client
	spare  *goredis.Client
	hook   *receiver
}

func newDrillScenario(t *testing.T) *drillScenario {
	t.Helper()
	s := &drillScenario{e2e: newE2E(t), server: redistest.Start(t)}
	s.cache = redisClient(t, s.server, 0)
	s.spare = redisClient(t, s.server, 1)
	s.hook = newReceiver(t)

	hookURL := s.hook.server.URL + "/hooks/drill-secret-token"
	t.Setenv(webhookEnv, hookURL)
	s.addSecret("drill-secret-token")
	_, url := s.localRepo()
	s.writeConfigText(strings.Join([]string{
		"repository:\n  url: " + url,
		"keys:\n  - id: k1\n    env: " + keyEnv,
		"sources:",
		"  - name: cache\n    type: redis\n    url: " + s.server.URL(0),
		"    objectives: {rpo: 1h}\n    drill: {target: spare}",
		"  - name: spare\n    type: redis\n    url: " + s.server.URL(1),
		"notify:\n  webhooks:\n    - env: " + webhookEnv,
		"state_dir: " + filepath.Join(s.dir, "state"),
		"",
	}, "\n"))
	s.mustRun("init")
	return s
}

func redisClient(t *testing.T, srv *redistest.Server,
	db int) *goredis.Client {
	t.Helper()
	c := goredis.NewClient(&goredis.Options{Addr: srv.Addr, DB: db,
		DisableIdentity: true})
	t.Cleanup(func() { c.Close() })
	return c
}

// open loads the scenario's configuration and opens its repository in
// the test's process.
func (s *drillScenario) open(ctx context.Context) (*config.Config,
	*repo.Repo) {
	s.t.Helper()
	c, err := config.Load(s.config)
	if err != nil {
		s.t.Fatal(err)
	}
	r, err := openRepo(ctx, c)
	if err != nil {
		s.t.Fatal(err)
	}
	return c, r
}

// backupAt changes a few keys of the cache as at time at and backs it
// up with the clock set to at.
func (s *drillScenario) backupAt(ctx context.Context, r *repo.Repo,
	c *config.Config, hour int, at time.Time, tier repo.Tier) {
	s.t.Helper()
	changeKeys(s.t, s.cache, hour)
	cs, _ := c.Source("cache")
	src, err := openSource(cs)
	if err != nil {
		s.t.Fatal(err)
	}
	defer src.Close()
	_, err = backup.Run(ctx, r, []backup.Source{
		{Name: "cache", Type: "redis", Src: src}},
		backup.Options{Tier: tier, Compression: codec.Zstd,
			Now: func() time.Time { return at }})
	if err != nil {
		s.t.Fatalf("%s backup at %s: %v", tier, at, err)
	}
}

// changeKeys writes 30 keys at hour 0, then sets two keys each hour and
// deletes one every fifth hour.
func changeKeys(t *testing.T, c *goredis.Client, hour int) {
	t.Helper()
	ctx := context.Background()
	if hour == 0 {
		for i := range 30 {
			key := fmt.Sprintf("user:%02d", i)
			if err := c.Set(ctx, key, "v0", 0).Err(); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	for _, i := range []int{hour % 30, (hour * 7) % 30} {
		key := fmt.Sprintf("user:%02d", i)
		value := fmt.Sprintf("v%d", hour)
		if err := c.Set(ctx, key, value, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if hour%5 == 0 {
		key := fmt.Sprintf("user:%02d", (hour+15)%30)
		if err := c.Del(ctx, key).Err(); err != nil {
			t.Fatal(err)
		}
	}
}

// receiver is an HTTP endpoint on 127.0.0.1 that keeps the webhook
// events it receives.
type receiver struct {
	server *httptest.Server
	mu     sync.Mutex
	events []notify.Event
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	rc := &receiver{}
	rc.server = httptest.NewServer(http.HandlerFunc(
		func(w http.ResponseWriter, req *http.Request) {
			body, _ := io.ReadAll(req.Body)
			var e notify.Event
			if err := json.Unmarshal(body, &e); err != nil {
				t.Errorf("webhook body is not an event: %v: %s", err, body)
			}
			rc.mu.Lock()
			rc.events = append(rc.events, e)
			rc.mu.Unlock()
		}))
	t.Cleanup(rc.server.Close)
	return rc
}

func (rc *receiver) received() []notify.Event {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]notify.Event(nil), rc.events...)
}

// deleteNewestManifests deletes the manifests of the n newest backups,
// as an operator or a failure could, and returns the start of the
// newest backup left.
func deleteNewestManifests(t *testing.T, r *repo.Repo, n int) time.Time {
	t.Helper()
	ctx := context.Background()
	snaps, _, err := r.Snapshots(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(snaps, func(i, j int) bool {
		return snaps[i].Time.Before(snaps[j].Time)
	})
	for _, s := range snaps[len(snaps)-n:] {
		if err := r.Store().Delete(ctx, "snapshots/"+s.ID); err != nil {
			t.Fatalf("delete manifest of %s: %v", s.ID, err)
		}
	}
	return snaps[len(snaps)-n-1].Time
}

func TestDrill_WeekOfHourlyBackups(t *testing.T) {
	s := newDrillScenario(t)
	ctx := context.Background()
	c, r := s.open(ctx)

	// An hour before the current hour, so the real clock of the drill
	// command below is later than every backup and the first drill.
	end := time.Now().UTC().Truncate(time.Hour).Add(-time.Hour)
	start := end.Add(-7 * 24 * time.Hour)
	for h := 0; !start.Add(time.Duration(h) * time.Hour).After(end); h++ {
		at := start.Add(time.Duration(h) * time.Hour)
		tier := repo.Incremental
		if h%24 == 0 {
			tier = repo.Full
		}
		s.backupAt(ctx, r, c, h, at, tier)
	}

	// A drill at the end of the week restores the newest backup.
	drillNow := end.Add(17 * time.Minute)
	cs, _ := c.Source("cache")
	log := slog.New(slog.DiscardHandler)
	res, err := drillSource(ctx, log, c, r, cs, time.Time{},
		func() time.Time { return drillNow })
	if err != nil {
		t.Fatalf("drill: %v", err)
	}
	if !res.Passed {
		t.Errorf("drill failed: %v", res.Failures)
	}
	if !res.DataTime.Equal(end) {
		t.Errorf("data time = %s, want the newest backup's %s",
			res.DataTime, end)
	}
	if want := drillNow.Sub(end); res.RPO != want {
		t.Errorf("RPO = %s, want %s (clock minus newest backup)",
			res.RPO, want)
	}
	if res.RTO <= 0 {
		t.Errorf("RTO = %s, want more than 0", res.RTO)
	}
	wantEmpty(t, s.spare)

	// Without the 5 newest backups, the newest left is at least 6
	// hours old, more than the RPO objective of 1h.
	newest := deleteNewestManifests(t, r, 5)
	if want := end.Add(-5 * time.Hour); !newest.Equal(want) {
		t.Fatalf("newest backup left starts %s, want %s", newest, want)
	}
	msg := s.mustFail("drill", "--source", "cache")
	wantContains(t, "drill error", msg, "drill of cache failed",
		"RPO objective missed", "the objective is 1h0m0s")
	wantEmpty(t, s.spare)
	wantDrillAlert(t, s.hook.received())
	wantStoredDrills(t, s.mustRun("drills", "--json").stdout, drillNow)
}

// wantEmpty fails the test unless the drill target's database is
// empty again.
func wantEmpty(t *testing.T, c *goredis.Client) {
	t.Helper()
	n, err := c.DBSize(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("drill target holds %d keys after the drill, want 0", n)
	}
}

// wantDrillAlert fails the test unless exactly one failed drill event
// of cache reached the webhook.
func wantDrillAlert(t *testing.T, events []notify.Event) {
	t.Helper()
	if len(events) != 1 {
		t.Fatalf("webhook received %d events, want 1: %+v", len(events),
			events)
	}
	e := events[0]
	if e.Job != "drill" {
		t.Errorf("event job = %q, want drill", e.Job)
	}
	if e.Source != "cache" {
		t.Errorf("event source = %q, want cache", e.Source)
	}
	if e.Status != notify.Failed {
		t.Errorf("event status = %q, want %q", e.Status, notify.Failed)
	}
	wantContains(t, "event message", e.Message, "RPO objective missed")
}

// wantStoredDrills fails the test unless drills --json lists the passed
// drill started at passedAt and then the failed one.
func wantStoredDrills(t *testing.T, stdout string, passedAt time.Time) {
	t.Helper()
	var results []drill.Result
	if err := json.Unmarshal([]byte(stdout), &results); err != nil {
		t.Fatalf("drills --json is not a JSON array of results: %v\n%s",
			err, stdout)
	}
	if len(results) != 2 {
		t.Fatalf("drills --json lists %d results, want 2:\n%s",
			len(results), stdout)
	}
	passed, failed := results[0], results[1]
	if !passed.Passed {
		t.Errorf("first result failed: %v", passed.Failures)
	}
	if !passed.Started.Equal(passedAt) {
		t.Errorf("first result started %s, want %s", passed.Started,
			passedAt)
	}
	if passed.Source != "cache" {
		t.Errorf("first result source = %q, want cache", passed.Source)
	}
	if passed.Target != "spare" {
		t.Errorf("first result target = %q, want spare", passed.Target)
	}
	if failed.Passed {
		t.Error("second result passed, want failed")
	}
	wantContains(t, "second result's failures",
		strings.Join(failed.Failures, "; "), "RPO objective missed")
	if len(failed.Snapshots) == 0 {
		t.Error("second result restored no backup")
	}
	if failed.RPO < 6*time.Hour {
		t.Errorf("second result: RPO %s, want 6h or more", failed.RPO)
	}
}

func TestDrill_TamperedTargetFails(t *testing.T) {
	s := newDrillScenario(t)
	ctx := context.Background()
	c, r := s.open(ctx)
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	s.backupAt(ctx, r, c, 0, at, repo.Full)
	s.backupAt(ctx, r, c, 1, at.Add(time.Hour), repo.Incremental)

	chains, err := restore.Chains(ctx, r, restore.Selection{
		Sources: []string{"cache"}, At: at.Add(2 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	ts, _ := c.Source("spare")
	target, err := openSource(ts)
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	spec := drill.Spec{
		Source:          "cache",
		Target:          restore.Target{Name: "spare", Type: "redis", Src: target},
		TargetNamespace: func(ns string) string { return ns },
		Chains:          chains,
		ExpiryTolerance: 2 * time.Second,
		Now:             func() time.Time { return at.Add(2 * time.Hour) },
		AfterRestore: func(ctx context.Context) error {
			return s.spare.Set(ctx, "user:07", "tampered", 0).Err()
		},
	}
	res, err := drill.Run(ctx, r, spec)
	if err != nil {
		t.Fatalf("drill: %v", err)
	}
	if res.Passed {
		t.Fatal("drill passed, want a failure for the changed key")
	}
	failures := strings.Join(res.Failures, "; ")
	wantContains(t, "failures", failures, "namespace all",
		`key "user:07"`, "value differs from the backup")
	wantEmpty(t, s.spare)
}
