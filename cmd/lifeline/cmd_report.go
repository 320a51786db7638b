package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/lifeline-backup/lifeline/internal/config"
	"github.com/lifeline-backup/lifeline/internal/drill"
	"github.com/lifeline-backup/lifeline/internal/report"
	"github.com/lifeline-backup/lifeline/internal/retention"
)

type reportOpts struct {
	format string
	out    string
}

func init() {
	register(&command{
		name:    "report",
		summary: "write the evidence report of backups, drills and keys",
		usage:   "lifeline report [--format markdown|json|html] [--out FILE]",
		help: `Writes the evidence report, built only from what the repository holds
and from the configuration's objectives, retention and storage price.

For each configured source: its RPO and RTO objectives; the newest
backup of each tier; the achieved RPO, as the largest gap between
successive backups over the last 7 and 30 days and the time since the
newest backup; the last drill with its measured RTO, RPO and result;
and the oldest restorable moment (the oldest backup whose chain is
complete). Then every key with its age and the backups it protects,
the repository size by tier with the estimated monthly cost
(report.price_per_gb_month, default 0.015 USD per GB-month), and a
table of controls, each met or not met with the figure behind it:

  backups running    newest backup younger than the RPO objective, or
                     than twice the incremental interval without one
  objectives met     worst RPO gap of 7 days and last drill's RTO within
                     the objectives
  restores tested    a passed drill within the last 92 days
  retention applied  no backup that the retention policy would delete
  keys rotated       primary key younger than 365 days

Markdown reads as plain text too. JSON follows docs/report.schema.json:
snake_case fields, times in RFC 3339 UTC, RPOs and ages in seconds,
RTOs in milliseconds. HTML is one page with an inline SVG chart of the
backups and RPO gaps per source, and no external assets.

A control that is not met does not change the exit status: the report
is the evidence, not the alert.

Examples:
  lifeline report
  lifeline report --format html --out report.html
  lifeline report --format json | jq '.controls[] | select(.met | not)'`,
		flags: func(fs *flag.FlagSet, env *cmdEnv) {
			o := &reportOpts{}
			env.opts = o
			fs.StringVar(&o.format, "format", "markdown", "output `FORMAT`: "+
				"markdown, json or html")
			fs.StringVar(&o.out, "out", "", "write the report to `FILE` "+
				"instead of standard output")
		},
		run: runReport,
	})
}

func runReport(ctx context.Context, env *cmdEnv, args []string) error {
	o := env.opts.(*reportOpts)
	if len(args) > 0 {
		return usagef("report takes no arguments, got %q", args)
	}
	render, err := renderer(o.format)
	if err != nil {
		return err
	}

	c, err := env.loadConfig()
	if err != nil {
		return err
	}
	in, err := reportInput(c, time.Now())
	if err != nil {
		return err
	}
	r, err := openRepo(ctx, c)
	if err != nil {
		return err
	}
	rep, err := report.Build(ctx, r, in)
	if err != nil {
		return err
	}

	var buf bytes.Buffer
	if err := render(rep, &buf); err != nil {
		return fmt.Errorf("render report as %s: %w", o.format, err)
	}
	if o.out == "" {
		_, err := env.stdout.Write(buf.Bytes())
		return err
	}
	return writeFileAtomic(o.out, buf.Bytes())
}

type renderFunc func(rep *report.Report, buf *bytes.Buffer) error

func renderer(format string) (renderFunc, error) {
	switch format {
	case "markdown", "md":
		return func(rep *report.Report, b *bytes.Buffer) error {
			return rep.Markdown(b)
		}, nil
	case "json":
		return func(rep *report.Report, b *bytes.Buffer) error {
			return rep.JSON(b)
		}, nil
	case "html":
		return func(rep *report.Report, b *bytes.Buffer) error {
			return rep.HTML(b)
		}, nil
	}
	return nil, usagef("--format %q is invalid: use markdown, json or "+
		"html", format)
}

// reportInput takes the sources, objectives, retention, price and
// incremental interval from the configuration.
func reportInput(c *config.Config, now time.Time) (report.Input, error) {
	rc := c.Retention
	in := report.Input{
		Retention: retention.Policy{Incremental: rc.Incremental.Std(),
			Full: rc.Full.Std(), Complete: rc.Complete.Std()},
		PricePerGBMonth: c.Report.PricePerGBMonth,
		Now:             now,
	}
	for _, s := range c.Sources {
		in.Sources = append(in.Sources, report.Source{Name: s.Name,
			Objectives: drill.Objectives{RPO: s.Objectives.RPO.Std(),
				RTO: s.Objectives.RTO.Std()}})
	}
	interval, err := scheduleInterval(c.Schedule.Incremental, now)
	if err != nil {
		return in, fmt.Errorf("schedule: incremental %q is invalid: %w",
			c.Schedule.Incremental, err)
	}
	in.IncrementalInterval = interval
	return in, nil
}

// scheduleInterval returns the longest time between two successive due
// times of a cron expression, over its next 1000 due times or 35 days
// after now, whichever ends first.
func scheduleInterval(spec string, now time.Time) (time.Duration, error) {
	spec = strings.TrimSpace(spec)
	// robfig/cron v3.0.1 panics on a "TZ=" prefix without a following
	// space, and schedules run in UTC anyway.
	if strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=") {
		return 0, errors.New("time zone prefixes are not supported, all " +
			"times are UTC")
	}
	sched, err := cron.ParseStandard(spec)
	if err != nil {
		return 0, err
	}
	var maxInterval time.Duration
	end := now.Add(35 * 24 * time.Hour)
	t := sched.Next(now.UTC())
	for range 1000 {
		next := sched.Next(t)
		if t.IsZero() || next.IsZero() || next.After(end) {
			break
		}
		maxInterval = max(maxInterval, next.Sub(t))
		t = next
	}
	if maxInterval == 0 {
		return 0, errors.New("it is due less than twice in 35 days")
	}
	return maxInterval, nil
}

// writeFileAtomic writes data to a temporary file next to path and
// renames it over path, so a reader never sees half a report.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}
