package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/lifeline-backup/lifeline/internal/config"
	"github.com/lifeline-backup/lifeline/internal/drill"
	"github.com/lifeline-backup/lifeline/internal/repo"
	"github.com/lifeline-backup/lifeline/internal/restore"
)

type drillOpts struct {
	sources stringList
	at      string
}

func init() {
	register(&command{
		name:    "drill",
		summary: "test a restore and measure RTO and RPO",
		usage:   "lifeline drill [--source NAME]... [--at TIME]",
		help: `For each source (default: all), restores its newest backup, or its state
at TIME, into a scratch target: the source's drill.target (another
configured source of the same type, such as a spare Redis database), or
for bbolt without one a temporary file. The target must be empty. Then
it compares every restored record with the backup (value, metadata,
expiry within drill.expiry_tolerance, no key missing or extra),
measures the restore's wall time (the RTO achieved) and the age of the
restored data when the drill started (the RPO achieved), empties the
target again, and stores the result, encrypted, in the repository.

A drill fails when the data differs or an objective (objectives: rpo,
rto of the source) is missed; a failure is notified and the command
exits 1. A configuration whose drill target is the source itself is
refused.

Examples:
  lifeline drill
  lifeline drill --source cache --at 36h`,
		flags: func(fs *flag.FlagSet, env *cmdEnv) {
			o := &drillOpts{}
			env.opts = o
			fs.Var(&o.sources, "source", "drill only this source `NAME` "+
				"(repeatable)")
			fs.StringVar(&o.at, "at", "", "restore the state at `TIME` "+
				"(RFC 3339 or 90m, 36h, 6d) instead of the newest backup")
		},
		run: runDrill,
	})
}

func runDrill(ctx context.Context, env *cmdEnv, args []string) error {
	o := env.opts.(*drillOpts)
	if len(args) > 0 {
		return usagef("drill takes no arguments, got %q", args)
	}
	var at time.Time
	if o.at != "" {
		var err error
		if at, err = parseAt(o.at, time.Now()); err != nil {
			return usagef("--at: %v", err)
		}
	}
	ss, err := env.openSession(ctx, o.sources,
		drillable)
	if err != nil {
		return err
	}

	var failed []string
	for _, s := range ss.srcs {
		res, err := drillSource(ctx, ss.log, ss.cfg, ss.repo, s, at,
			time.Now)
		err = drillError(s.Name, res, err)
		ss.notify.Report(context.WithoutCancel(ctx), "drill", s.Name, "",
			err, nil)
		if err != nil {
			failed = append(failed, err.Error())
		}
	}
	if len(failed) > 0 {
		return errors.New(strings.Join(failed, "; "))
	}
	return nil
}

// drillable leaves out the sources a drill of all cannot or must not
// restore: scratch targets of other sources, and sources other than
// bbolt without a drill target. Each one left out is logged.
func drillable(log *slog.Logger, srcs []*config.Source) []*config.Source {
	scratch := drillTargets(srcs)
	var out []*config.Source
	for _, s := range srcs {
		switch {
		case scratch[s.Name]:
			log.Info("source left out: it is a drill target",
				"source", s.Name)
		case s.Type != "bolt" && s.Drill.Target == "":
			log.Info("source left out: no drill target configured",
				"source", s.Name)
		default:
			out = append(out, s)
		}
	}
	return out
}

// drillError turns a drill that ran but failed into an error.
func drillError(name string, res *drill.Result, err error) error {
	if err != nil {
		return err
	}
	if !res.Passed {
		return fmt.Errorf("drill of %s failed: %s", name,
			strings.Join(res.Failures, "; "))
	}
	return nil
}

// drillSource runs one drill and logs its result; serve shares it.
func drillSource(ctx context.Context, log *slog.Logger, c *config.Config,
	r *repo.Repo, s *config.Source, at time.Time,
	now func() time.Time) (*drill.Result, error) {
	sel := restore.Selection{Sources: []string{s.Name}, At: at}
	if at.IsZero() {
		sel.At = now()
	}
	chains, err := restore.Chains(ctx, r, sel)
	if err != nil {
		return nil, fmt.Errorf("drill of %s: %w", s.Name, err)
	}
	target, cleanup, err := drillTarget(c, s)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	spec := drill.Spec{
		Source:          s.Name,
		Objectives:      drill.Objectives{RPO: s.Objectives.RPO.Std(), RTO: s.Objectives.RTO.Std()},
		Target:          target,
		TargetNamespace: func(ns string) string { return ns },
		Chains:          chains,
		ExpiryTolerance: c.Drill.ExpiryTolerance.Std(),
		Now:             now,
	}
	if ts, ok := c.Source(target.Name); ok {
		spec.TargetNamespace = func(ns string) string {
			name, err := targetNamespace(ctx, ts, target.Src, ns)
			if err != nil {
				return ns
			}
			return name
		}
	}
	log.Info("drill started", "source", s.Name, "target", target.Name,
		"namespaces", len(chains))
	res, err := drill.Run(ctx, r, spec)
	if err != nil {
		return nil, err
	}
	logDrill(log, res)
	return res, nil
}

// drillTarget opens the scratch target of a source: its drill.target, or
// a temporary bbolt file.
func drillTarget(c *config.Config, s *config.Source) (restore.Target,
	func(), error) {
	name := s.Drill.Target
	if name == "" {
		if s.Type != "bolt" {
			return restore.Target{}, nil, fmt.Errorf("drill of %s: no "+
				"drill target configured; set drill: {target: NAME} on the "+
				"source, naming a spare %s source", s.Name, s.Type)
		}
		dir, err := os.MkdirTemp("", "lifeline-drill-")
		if err != nil {
			return restore.Target{}, nil, err
		}
		tmp := &config.Source{Name: s.Name + "-drill", Type: "bolt",
			Path: filepath.Join(dir, "drill.db")}
		src, err := openSource(tmp)
		if err != nil {
			os.RemoveAll(dir)
			return restore.Target{}, nil, err
		}
		return restore.Target{Name: tmp.Name, Type: "bolt", Src: src},
			func() { src.Close(); os.RemoveAll(dir) }, nil
	}
	ts, _ := c.Source(name)
	src, err := openSource(ts)
	if err != nil {
		return restore.Target{}, nil, err
	}
	return restore.Target{Name: ts.Name, Type: ts.Type, Src: src},
		func() { src.Close() }, nil
}

func logDrill(log *slog.Logger, res *drill.Result) {
	attrs := []any{"source", res.Source, "drill", res.ID,
		"passed", res.Passed, "rto_ms", res.RTO.Milliseconds(),
		"rpo_ms", res.RPO.Milliseconds(),
		"snapshots", strings.Join(res.Snapshots, ",")}
	for _, nr := range res.Namespaces {
		log.Info("drill namespace", "source", res.Source,
			"namespace", nr.Namespace, "restored", nr.Restored,
			"checked", nr.Checked, "differences", nr.Differences)
	}
	if res.Passed {
		log.Info("drill passed", attrs...)
		return
	}
	log.Error("drill failed", append(attrs, "failures",
		strings.Join(res.Failures, "; "))...)
}

type drillsOpts struct{ json bool }

func init() {
	register(&command{
		name:    "drills",
		summary: "list the drills stored in the repository",
		usage:   "lifeline drills [--json]",
		help: `Lists every drill result in the repository, oldest first: id, source,
result, measured RTO and RPO, and the backups restored.

Examples:
  lifeline drills
  lifeline drills --json`,
		flags: func(fs *flag.FlagSet, env *cmdEnv) {
			o := &drillsOpts{}
			env.opts = o
			fs.BoolVar(&o.json, "json", false, "print a JSON array of results")
		},
		run: runDrills,
	})
}

func runDrills(ctx context.Context, env *cmdEnv, args []string) error {
	o := env.opts.(*drillsOpts)
	if len(args) > 0 {
		return usagef("drills takes no arguments, got %q", args)
	}
	c, err := env.loadConfig()
	if err != nil {
		return err
	}
	r, err := openRepo(ctx, c)
	if err != nil {
		return err
	}
	results, bad, err := drill.List(ctx, r)
	if err != nil {
		return err
	}
	if o.json {
		if results == nil {
			results = []drill.Result{}
		}
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(results); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tSOURCE\tRESULT\tRTO\tRPO\tBACKUPS")
		for _, d := range results {
			verdict := "passed"
			if !d.Passed {
				verdict = "FAILED: " + strings.Join(d.Failures, "; ")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\n", d.ID, d.Source,
				verdict, d.RTO.Round(time.Millisecond),
				d.RPO.Round(time.Second), len(d.Snapshots))
		}
		tw.Flush()
	}
	if len(bad) > 0 {
		return fmt.Errorf("%d drill results cannot be read: %w", len(bad),
			errors.Join(bad...))
	}
	return nil
}
