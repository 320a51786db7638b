// Package report builds the evidence report. For each source it gives
// the objectives, the newest backups, the achieved RPO, the last drill
// and the oldest restorable moment. Then it gives the keys, the
// repository size and cost, and a table of controls, each met or not
// met with the figure behind it.
//
// A report is built only from what the repository holds and from the
// objectives, retention and price the caller passes in. The package
// reads no configuration file and no source, and it sends nothing.
package report

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lifeline-backup/lifeline/internal/drill"
	"github.com/lifeline-backup/lifeline/internal/repo"
	"github.com/lifeline-backup/lifeline/internal/retention"
)

// DefaultPricePerGBMonth is the storage price, in USD per GB-month
// (10^9 bytes), used when Input sets none. It is the price of
// Cloudflare R2 standard storage listed at
// https://developers.cloudflare.com/r2/pricing/. The estimate does not
// subtract R2's free 10 GB-month.
const DefaultPricePerGBMonth = 0.015

// DefaultIncrementalInterval is the time between incremental backups
// assumed when Input sets none: the default hourly schedule.
const DefaultIncrementalInterval = time.Hour

// Windows of the achieved RPO and of the restore test control.
const (
	ShortWindow = 7 * 24 * time.Hour
	LongWindow  = 30 * 24 * time.Hour
	// DrillWindow is how recent a passed drill must be for the
	// restores tested control.
	DrillWindow = 92 * 24 * time.Hour
	// KeyMaxAge is the age under which the primary key counts as
	// rotated.
	KeyMaxAge = 365 * 24 * time.Hour
)

// Input is the configuration a report needs besides the repository.
type Input struct {
	// Sources are the configured sources, in the order to report them.
	Sources []Source
	// Retention is the policy in force.
	Retention retention.Policy
	// PricePerGBMonth is the storage price in USD per GB-month;
	// zero selects DefaultPricePerGBMonth.
	PricePerGBMonth float64
	// IncrementalInterval is the time between scheduled incremental
	// backups; zero selects DefaultIncrementalInterval.
	IncrementalInterval time.Duration
	// Now is the time the report is made at; zero means time.Now.
	Now time.Time
}

// Source is one configured source and its objectives.
type Source struct {
	Name       string
	Objectives drill.Objectives
}

// Report is the evidence report at one moment.
type Report struct {
	Generated time.Time
	// Repository names the store, without credentials.
	Repository   string
	RepositoryID string
	Retention    retention.Policy
	// PricePerGBMonth is the price, in USD, the costs are estimated at.
	PricePerGBMonth float64
	// IncrementalInterval is the schedule's time between incrementals.
	IncrementalInterval time.Duration
	Sources             []SourceReport
	Keys                []KeyReport
	Storage             Storage
	Controls            []Control
	// Warnings lists what the repository could not tell, such as
	// manifests or drill results that cannot be read.
	Warnings []string
}

// Build reads the repository and builds the report.
func Build(ctx context.Context, r *repo.Repo, in Input) (*Report, error) {
	in, err := withDefaults(in)
	if err != nil {
		return nil, err
	}
	rep := &Report{
		Generated:           in.Now,
		Repository:          r.Store().String(),
		RepositoryID:        r.ID(),
		Retention:           in.Retention,
		PricePerGBMonth:     in.PricePerGBMonth,
		IncrementalInterval: in.IncrementalInterval,
	}
	snaps, bad, err := r.Snapshots(ctx)
	if err != nil {
		return nil, fmt.Errorf("build report: %w", err)
	}
	rep.warn(bad...)
	drills, bad, err := drill.List(ctx, r)
	if err != nil {
		return nil, fmt.Errorf("build report: %w", err)
	}
	rep.warn(bad...)

	for _, s := range in.Sources {
		sr, err := buildSource(ctx, r, s, snaps, drills, in.Now)
		if err != nil {
			return nil, fmt.Errorf("build report of source %s: %w",
				s.Name, err)
		}
		rep.Sources = append(rep.Sources, sr)
	}
	rep.warnUnconfigured(snaps, in.Sources)
	if rep.Keys, err = buildKeys(ctx, r, snaps, in.Now); err != nil {
		return nil, fmt.Errorf("build report: %w", err)
	}
	if rep.Storage, err = buildStorage(ctx, r, snaps,
		in.PricePerGBMonth); err != nil {
		return nil, fmt.Errorf("build report: %w", err)
	}
	rep.Controls = rep.controls(snaps, in)
	return rep, nil
}

func withDefaults(in Input) (Input, error) {
	if in.PricePerGBMonth < 0 {
		return in, fmt.Errorf("build report: price per GB-month %g is "+
			"negative; set report: price_per_gb_month to 0 or more",
			in.PricePerGBMonth)
	}
	if err := in.Retention.Validate(); err != nil {
		return in, fmt.Errorf("build report: %w", err)
	}
	if in.PricePerGBMonth == 0 {
		in.PricePerGBMonth = DefaultPricePerGBMonth
	}
	if in.IncrementalInterval <= 0 {
		in.IncrementalInterval = DefaultIncrementalInterval
	}
	if in.Now.IsZero() {
		in.Now = time.Now()
	}
	in.Now = in.Now.UTC()
	return in, nil
}

func (rep *Report) warn(errs ...error) {
	for _, err := range errs {
		rep.Warnings = append(rep.Warnings, err.Error())
	}
}

// warnUnconfigured notes sources that have backups but no
// configuration, since the report leaves them out.
func (rep *Report) warnUnconfigured(snaps []*repo.Snapshot,
	sources []Source) {
	configured := map[string]bool{}
	for _, s := range sources {
		configured[s.Name] = true
	}
	for _, s := range snaps {
		for _, name := range s.Sources() {
			if !configured[name] {
				configured[name] = true
				rep.warn(errors.New("source " + name + " has backups " +
					"but is not configured, so the report leaves it out"))
			}
		}
	}
}
