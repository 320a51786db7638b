package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/lifeline-backup/lifeline/internal/source/redis/redistest"
)

// conflictKeys is the number of backed-up keys that the target already
// contains with other values.
const conflictKeys = 10

// preloadTarget stores, in the target, key:0 to key:<conflictKeys-1>
// with values other than the backed-up ones, and one key of its own.
func preloadTarget(t *testing.T, srv *redistest.Server) {
	t.Helper()
	ctx := context.Background()
	c := srv.Client(t)
	for i := range conflictKeys {
		key := fmt.Sprintf("key:%d", i)
		if err := c.Set(ctx, key, "target value", 0).Err(); err != nil {
			t.Fatalf("SET %s: %v", key, err)
		}
	}
	if err := c.Set(ctx, "target-only", "mine", 0).Err(); err != nil {
		t.Fatalf("SET target-only: %v", err)
	}
}

// redisValues returns the value of every key of database 0.
func redisValues(t *testing.T, c *goredis.Client) map[string]string {
	t.Helper()
	ctx := context.Background()
	keys, err := c.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatalf("KEYS: %v", err)
	}
	out := map[string]string{}
	for _, k := range keys {
		v, err := c.Get(ctx, k).Result()
		if err != nil {
			t.Fatalf("GET %s: %v", k, err)
		}
		out[k] = v
	}
	return out
}

// restoreLine returns the "namespace restored" log line of a restore.
func restoreLine(t *testing.T, res result) map[string]any {
	t.Helper()
	return logLine(t, res.stdout, "namespace restored")
}

func TestE2E_RestoreKeepsConflicts(t *testing.T) {
	s := newRedisScenario(t)
	preloadTarget(t, s.to)
	source := redisValues(t, s.from.Client(t))

	res := s.mustRun("restore", "--snapshot", "latest", "--to", "copy")
	line := restoreLine(t, res)
	if got := logCount(t, line, "conflict"); got != conflictKeys {
		t.Errorf("conflict = %d, want %d", got, conflictKeys)
	}
	if got, want := logCount(t, line, "add"),
		int64(len(source)-conflictKeys); got != want {
		t.Errorf("add = %d, want %d", got, want)
	}

	got := redisValues(t, s.to.Client(t))
	for k, v := range source {
		want := v
		if slices.Contains(conflictKeyNames(), k) {
			want = "target value"
		}
		if got[k] != want {
			t.Errorf("key %s = %q, want %q", k, got[k], want)
		}
	}
	if got["target-only"] != "mine" {
		t.Errorf("key target-only = %q, want %q", got["target-only"],
			"mine")
	}
	if len(got) != len(source)+1 {
		t.Errorf("target contains %d keys, want %d", len(got), len(source)+1)
	}
}

func conflictKeyNames() []string {
	var names []string
	for i := range conflictKeys {
		names = append(names, fmt.Sprintf("key:%d", i))
	}
	return names
}

func TestE2E_RestoreReplace(t *testing.T) {
	s := newRedisScenario(t)
	preloadTarget(t, s.to)
	source := redisValues(t, s.from.Client(t))

	res := s.mustRun("restore", "--snapshot", "latest", "--to", "copy",
		"--replace")
	line := restoreLine(t, res)
	if got := logCount(t, line, "change"); got != conflictKeys {
		t.Errorf("change = %d, want %d", got, conflictKeys)
	}
	if got := logCount(t, line, "conflict"); got != 0 {
		t.Errorf("conflict = %d, want 0", got)
	}

	got := redisValues(t, s.to.Client(t))
	for k, v := range source {
		if got[k] != v {
			t.Errorf("key %s = %q, want %q", k, got[k], v)
		}
	}
	if got["target-only"] != "mine" {
		t.Errorf("key target-only = %q, want %q (restore never deletes)",
			got["target-only"], "mine")
	}
}

func TestE2E_RestoreDryRun(t *testing.T) {
	s := newRedisScenario(t)
	preloadTarget(t, s.to)
	before := redistest.Digest(t, s.to)

	for _, extra := range [][]string{nil, {"--replace"}} {
		cmd := append([]string{"restore", "--snapshot", "latest",
			"--to", "copy", "--dry-run"}, extra...)
		res := s.mustRun(cmd...)
		line := logLine(t, res.stdout,
			"namespace restore preview (dry run, nothing written)")
		if got := logCount(t, line, "written"); got != 0 {
			t.Errorf("%v: written = %d, want 0", cmd, got)
		}
		if got := redistest.Digest(t, s.to); got != before {
			t.Errorf("%v: target DEBUG DIGEST = %s, want %s (unchanged)",
				cmd, got, before)
		}
	}
}

// TestE2E_InterruptedBackup removes the manifest of a finished backup,
// which leaves what a backup interrupted before its commit leaves: data,
// index and data key objects that no manifest names.
func TestE2E_InterruptedBackup(t *testing.T) {
	s := newRedisScenario(t)
	fillRedis(t, s.from, "later", 50)
	s.mustRun("backup", "--tier", "full", "--source", "cache")
	ids := s.backupIDs()
	if len(ids) != 2 {
		t.Fatalf("snapshots lists %d backups, want 2", len(ids))
	}
	interrupted := ids[1]
	manifest := filepath.Join(s.repoDir, "snapshots", interrupted)
	if err := os.Remove(manifest); err != nil {
		t.Fatal(err)
	}
	repoObjects(t, s.repoDir, "wraps/"+interrupted+"/")

	if ids := s.backupIDs(); !slices.Equal(ids, []string{s.backupID}) {
		t.Errorf("snapshots lists %q, want [%s]", ids, s.backupID)
	}
	s.mustRun("check")
	s.mustRun("check", "--read-data")

	fillRedis(t, s.from, "after", 50)
	res := s.mustRun("backup", "--tier", "full", "--source", "cache")
	next, _ := logLine(t, res.stdout, "backup committed")["snapshot"].(string)
	ids = s.backupIDs()
	if !slices.Equal(ids, []string{s.backupID, next}) || next == interrupted {
		t.Errorf("snapshots lists %q, want [%s %s]", ids, s.backupID, next)
	}
	s.mustRun("check", "--read-data")
	s.mustRun("restore", "--snapshot", next, "--to", "copy")
	got, want := redistest.Digest(t, s.to), redistest.Digest(t, s.from)
	if got != want {
		t.Errorf("restored DEBUG DIGEST = %s, want %s", got, want)
	}
}

// TestE2E_LatestIsNewest backs up in quick succession, so several
// backups start in the same second, and checks after each one that
// "latest" restores it and not an older backup.
func TestE2E_LatestIsNewest(t *testing.T) {
	s := newRedisScenario(t)
	ctx := context.Background()
	from, to := s.from.Client(t), s.to.Client(t)
	for i := range 12 {
		want := fmt.Sprint(i)
		if err := from.Set(ctx, "marker", want, 0).Err(); err != nil {
			t.Fatalf("SET marker: %v", err)
		}
		s.mustRun("backup", "--tier", "full", "--source", "cache")
		s.mustRun("restore", "--snapshot", "latest", "--to", "copy",
			"--replace")
		got, err := to.Get(ctx, "marker").Result()
		if errors.Is(err, goredis.Nil) {
			got, err = "(missing)", nil
		}
		if err != nil {
			t.Fatalf("GET marker: %v", err)
		}
		if got != want {
			ids := s.backupIDs()
			t.Fatalf("after backup %d, restore --snapshot latest restored "+
				"marker %q, want %q: latest is not the newest backup "+
				"(snapshots, oldest first: %q)", i, got, want, ids)
		}
	}
}
