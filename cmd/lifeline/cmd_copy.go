package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/lifeline-backup/lifeline/internal/config"
	"github.com/lifeline-backup/lifeline/internal/repo"
)

type copyOpts struct {
	to        string
	snapshots stringList
	since     string
}

func init() {
	register(&command{
		name:    "copy",
		summary: "copy backups to a second repository",
		usage:   "lifeline copy --to NAME [--snapshot ID]... [--since TIME]",
		help: `Copies backups, with every backup their chains build on, from the
configured repository to the copy NAME under copies: in the config (a
local folder such as an offline disk, or S3). Each copied backup is
re-encrypted under a new data key wrapped by the copy's own keys, so a
leaked key of one repository opens nothing in the other. Backups the
copy already has are skipped, so repeated copies transfer only what is
new. The copy is created if its location is empty.

Without --snapshot or --since every backup is copied. --since takes RFC
3339 or a duration back from now (90m, 36h, 6d).

To restore from the copy when the first repository is gone, point
repository: and keys: of a config at the copy's URL and keys.

Examples:
  lifeline copy --to offsite
  lifeline copy --to offsite --since 2d
  lifeline copy --to disk --snapshot latest`,
		flags: func(fs *flag.FlagSet, env *cmdEnv) {
			o := &copyOpts{}
			env.opts = o
			fs.StringVar(&o.to, "to", "", "the copy `NAME` from copies:")
			fs.Var(&o.snapshots, "snapshot", "copy this backup `ID` "+
				"(repeatable; latest works)")
			fs.StringVar(&o.since, "since", "", "copy the backups started "+
				"at or after `TIME`")
		},
		run: runCopy,
	})
}

func runCopy(ctx context.Context, env *cmdEnv, args []string) error {
	o := env.opts.(*copyOpts)
	if len(args) > 0 {
		return usagef("copy takes no arguments, got %q", args)
	}
	if o.to == "" {
		return usagef("copy: --to NAME is required (a name under copies:)")
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
	ids, err := copySelection(ctx, r, o)
	if err != nil {
		return err
	}
	_, err = doCopy(ctx, log, c, r, o.to, ids)
	return err
}

func copySelection(ctx context.Context, r *repo.Repo,
	o *copyOpts) ([]string, error) {
	var ids []string
	for _, ref := range o.snapshots {
		id, err := r.Resolve(ctx, ref)
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	if o.since != "" {
		t, err := parseAt(o.since, time.Now())
		if err != nil {
			return nil, usagef("--since: %v", err)
		}
		more, err := r.SnapshotsSince(ctx, t)
		if err != nil {
			return nil, err
		}
		ids = append(ids, more...)
	}
	if len(o.snapshots) == 0 && o.since == "" {
		return r.SnapshotsSince(ctx, time.Time{})
	}
	return ids, nil
}

// doCopy copies backups to the named copy, creating it when its
// location is empty; serve shares it.
func doCopy(ctx context.Context, log *slog.Logger, c *config.Config,
	r *repo.Repo, name string, ids []string) (repo.CopyResult, error) {
	cp, ok := c.Copy(name)
	if !ok {
		var names []string
		for _, x := range c.Copies {
			names = append(names, x.Name)
		}
		return repo.CopyResult{}, fmt.Errorf("unknown copy %q: the config "+
			"has %s", name, strings.Join(names, ", "))
	}
	dst, err := openCopy(ctx, log, cp, c.Retention)
	if err != nil {
		return repo.CopyResult{}, err
	}
	log.Info("copy started", "copy", name, "backups", len(ids),
		"to", dst.Store().String())
	res, err := r.Copy(ctx, dst, ids, func(id string) {
		log.Info("backup copied", "copy", name, "snapshot", id)
	})
	log.Info("copy finished", "copy", name, "copied", len(res.Copied),
		"skipped", len(res.Skipped), "objects", res.Objects,
		"bytes", res.Bytes)
	return res, err
}

// openCopy opens the copy's repository with its own keys, and creates
// it when the location is empty. With object_lock, copied backups are
// locked by the retention rt.
func openCopy(ctx context.Context, log *slog.Logger, cp *config.Copy,
	rt config.Retention) (*repo.Repo, error) {
	keys, err := loadKeys(cp.Keys)
	if err != nil {
		return nil, fmt.Errorf("copy %q: %w", cp.Name, err)
	}
	store, err := openStore(ctx, cp.Repository)
	if err != nil {
		return nil, fmt.Errorf("copy %q: %w", cp.Name, err)
	}
	dst, err := repo.Open(ctx, store, keys)
	if errors.Is(err, repo.ErrNotInitialized) {
		log.Info("creating the copy's repository", "copy", cp.Name,
			"at", store.String())
		dst, err = repo.Init(ctx, store, keys, time.Now())
	}
	if err != nil {
		return nil, err
	}
	dst.SetRetention(retainFunc(cp.Repository, rt))
	return dst, nil
}
