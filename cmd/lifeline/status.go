package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/lifeline-backup/lifeline/internal/blob"
	"github.com/lifeline-backup/lifeline/internal/config"
	"github.com/lifeline-backup/lifeline/internal/drill"
	"github.com/lifeline-backup/lifeline/internal/notify"
	"github.com/lifeline-backup/lifeline/internal/repo"
	"github.com/lifeline-backup/lifeline/internal/status"
)

// newStatus builds the status page of the config: its checks, plus a
// backup freshness and a last-drill component per source and one for
// the repository. Confirmed state changes go to the notifiers.
func newStatus(c *config.Config, r *repo.Repo, d *notify.Dispatcher,
	clock status.Clock, log *slog.Logger) (*status.Server, error) {
	refresh := c.Status.Refresh.Std()
	if refresh != 0 && refresh < time.Second {
		return nil, fmt.Errorf("config %s: status refresh %v is "+
			"invalid: use 1s or more", c.Path, refresh)
	}
	if err := os.MkdirAll(filepath.Dir(c.Status.History), 0o700); err != nil {
		return nil, fmt.Errorf("create folder for status history: %w", err)
	}
	cfg := status.Config{
		Title:       c.Status.Title,
		HistoryPath: c.Status.History,
		Refresh:     refresh,
		OnChange: func(ctx context.Context, ch status.Change) {
			var err error
			if ch.To == status.StatusDown || ch.To == status.StatusDegraded {
				err = fmt.Errorf("%s is %s: %s", ch.Name, ch.To,
					changeReason(ch))
			}
			d.Report(ctx, "status", ch.ID, "", err, nil)
		},
	}
	for _, ch := range c.Status.Checks {
		cfg.Checks = append(cfg.Checks, checkConfig(ch))
	}
	interval := cronInterval(c.Schedule.Incremental)
	for i := range c.Sources {
		s := &c.Sources[i]
		objective := s.Objectives.RPO.Std()
		if objective == 0 {
			objective = interval + c.Status.FreshnessMargin.Std()
		}
		cfg.Probes = append(cfg.Probes,
			&status.FreshnessProbe{
				ComponentID:    "backup-" + s.Name,
				ComponentName:  "Backups of " + s.Name,
				ComponentGroup: "Backups",
				Objective:      objective,
				Newest:         newestBackup(r, s.Name),
				Now:            clock.Now,
			},
			&drillProbe{repo: r, source: s.Name})
	}
	cfg.Probes = append(cfg.Probes, &repoProbe{repo: r})
	return status.New(cfg, clock, log)
}

func changeReason(ch status.Change) string {
	if ch.Result.Error != "" {
		return ch.Result.Error
	}
	for _, cond := range ch.Result.Conditions {
		if !cond.Success {
			return cond.Detail
		}
	}
	return ch.Result.Message
}

func checkConfig(ch config.Check) status.CheckConfig {
	follow := true
	if ch.FollowRedirects != nil {
		follow = *ch.FollowRedirects
	}
	out := status.CheckConfig{
		ID: ch.ID, Name: ch.Name, Group: ch.Group, Kind: ch.Type,
		URL: ch.URL, Method: ch.Method, Headers: ch.Headers, Body: ch.Body,
		Interval: ch.Interval.Std(), Timeout: ch.Timeout.Std(),
		FollowRedirects: follow, InsecureTLS: ch.InsecureTLS,
		Conditions: ch.Conditions, DegradedConditions: ch.DegradedConditions,
		FailureThreshold: ch.FailureThreshold,
		SuccessThreshold: ch.SuccessThreshold,
		HideURL:          ch.HideURL, HideErrors: ch.HideErrors,
	}
	if out.Kind == "" {
		out.Kind = "http"
	}
	if out.Name == "" {
		out.Name = ch.ID
	}
	for _, m := range ch.Maintenance {
		out.Maintenance = append(out.Maintenance, status.Window{
			Cron: m.Cron, Daily: m.Daily, Duration: m.Duration.Std()})
	}
	return out
}

// cronInterval returns the time between two runs of a cron expression,
// or an hour when it cannot be parsed (the config check reports that).
func cronInterval(spec string) time.Duration {
	sched, err := cron.ParseStandard(spec)
	if err != nil {
		return time.Hour
	}
	first := sched.Next(time.Now().UTC())
	return sched.Next(first).Sub(first)
}

func newestBackup(r *repo.Repo, src string) func(context.Context) (time.Time,
	error) {
	return func(ctx context.Context) (time.Time, error) {
		snaps, _, err := r.Snapshots(ctx)
		if err != nil {
			return time.Time{}, err
		}
		for i := len(snaps) - 1; i >= 0; i-- {
			for _, e := range snaps[i].Entries {
				if e.Source == src {
					return snaps[i].Time, nil
				}
			}
		}
		return time.Time{}, nil
	}
}

// drillProbe shows the last drill of a source: up when it passed, down
// when it failed, degraded before the first drill.
type drillProbe struct {
	repo   *repo.Repo
	source string
}

func (p *drillProbe) ID() string    { return "drill-" + p.source }
func (p *drillProbe) Name() string  { return "Restore drill of " + p.source }
func (p *drillProbe) Group() string { return "Drills" }
func (p *drillProbe) Kind() string  { return "drill" }

func (p *drillProbe) Probe(ctx context.Context) status.ProbeResult {
	results, _, err := drill.List(ctx, p.repo)
	if err != nil {
		return status.ProbeResult{Status: status.StatusDown,
			Message: "drill results cannot be read", Err: err}
	}
	for i := len(results) - 1; i >= 0; i-- {
		d := results[i]
		if d.Source != p.source {
			continue
		}
		msg := fmt.Sprintf("last drill %s: RTO %s, RPO %s",
			d.Started.Format(time.RFC3339), d.RTO.Round(time.Millisecond),
			d.RPO.Round(time.Second))
		if d.Passed {
			return status.ProbeResult{Status: status.StatusUp,
				Message: msg + ", passed", LastSuccessAt: d.Started}
		}
		return status.ProbeResult{Status: status.StatusDown,
			Message: msg + ", failed", Err: errors.New(
				fmt.Sprint(d.Failures))}
	}
	// Restores never tested are a warning, not an outage.
	return status.ProbeResult{Status: status.StatusDegraded,
		Message: "no drill yet"}
}

// repoProbe shows whether the repository answers.
type repoProbe struct{ repo *repo.Repo }

func (p *repoProbe) ID() string    { return "repository" }
func (p *repoProbe) Name() string  { return "Backup repository" }
func (p *repoProbe) Group() string { return "Backups" }
func (p *repoProbe) Kind() string  { return "repository" }

func (p *repoProbe) Probe(ctx context.Context) status.ProbeResult {
	_, err := p.repo.Store().Stat(ctx, "config")
	if err != nil && !errors.Is(err, blob.ErrNotFound) {
		return status.ProbeResult{Status: status.StatusDown,
			Message: "the repository does not answer", Err: err}
	}
	return status.ProbeResult{Status: status.StatusUp,
		Message: "reachable"}
}
