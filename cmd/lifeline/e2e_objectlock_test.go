package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/lifeline-backup/lifeline/internal/backup"
	"github.com/lifeline-backup/lifeline/internal/blob"
	"github.com/lifeline-backup/lifeline/internal/blob/s3/s3test"
	"github.com/lifeline-backup/lifeline/internal/config"
	"github.com/lifeline-backup/lifeline/internal/repo"
)

// lockRetention is the retention: section of the Object Lock test:
// short, so that backups of a few hours ago are past it, while the lock
// margin of seven days keeps their objects locked.
const lockRetention = `retention:
  incremental: 1h
  full: 2h
  complete: 3h
  grace: 1m
`

// wormScenario is a repository in a versitygw bucket with Object Lock
// enabled, and its backups of one bbolt file.
type wormScenario struct {
	*e2e
	cfg  *config.Config
	repo *repo.Repo
	// ids lists the backups oldest first, and tiers and times describe
	// them.
	ids   []string
	tiers map[string]repo.Tier
	times map[string]time.Time
}

// newWormScenario writes the configuration with object_lock
// (governance, margin 7d) and a copy "offsite" in the same bucket with
// margin 1d, runs init, and backs up five hours: a full backup six
// hours ago, incrementals five and four hours ago, a full backup three
// hours ago and an incremental two hours ago.
func newWormScenario(t *testing.T) *wormScenario {
	t.Helper()
	bucket := s3test.StartLocked(t, "governance")
	s := &wormScenario{e2e: newE2E(t), tiers: map[string]repo.Tier{},
		times: map[string]time.Time{}}
	s.setS3Credentials(bucket.AccessKeyID, bucket.SecretAccessKey)
	copyKey := s.generateKey()
	t.Setenv("LIFELINE_KEY_C1", copyKey)

	boltPath := filepath.Join(s.dir, "app.db")
	s.writeConfig(s3Repository(bucket, "repo")+
		"object_lock:\n  mode: governance\n  margin: 7d\n",
		boltSource("app", boltPath))
	s.appendConfig(lockRetention + "copies:\n" +
		"  - name: offsite\n    repository:\n" +
		indent(s3Repository(bucket, "copy"), "      ") +
		"      object_lock:\n        mode: governance\n" +
		"        margin: 1d\n" +
		"    keys:\n      - id: c1\n        env: LIFELINE_KEY_C1\n")
	s.mustRun("init")

	ctx := context.Background()
	var err error
	if s.cfg, err = config.Load(s.config); err != nil {
		t.Fatal(err)
	}
	if s.repo, err = openRepo(ctx, s.cfg); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	plan := []repo.Tier{repo.Full, repo.Incremental, repo.Incremental,
		repo.Full, repo.Incremental}
	for i, tier := range plan {
		at := now.Add(time.Duration(i-6) * time.Hour)
		changeBolt(t, boltPath, i)
		s.backup(s.repo, tier, at)
	}
	return s
}

// appendConfig adds text at the end of the configuration file.
func (s *wormScenario) appendConfig(text string) {
	s.t.Helper()
	old, err := os.ReadFile(s.config)
	if err != nil {
		s.t.Fatal(err)
	}
	s.writeConfigText(string(old) + text)
}

// backup runs one backup of the configured sources into r at the time
// at.
func (s *wormScenario) backup(r *repo.Repo, tier repo.Tier,
	at time.Time) string {
	s.t.Helper()
	srcs, err := selectSources(s.cfg, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	targets, closeAll, err := openBackupSources(srcs)
	if err != nil {
		s.t.Fatal(err)
	}
	defer closeAll()
	m, err := backup.Run(context.Background(), r, targets,
		backup.Options{Tier: tier, Now: func() time.Time { return at }})
	if err != nil {
		s.t.Fatalf("%s backup at %v: %v", tier, at, err)
	}
	s.ids = append(s.ids, m.ID)
	s.tiers[m.ID] = tier
	s.times[m.ID] = at
	return m.ID
}

// wantLocked fails the test unless every object of backup id in r is
// locked in governance mode until the backup's time plus its tier's
// retention plus margin.
func (s *wormScenario) wantLocked(r *repo.Repo, id string,
	margin time.Duration) int {
	s.t.Helper()
	ctx := context.Background()
	rr, ok := blob.AsRetentionReader(r.Store())
	if !ok {
		s.t.Fatalf("store %s reports no retention dates", r.Store())
	}
	snap, err := r.LoadSnapshot(ctx, id)
	if err != nil {
		s.t.Fatal(err)
	}
	objs, err := r.Objects(ctx, snap)
	if err != nil {
		s.t.Fatal(err)
	}
	keep := map[repo.Tier]time.Duration{repo.Incremental: time.Hour,
		repo.Full: 2 * time.Hour, repo.Complete: 3 * time.Hour}
	want := s.times[id].Add(keep[s.tiers[id]] + margin)
	for _, o := range objs {
		mode, until, err := rr.Retention(ctx, o.Name)
		if err != nil {
			s.t.Errorf("retention of %s: %v", o.Name, err)
			continue
		}
		if mode != "governance" {
			s.t.Errorf("%s of backup %s: lock mode %q, want governance",
				o.Name, id, mode)
		}
		if !until.Equal(want) {
			s.t.Errorf("%s of backup %s: locked until %v, want %v",
				o.Name, id, until, want)
		}
	}
	return len(objs)
}

func TestE2E_ObjectLockRetention(t *testing.T) {
	s := newWormScenario(t)
	for _, id := range s.ids {
		s.wantLocked(s.repo, id, 7*24*time.Hour)
	}
	s.mustRun("check", "--read-data")

	manifest := "snapshots/" + s.ids[0]
	err := s.repo.Store().Delete(context.Background(), manifest)
	if !errors.Is(err, blob.ErrLocked) {
		t.Fatalf("delete %s: error %v, want blob.ErrLocked", manifest, err)
	}
	if _, err := s.repo.Store().Stat(context.Background(),
		manifest); err != nil {
		t.Fatalf("stat %s after the rejected delete: %v", manifest, err)
	}
}

func TestE2E_ObjectLockPruneKeeps(t *testing.T) {
	s := newWormScenario(t)
	ctx := context.Background()

	// Prune drops the first three backups: the full backup three hours
	// ago starts the chain of the newest backup. It tries the
	// incremental of four hours ago first, finds its manifest locked,
	// and so keeps the two backups it builds on as well.
	res := s.mustRun("prune")
	locked := s.ids[2]
	snap, err := s.repo.LoadSnapshot(ctx, locked)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := s.repo.Objects(ctx, snap)
	if err != nil {
		t.Fatal(err)
	}
	kept := logLine(t, res.stdout, "objects still locked; kept")
	if n := logCount(t, kept, "objects"); n != int64(len(objs)) {
		t.Errorf("objects still locked = %d, want the %d objects of "+
			"backup %s", n, len(objs), locked)
	}
	until := s.times[locked].Add(time.Hour + 7*24*time.Hour)
	if kept["until"] != until.Format(time.RFC3339) {
		t.Errorf("objects still locked until %v, want %s", kept["until"],
			until.Format(time.RFC3339))
	}
	manifestKept := logLine(t, res.stdout, "backup kept: its manifest is locked")
	if manifestKept["snapshot"] != locked {
		t.Errorf("backup kept for its lock = %v, want %s",
			manifestKept["snapshot"], locked)
	}
	var bases []string
	for _, line := range logLines(t, res.stdout) {
		if line["msg"] == "backup kept: a locked backup builds on it" {
			id, _ := line["snapshot"].(string)
			bases = append(bases, id)
		}
	}
	slices.Sort(bases)
	if want := s.ids[:2]; !slices.Equal(bases, want) {
		t.Errorf("backups kept as bases = %q, want %q", bases, want)
	}
	done := logLine(t, res.stdout, "prune finished")
	if n := logCount(t, done, "backups"); n != 0 {
		t.Errorf("prune finished: backups = %d, want 0", n)
	}
	if n := logCount(t, done, "locked"); n != int64(len(objs)) {
		t.Errorf("prune finished: locked = %d, want %d", n, len(objs))
	}

	ids, err := s.repo.SnapshotIDs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(ids)
	if !slices.Equal(ids, s.ids) {
		t.Errorf("backups after prune = %q, want all of %q", ids, s.ids)
	}
	s.mustRun("check", "--read-data")
}

// TestE2E_ObjectLockPruneOrphan checks that an unnamed object that is
// still locked is kept and counted, and the prune does not fail.
func TestE2E_ObjectLockPruneOrphan(t *testing.T) {
	s := newWormScenario(t)
	ctx := context.Background()
	until := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
	body := []byte("left by an interrupted backup")
	err := s.repo.Store().Put(blob.WithRetainUntil(ctx, until),
		"data/ff/ff-orphan", bytes.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatal(err)
	}

	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	later := time.Now().Add(2 * time.Minute)
	res, err := doPrune(ctx, log, s.repo, s.cfg.Retention, false,
		func() time.Time { return later })
	if err != nil {
		t.Fatalf("prune: %v\nlog:\n%s", err, logs.String())
	}
	snap, err := s.repo.LoadSnapshot(ctx, s.ids[2])
	if err != nil {
		t.Fatal(err)
	}
	objs, err := s.repo.Objects(ctx, snap)
	if err != nil {
		t.Fatal(err)
	}
	if res.Locked != len(objs)+1 {
		t.Errorf("prune result: %d locked objects, want %d of backup "+
			"%s and the unnamed one", res.Locked, len(objs), s.ids[2])
	}
	if res.Objects != 0 {
		t.Errorf("prune result: %d unnamed objects deleted, want 0",
			res.Objects)
	}
	wantUntil := s.times[s.ids[2]].Add(time.Hour + 7*24*time.Hour)
	if !res.LockedUntil.Equal(wantUntil) {
		t.Errorf("prune result: locked until %v, want %v",
			res.LockedUntil, wantUntil)
	}
	if _, err := s.repo.Store().Stat(ctx, "data/ff/ff-orphan"); err != nil {
		t.Errorf("stat the locked unnamed object after prune: %v", err)
	}
}

// TestE2E_ObjectLockCheckUnlocked checks that check reports a backup
// written without retention dates into a repository with object_lock.
func TestE2E_ObjectLockCheckUnlocked(t *testing.T) {
	s := newWormScenario(t)
	ctx := context.Background()
	plain, err := repo.Open(ctx, s.repo.Store(), s.repo.Keyring())
	if err != nil {
		t.Fatal(err)
	}
	unlocked := s.backup(plain, repo.Incremental,
		time.Now().UTC().Add(-time.Hour))

	msg := s.mustFail("check")
	wantContains(t, "check error", msg, "not locked", unlocked)
	res := s.run("check")
	line := logLine(t, res.stdout, "backup not locked")
	if line["backups"] != unlocked {
		t.Errorf("backup not locked: backups = %v, want %s",
			line["backups"], unlocked)
	}
	done := logLine(t, res.stdout, "check finished")
	if n := logCount(t, done, "problems"); n != 1 {
		t.Errorf("check finished: problems = %d, want 1", n)
	}
}

// TestE2E_ObjectLockCopy checks that copied backups are locked by the
// copy's margin, from each backup's own time and tier.
func TestE2E_ObjectLockCopy(t *testing.T) {
	s := newWormScenario(t)
	ctx := context.Background()
	s.mustRun("copy", "--to", "offsite")

	cp, ok := s.cfg.Copy("offsite")
	if !ok {
		t.Fatal("no copy offsite in the config")
	}
	log := slog.New(slog.NewJSONHandler(&bytes.Buffer{}, nil))
	dst, err := openCopy(ctx, log, cp, s.cfg.Retention)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := dst.SnapshotIDs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(ids)
	if !slices.Equal(ids, s.ids) {
		t.Fatalf("copied backups = %q, want %q", ids, s.ids)
	}
	for _, id := range ids {
		s.wantLocked(dst, id, 24*time.Hour)
	}
}
