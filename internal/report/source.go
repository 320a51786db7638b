package report

import (
	"context"
	"errors"
	"time"

	"github.com/lifeline-backup/lifeline/internal/drill"
	"github.com/lifeline-backup/lifeline/internal/repo"
)

// SourceReport is the part of the report about one source.
type SourceReport struct {
	Name       string
	Objectives drill.Objectives
	// Backups counts the backups that hold any namespace of the source.
	Backups int
	// Newest holds the newest backup of each tier that has one, in the
	// order incremental, full, complete.
	Newest []Point
	// MaxGap7d and MaxGap30d are the largest gaps between successive
	// backups whose later backup started within the last 7 or 30 days.
	// They are nil when there is no such pair.
	MaxGap7d  *Gap
	MaxGap30d *Gap
	// SinceNewest is the open gap from the newest backup to the
	// report's time; nil when the source has no backup.
	SinceNewest *Gap
	// Timeline lists the backups of the last 30 days, oldest first,
	// with the last backup before the window when there is one.
	Timeline []Point
	// LastDrill is the newest drill of the source and LastPassedDrill
	// the newest that passed; nil when there is none.
	LastDrill       *drill.Result
	LastPassedDrill *drill.Result
	// OldestRestorable is the start of the oldest backup of the source
	// whose every namespace has a complete chain; zero when none has.
	OldestRestorable time.Time
}

// Point is one backup on a timeline.
type Point struct {
	ID   string
	Tier repo.Tier
	Time time.Time
}

// Gap is the time between two backups, or from a backup to the report.
type Gap struct {
	From, To time.Time
	// FromID and ToID are the backups; ToID is empty for an open gap.
	FromID, ToID string
}

// Duration returns the length of the gap.
func (g Gap) Duration() time.Duration { return g.To.Sub(g.From) }

// WorstRPO returns the larger of the 7-day gap and the open gap. The
// controls judge the RPO objective by it. ok is false when the source
// has no backup.
func (sr *SourceReport) WorstRPO() (time.Duration, bool) {
	if sr.SinceNewest == nil {
		return 0, false
	}
	d := sr.SinceNewest.Duration()
	if sr.MaxGap7d != nil && sr.MaxGap7d.Duration() > d {
		d = sr.MaxGap7d.Duration()
	}
	return d, true
}

var tierOrder = []repo.Tier{repo.Incremental, repo.Full, repo.Complete}

func buildSource(ctx context.Context, r *repo.Repo, s Source,
	snaps []*repo.Snapshot, drills []drill.Result,
	now time.Time) (SourceReport, error) {
	sr := SourceReport{Name: s.Name, Objectives: s.Objectives}
	points := sourcePoints(snaps, s.Name, now)
	sr.Backups = len(points)
	sr.Newest = newestByTier(points)
	sr.MaxGap7d = maxGap(points, now.Add(-ShortWindow))
	sr.MaxGap30d = maxGap(points, now.Add(-LongWindow))
	if n := len(points); n > 0 {
		last := points[n-1]
		sr.SinceNewest = &Gap{From: last.Time, To: now, FromID: last.ID}
	}
	sr.Timeline = window(points, now.Add(-LongWindow))
	sr.LastDrill, sr.LastPassedDrill = lastDrills(drills, s.Name)
	oldest, err := oldestRestorable(ctx, r, snaps, s.Name, now)
	if err != nil {
		return sr, err
	}
	sr.OldestRestorable = oldest
	return sr, nil
}

// sourcePoints returns the backups of a source that started at or
// before now, oldest first.
func sourcePoints(snaps []*repo.Snapshot, name string,
	now time.Time) []Point {
	var out []Point
	for _, s := range snaps {
		if s.Time.After(now) || !holds(s, name) {
			continue
		}
		out = append(out, Point{ID: s.ID, Tier: s.Tier, Time: s.Time.UTC()})
	}
	return out
}

func holds(s *repo.Snapshot, name string) bool {
	for _, e := range s.Entries {
		if e.Source == name {
			return true
		}
	}
	return false
}

func newestByTier(points []Point) []Point {
	newest := map[repo.Tier]Point{}
	for _, p := range points {
		newest[p.Tier] = p
	}
	var out []Point
	for _, t := range tierOrder {
		if p, ok := newest[t]; ok {
			out = append(out, p)
		}
	}
	return out
}

// maxGap returns the largest gap between successive points whose later
// point is after since. A gap that began before since counts whole,
// because the data was that old at since.
func maxGap(points []Point, since time.Time) *Gap {
	var best *Gap
	for i := 1; i < len(points); i++ {
		a, b := points[i-1], points[i]
		if !b.Time.After(since) {
			continue
		}
		g := Gap{From: a.Time, To: b.Time, FromID: a.ID, ToID: b.ID}
		if best == nil || g.Duration() > best.Duration() {
			best = &g
		}
	}
	return best
}

// window returns the points after since and the one before them.
func window(points []Point, since time.Time) []Point {
	for i, p := range points {
		if p.Time.After(since) {
			return points[max(i-1, 0):]
		}
	}
	if n := len(points); n > 0 {
		return points[n-1:]
	}
	return nil
}

func lastDrills(drills []drill.Result,
	name string) (last, passed *drill.Result) {
	for i := range drills {
		d := &drills[i]
		if d.Source != name {
			continue
		}
		if last == nil || d.Started.After(last.Started) {
			last = d
		}
		if d.Passed && (passed == nil || d.Started.After(passed.Started)) {
			passed = d
		}
	}
	return last, passed
}

// oldestRestorable returns the start of the oldest backup of the source
// whose chains are complete: every base manifest is present and
// readable. Chunks are not read; 'lifeline check' does that.
func oldestRestorable(ctx context.Context, r *repo.Repo,
	snaps []*repo.Snapshot, name string, now time.Time) (time.Time, error) {
	for _, s := range snaps {
		if s.Time.After(now) || !holds(s, name) {
			continue
		}
		ok, err := chainsComplete(ctx, r, s, name)
		if err != nil {
			return time.Time{}, err
		}
		if ok {
			return s.Time.UTC(), nil
		}
	}
	return time.Time{}, nil
}

func chainsComplete(ctx context.Context, r *repo.Repo, s *repo.Snapshot,
	name string) (bool, error) {
	for _, e := range s.Entries {
		if e.Source != name {
			continue
		}
		if _, err := r.Chain(ctx, s, name, e.Namespace); err != nil {
			if ctx.Err() != nil {
				return false, errors.Join(ctx.Err(), err)
			}
			return false, nil
		}
	}
	return true, nil
}
