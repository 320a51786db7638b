package main

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lifeline-backup/lifeline/internal/repo"
	"github.com/lifeline-backup/lifeline/internal/restore"
)

type diffOpts struct {
	at         stringList
	sources    stringList
	namespaces stringList
	format     string
}

func init() {
	register(&command{
		name:    "diff",
		summary: "show what changed between two backups or two moments",
		usage: "lifeline diff [--source NAME]... [--namespace NAME]... " +
			"[--diff-format text|json] FROM TO",
		help: `Compares two points and prints, per namespace, how many records were
added, changed, deleted and left unchanged from FROM to TO, with up to
ten sample keys of each kind (non-printable bytes escaped). It reads only
the change indexes, never the data.

FROM and TO are backup ids (or unique prefixes, or latest). Give --at
TIME instead of a positional argument for a moment: the state of the
newest backup not later than it. TIME is RFC 3339 or a duration back
from now (90m, 36h, 6d).

Examples:
  lifeline diff 20261201T020000Z-1a2b3c4d latest
  lifeline diff --at 36h --at 1h --source cache
  lifeline diff --diff-format json --at 6d latest`,
		flags: func(fs *flag.FlagSet, env *cmdEnv) {
			o := &diffOpts{}
			env.opts = o
			fs.Var(&o.at, "at", "a point given as `TIME` (repeatable)")
			fs.Var(&o.sources, "source", "compare only this source `NAME`")
			fs.Var(&o.namespaces, "namespace",
				"compare only this namespace `NAME`")
			fs.StringVar(&o.format, "diff-format", "text",
				"output `format`: text or json")
		},
		run: runDiff,
	})
}

// point is one side of a diff: a backup, or the newest state at a time.
type point struct {
	ref string
	at  time.Time
}

func runDiff(ctx context.Context, env *cmdEnv, args []string) error {
	o := env.opts.(*diffOpts)
	if err := checkDiffFormat(o.format); err != nil {
		return err
	}
	var points []point
	for _, a := range args {
		points = append(points, point{ref: a})
	}
	for _, a := range o.at {
		t, err := parseAt(a, time.Now())
		if err != nil {
			return usagef("--at: %v", err)
		}
		points = append(points, point{at: t})
	}
	if len(points) != 2 {
		return usagef("diff needs two points (backup ids or --at times), "+
			"got %d", len(points))
	}
	c, err := env.loadConfig()
	if err != nil {
		return err
	}
	r, err := openRepo(ctx, c)
	if err != nil {
		return err
	}
	from, err := pointChains(ctx, r, points[0], o.sources, o.namespaces)
	if err != nil {
		return err
	}
	to, err := pointChains(ctx, r, points[1], o.sources, o.namespaces)
	if err != nil {
		return err
	}
	reports, err := compareChains(ctx, r, from, to)
	if err != nil {
		return err
	}
	return printDiffs(env.stdout, o.format, reports)
}

// pointChains returns the chain of each selected namespace at one point,
// keyed by "source/namespace".
func pointChains(ctx context.Context, r *repo.Repo, p point, sources,
	namespaces []string) (map[string][]repo.Part, error) {
	chains, err := restore.Chains(ctx, r, restore.Selection{
		Snapshot: p.ref, AtSnapshot: true, At: p.at, Sources: sources,
		Namespaces: namespaces})
	if err != nil {
		return nil, err
	}
	out := map[string][]repo.Part{}
	for _, ch := range chains {
		out[ch[0].Entry.Source+"/"+ch[0].Entry.Namespace] = ch
	}
	return out, nil
}

func compareChains(ctx context.Context, r *repo.Repo, from,
	to map[string][]repo.Part) ([]diffReport, error) {
	var names []string
	for k := range from {
		names = append(names, k)
	}
	for k := range to {
		if _, ok := from[k]; !ok {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	var reports []diffReport
	for _, name := range names {
		d, err := restore.Compare(ctx, r, from[name], to[name])
		if err != nil {
			return nil, fmt.Errorf("diff %s: %w", name, err)
		}
		src, ns, _ := strings.Cut(name, "/")
		reports = append(reports, newDiffReport(src, ns, "", d))
	}
	return reports, nil
}
