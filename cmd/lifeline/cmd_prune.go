package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/lifeline-backup/lifeline/internal/config"
	"github.com/lifeline-backup/lifeline/internal/repo"
	"github.com/lifeline-backup/lifeline/internal/retention"
)

type pruneOpts struct{ dryRun bool }

func init() {
	register(&command{
		name:    "prune",
		summary: "delete backups the retention policy no longer keeps",
		usage:   "lifeline prune [--dry-run]",
		help: `Deletes the backups that the retention policy no longer keeps, then the
objects no backup names (left by interrupted runs) once they are older
than the grace period. Defaults: incrementals 7 days, full backups 30
days, complete backups 90 days, grace 24 hours; set them under
retention: in the config.

Prune never deletes a backup that a kept incremental builds on, nor the
newest backup of a namespace. It takes an exclusive lock, so it refuses
to run while a backup, another prune or a key rewrap holds a lock, and it
stops before deleting anything once it can no longer renew its lock.

With object_lock, the server rejects deleting objects whose retention
date has not passed. A backup whose manifest is still locked is kept
whole, with every backup it builds on, and other locked objects are
kept; prune logs how many and until when, and a later prune deletes
them. This is not an error.

--dry-run lists what would go and how many bytes it frees, and deletes
nothing.

Examples:
  lifeline prune --dry-run
  lifeline prune`,
		flags: func(fs *flag.FlagSet, env *cmdEnv) {
			o := &pruneOpts{}
			env.opts = o
			fs.BoolVar(&o.dryRun, "dry-run", false,
				"list what would be deleted and delete nothing")
		},
		run: runPrune,
	})
}

func runPrune(ctx context.Context, env *cmdEnv, args []string) error {
	o := env.opts.(*pruneOpts)
	if len(args) > 0 {
		return usagef("prune takes no arguments, got %q", args)
	}
	log, err := env.newLogger()
	if err != nil {
		return err
	}
	c, err := env.loadConfig()
	if err != nil {
		return err
	}
	r, err := openRepo(ctx, c)
	if err != nil {
		return err
	}
	_, err = doPrune(ctx, log, r, c.Retention, o.dryRun, time.Now)
	return err
}

// pruneResult counts what a prune did or would do.
type pruneResult struct {
	Backups int
	Objects int
	Bytes   int64
	// Locked counts the objects kept because the store rejected their
	// deletion until their retention date (S3 Object Lock), and
	// LockedUntil is the latest such date that the store reported.
	Locked      int
	LockedUntil time.Time
}

// addRetained counts the objects that a *repo.RetainedError names and
// reports whether err is one.
func (res *pruneResult) addRetained(err error) bool {
	var kept *repo.RetainedError
	if !errors.As(err, &kept) {
		return false
	}
	res.Locked += len(kept.Kept)
	if kept.Until.After(res.LockedUntil) {
		res.LockedUntil = kept.Until
	}
	return true
}

// doPrune applies the retention policy; serve shares it.
func doPrune(ctx context.Context, log *slog.Logger, r *repo.Repo,
	rc config.Retention, dryRun bool,
	now func() time.Time) (pruneResult, error) {
	var res pruneResult
	policy := retention.Policy{Incremental: rc.Incremental.Std(),
		Full: rc.Full.Std(), Complete: rc.Complete.Std()}
	lock, err := r.Lock(ctx, "prune", true, now)
	if err != nil {
		return res, fmt.Errorf("prune: %w", err)
	}
	defer lock.Unlock(context.WithoutCancel(ctx))

	snaps, bad, err := r.Snapshots(ctx)
	if err != nil {
		return res, err
	}
	plan := retention.Plan(snaps, policy, now())
	if err := forgetAll(ctx, log, r, plan, lock, dryRun, &res); err != nil {
		return res, err
	}
	if err := pruneOrphans(ctx, log, r, lock, now().Add(-rc.Grace.Std()),
		dryRun, &res); err != nil {
		return res, err
	}
	if res.Locked > 0 {
		log.Warn("objects still locked; kept", "objects", res.Locked,
			"until", formatUntil(res.LockedUntil))
	}
	log.Info("prune finished", "dry_run", dryRun, "backups", res.Backups,
		"objects", res.Objects, "bytes", res.Bytes, "locked", res.Locked,
		"unreadable_backups", len(bad))
	return res, nil
}

// forgetAll deletes the backups the plan drops, newest first, so an
// interruption never leaves an incremental whose base is gone. A backup
// kept because its manifest is locked also keeps every backup its
// chains build on.
func forgetAll(ctx context.Context, log *slog.Logger, r *repo.Repo,
	plan []retention.Decision, lock *repo.Lock, dryRun bool,
	res *pruneResult) error {
	var drop []retention.Decision
	for _, d := range plan {
		if !d.Keep {
			drop = append(drop, d)
		}
	}
	sort.SliceStable(drop, func(i, j int) bool {
		return drop[i].Snapshot.Time.After(drop[j].Snapshot.Time)
	})
	needed := map[string]string{}
	for _, d := range drop {
		s := d.Snapshot
		if by, ok := needed[s.ID]; ok {
			log.Warn("backup kept: a locked backup builds on it",
				"snapshot", s.ID, "locked_snapshot", by)
			keepBases(s, by, needed)
			continue
		}
		freed, err := forget(ctx, log, r, d, lock, dryRun)
		res.Bytes += freed
		if !res.addRetained(err) && err != nil {
			return err
		}
		var kept *repo.RetainedError
		if errors.As(err, &kept) && kept.Backup != "" {
			log.Warn("backup kept: its manifest is locked",
				"snapshot", s.ID, "until", formatUntil(kept.Until))
			keepBases(s, s.ID, needed)
			continue
		}
		res.Backups++
	}
	return nil
}

// keepBases marks the backups that s's chains build on as needed by
// the locked backup id.
func keepBases(s *repo.Snapshot, id string, needed map[string]string) {
	for _, e := range s.Entries {
		if e.Base != "" {
			needed[e.Base] = id
		}
	}
}

func formatUntil(t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	return t.UTC().Format(time.RFC3339)
}

func forget(ctx context.Context, log *slog.Logger, r *repo.Repo,
	d retention.Decision, lock *repo.Lock, dryRun bool) (int64, error) {
	s := d.Snapshot
	if dryRun {
		objs, err := r.Objects(ctx, s)
		if err != nil {
			return 0, err
		}
		var n int64
		for _, o := range objs {
			n += o.Size
		}
		log.Info("would delete backup", "snapshot", s.ID, "tier", s.Tier,
			"time", s.Time.Format(time.RFC3339), "bytes", n,
			"reason", d.Reason)
		return n, nil
	}
	freed, err := r.DeleteSnapshot(ctx, s, lock)
	var kept *repo.RetainedError
	if errors.As(err, &kept) && kept.Backup != "" {
		return 0, err
	}
	if err != nil && kept == nil {
		return freed, fmt.Errorf("prune backup %s: %w", s.ID, err)
	}
	log.Info("deleted backup", "snapshot", s.ID, "tier", s.Tier,
		"time", s.Time.Format(time.RFC3339), "bytes", freed,
		"reason", d.Reason)
	return freed, err
}

// pruneOrphans removes objects that no backup names. Unreadable
// manifests make it skip this step, with a warning, rather than fail.
func pruneOrphans(ctx context.Context, log *slog.Logger, r *repo.Repo,
	lock *repo.Lock, olderThan time.Time, dryRun bool,
	res *pruneResult) error {
	orphans, err := r.Orphans(ctx, olderThan)
	if errors.Is(err, repo.ErrUnreadableBackups) {
		log.Warn("unnamed objects kept", "error", err.Error())
		return nil
	}
	if err != nil {
		return err
	}
	var bytes int64
	for _, o := range orphans {
		bytes += o.Size
	}
	deleted := len(orphans)
	if !dryRun {
		bytes, err = r.DeleteObjects(ctx, orphans, lock)
		if res.addRetained(err) {
			var kept *repo.RetainedError
			errors.As(err, &kept)
			deleted -= len(kept.Kept)
		} else if err != nil {
			return fmt.Errorf("prune unnamed objects: %w", err)
		}
	}
	res.Objects += deleted
	res.Bytes += bytes
	if deleted > 0 {
		log.Info("unnamed objects", "dry_run", dryRun,
			"objects", deleted, "bytes", bytes)
	}
	return nil
}
