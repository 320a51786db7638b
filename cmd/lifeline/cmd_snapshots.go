package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"
)

type snapshotsOpts struct{ json bool }

// snapshotRow is one backup as printed by snapshots --json.
type snapshotRow struct {
	ID      string   `json:"id"`
	Time    string   `json:"time"`
	Tier    string   `json:"tier"`
	Sources []string `json:"sources"`
	Records int64    `json:"records"`
	Bytes   int64    `json:"bytes"`
}

func init() {
	register(&command{
		name:    "snapshots",
		summary: "list the backups in the repository",
		usage:   "lifeline snapshots [--json]",
		help: `Lists every committed backup, oldest first: id, start time (RFC 3339,
UTC), tier, sources, records and stored bytes. A backup whose manifest
cannot be read is reported on standard error and the command exits 1
after listing the others.

Examples:
  lifeline snapshots
  lifeline snapshots --json | jq '.[-1].id'`,
		flags: func(fs *flag.FlagSet, env *cmdEnv) {
			o := &snapshotsOpts{}
			env.opts = o
			fs.BoolVar(&o.json, "json", false,
				"print a JSON array with the fields id, time, tier, "+
					"sources, records, bytes")
		},
		run: runSnapshots,
	})
}

func runSnapshots(ctx context.Context, env *cmdEnv, args []string) error {
	o := env.opts.(*snapshotsOpts)
	if len(args) > 0 {
		return usagef("snapshots takes no arguments, got %q", args)
	}
	c, err := env.loadConfig()
	if err != nil {
		return err
	}
	r, err := openRepo(ctx, c)
	if err != nil {
		return err
	}
	snaps, bad, err := r.Snapshots(ctx)
	if err != nil {
		return err
	}
	rows := []snapshotRow{}
	for _, s := range snaps {
		rows = append(rows, snapshotRow{
			ID: s.ID, Time: s.Time.UTC().Format(time.RFC3339),
			Tier: string(s.Tier), Sources: s.Sources(),
			Records: s.Records(), Bytes: s.StoredBytes(),
		})
	}
	if o.json {
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rows); err != nil {
			return err
		}
	} else {
		printSnapshotTable(env, rows)
	}
	if len(bad) > 0 {
		return fmt.Errorf("%d backups cannot be read: %w", len(bad),
			errors.Join(bad...))
	}
	return nil
}

func printSnapshotTable(env *cmdEnv, rows []snapshotRow) {
	tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTIME\tTIER\tSOURCES\tRECORDS\tBYTES")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\n", r.ID, r.Time, r.Tier,
			strings.Join(r.Sources, ","), r.Records, r.Bytes)
	}
	tw.Flush()
	fmt.Fprintf(env.stdout, "%d backups\n", len(rows))
}
