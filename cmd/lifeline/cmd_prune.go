package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
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
	for _, d := range retention.Plan(snaps, policy, now()) {
		if d.Keep {
			continue
		}
		freed, err := forget(ctx, log, r, d, lock, dryRun)
		if err != nil {
			return res, err
		}
		res.Backups++
		res.Bytes += freed
	}
	if err := pruneOrphans(ctx, log, r, lock, now().Add(-rc.Grace.Std()),
		dryRun, &res); err != nil {
		return res, err
	}
	log.Info("prune finished", "dry_run", dryRun, "backups", res.Backups,
		"objects", res.Objects, "bytes", res.Bytes,
		"unreadable_backups", len(bad))
	return res, nil
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
	if err != nil {
		return freed, fmt.Errorf("prune backup %s: %w", s.ID, err)
	}
	log.Info("deleted backup", "snapshot", s.ID, "tier", s.Tier,
		"time", s.Time.Format(time.RFC3339), "bytes", freed,
		"reason", d.Reason)
	return freed, nil
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
	if !dryRun {
		if bytes, err = r.DeleteObjects(ctx, orphans, lock); err != nil {
			return fmt.Errorf("prune unnamed objects: %w", err)
		}
	}
	res.Objects += len(orphans)
	res.Bytes += bytes
	if len(orphans) > 0 {
		log.Info("unnamed objects", "dry_run", dryRun,
			"objects", len(orphans), "bytes", bytes)
	}
	return nil
}
