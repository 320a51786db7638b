package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/lifeline-backup/lifeline/internal/backup"
	"github.com/lifeline-backup/lifeline/internal/codec"
	"github.com/lifeline-backup/lifeline/internal/config"
	"github.com/lifeline-backup/lifeline/internal/repo"
	"github.com/lifeline-backup/lifeline/internal/source"
)

type backupOpts struct {
	tier    string
	sources stringList
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(v string) error {
	*l = append(*l, v)
	return nil
}

func init() {
	register(&command{
		name:    "backup",
		summary: "back up the configured sources",
		usage:   "lifeline backup [--tier incremental|full|complete] [--source NAME]...",
		help: `Backs up every namespace of the named sources (default: all) into one
backup. Sources are read in parallel. The backup becomes visible only
once its manifest is stored, after every object it names; an interrupted
backup leaves nothing that restore or check would take for a backup.

A source that fails (unreachable, unknown namespace) is reported and
left out; the other sources are still committed, and the command exits
with status 1.

Examples:
  lifeline backup --tier full
  lifeline backup --tier full --source cache --source app`,
		flags: func(fs *flag.FlagSet, env *cmdEnv) {
			o := &backupOpts{}
			env.opts = o
			fs.StringVar(&o.tier, "tier", "full",
				"backup `tier`: incremental, full or complete")
			fs.Var(&o.sources, "source",
				"back up only this source `NAME` (repeatable)")
		},
		run: runBackup,
	})
}

func runBackup(ctx context.Context, env *cmdEnv, args []string) error {
	o := env.opts.(*backupOpts)
	if len(args) > 0 {
		return usagef("backup takes no arguments, got %q", args)
	}
	tier, err := repo.ParseTier(o.tier)
	if err != nil {
		return usagef("--tier: %v", err)
	}
	ss, err := env.openSession(ctx, o.sources,
		func(log *slog.Logger, srcs []*config.Source) []*config.Source {
			return sourcesInTier(log, srcs, tier)
		})
	if err != nil {
		return err
	}

	targets, closeAll, err := openBackupSources(ss.srcs)
	if err != nil {
		return err
	}
	defer closeAll()
	m, err := doBackup(ctx, ss.log, ss.repo, targets, tier,
		compression(ss.cfg), newProgress(env.stderr, "backing up"))
	reportBackup(ctx, ss.notify, sourceNames(targets), tier, m, err)
	return err
}

// openBackupSources opens the adapters of the configured sources; the
// returned function closes them.
func openBackupSources(srcs []*config.Source) ([]backup.Source, func(),
	error) {
	var targets []backup.Source
	closeAll := func() {
		for _, t := range targets {
			t.Src.Close()
		}
	}
	for _, s := range srcs {
		src, err := openSource(s)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		targets = append(targets, backup.Source{Name: s.Name, Type: s.Type,
			Src: src})
	}
	return targets, closeAll, nil
}

func sourceNames(targets []backup.Source) []string {
	var out []string
	for _, t := range targets {
		out = append(out, t.Name)
	}
	return out
}

// doBackup runs one backup and logs its steps; demo shares it.
func doBackup(ctx context.Context, log *slog.Logger, r *repo.Repo,
	targets []backup.Source, tier repo.Tier, comp codec.Compression,
	prog *progressLine) (*repo.Manifest, error) {
	began := time.Now()
	log.Info("backup started", "tier", tier, "sources", len(targets))
	defer prog.clear()
	m, err := backup.Run(ctx, r, targets, backup.Options{
		Tier:        tier,
		Compression: comp,
		Progress: func(p backup.Progress) {
			prog.update(p.Source+"/"+p.Namespace, p.Records)
			if !p.Done {
				return
			}
			prog.clear()
			if p.Full {
				log.Info("no earlier backup of the namespace: taking a "+
					"full one", "source", p.Source, "namespace", p.Namespace)
			}
			// Outside serve a Redis source follows nothing, and the
			// comparison is the expected way.
			if p.FeedErr != nil &&
				!errors.Is(p.FeedErr, source.ErrNotFollowing) {
				log.Info("change feed unavailable: compared a full read "+
					"with the change index", "source", p.Source,
					"namespace", p.Namespace, "reason", p.FeedErr.Error())
			}
			log.Info("namespace backed up", "source", p.Source,
				"namespace", p.Namespace, "records", p.Records,
				"tombstones", p.Tombstones, "bytes", p.Bytes,
				"duration_ms", p.Elapsed.Milliseconds())
		},
	})
	if m != nil {
		log.Info("backup committed", "snapshot", m.ID, "tier", m.Tier,
			"records", m.Records(), "bytes", m.StoredBytes(),
			"duration_ms", time.Since(began).Milliseconds())
	}
	if err != nil {
		return m, fmt.Errorf("backup: %w", err)
	}
	return m, nil
}

// selectSources returns the configured sources with the given names, or
// all when names is empty.
func selectSources(c *config.Config, names []string) ([]*config.Source,
	error) {
	if len(c.Sources) == 0 {
		return nil, fmt.Errorf("config %s has no sources", c.Path)
	}
	if len(names) == 0 {
		var all []*config.Source
		for i := range c.Sources {
			all = append(all, &c.Sources[i])
		}
		return all, nil
	}
	var out []*config.Source
	for _, n := range names {
		s, ok := c.Source(n)
		if !ok {
			return nil, fmt.Errorf("unknown source %q: the config has %s",
				n, strings.Join(c.SourceNames(), ", "))
		}
		out = append(out, s)
	}
	return out, nil
}

// sourcesInTier leaves out the sources that backups of the tier do not
// capture, and the drill targets, which hold only scratch data; it logs
// each one it leaves out.
func sourcesInTier(log *slog.Logger, srcs []*config.Source,
	tier repo.Tier) []*config.Source {
	scratch := drillTargets(srcs)
	var out []*config.Source
	for _, s := range srcs {
		switch {
		case scratch[s.Name]:
			log.Info("source left out: it is a drill target",
				"source", s.Name)
		case !s.InTier(string(tier)):
			log.Info("source left out: only complete backups capture it",
				"source", s.Name, "type", s.Type, "tier", tier)
		default:
			out = append(out, s)
		}
	}
	return out
}

// drillTargets returns the names of the sources that others name as
// their drill target.
func drillTargets(srcs []*config.Source) map[string]bool {
	out := map[string]bool{}
	for _, s := range srcs {
		if s.Drill.Target != "" {
			out[s.Drill.Target] = true
		}
	}
	return out
}
