package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/lifeline-backup/lifeline/internal/repo"
	"github.com/lifeline-backup/lifeline/internal/retention"
)

// Control is one line of the summary of controls.
type Control struct {
	// ID is a stable snake_case name, such as "backups_running".
	ID    string
	Title string
	// Scope is the source the control is about, or "repository".
	Scope string
	Met   bool
	// Figure is the measurement behind Met, in words.
	Figure string
}

// The controls, by ID.
const (
	BackupsRunning   = "backups_running"
	ObjectivesMet    = "objectives_met"
	RestoresTested   = "restores_tested"
	RetentionApplied = "retention_applied"
	KeysRotated      = "keys_rotated"
)

var controlTitles = map[string]string{
	BackupsRunning:   "Backups running",
	ObjectivesMet:    "Objectives met",
	RestoresTested:   "Restores tested",
	RetentionApplied: "Retention applied",
	KeysRotated:      "Encryption keys rotated",
}

const repositoryScope = "repository"

func newControl(id, scope string, met bool, format string,
	args ...any) Control {
	return Control{ID: id, Title: controlTitles[id], Scope: scope,
		Met: met, Figure: fmt.Sprintf(format, args...)}
}

func (rep *Report) controls(snaps []*repo.Snapshot, in Input) []Control {
	var out []Control
	for i := range rep.Sources {
		sr := &rep.Sources[i]
		out = append(out, backupsRunning(sr, in.IncrementalInterval),
			objectivesMet(sr), restoresTested(sr, in.Now))
	}
	return append(out, retentionApplied(snaps, in.Retention, in.Now),
		rep.keysRotated())
}

// backupsRunning is met when the newest backup is younger than the RPO
// objective, or than twice the incremental interval without one.
func backupsRunning(sr *SourceReport, interval time.Duration) Control {
	limit, basis := sr.Objectives.RPO, "the RPO objective"
	if limit <= 0 {
		limit, basis = 2*interval, "twice the incremental interval"
	}
	if sr.SinceNewest == nil {
		return newControl(BackupsRunning, sr.Name, false,
			"no backup of the source")
	}
	age := sr.SinceNewest.Duration()
	return newControl(BackupsRunning, sr.Name, age < limit,
		"newest backup %s old; limit %s (%s)", human(age), human(limit),
		basis)
}

// objectivesMet is met when every objective set holds: the RPO by the
// worst gap, the RTO by the last drill. A source without objectives
// does not meet it, because nothing states what it must achieve.
func objectivesMet(sr *SourceReport) Control {
	o := sr.Objectives
	if o.RPO <= 0 && o.RTO <= 0 {
		return newControl(ObjectivesMet, sr.Name, false,
			"no objectives set (objectives: rpo, rto)")
	}
	met := true
	var figures []string
	if o.RPO > 0 {
		rpo, ok := sr.WorstRPO()
		switch {
		case !ok:
			met = false
			figures = append(figures, "RPO: no backup")
		default:
			met = met && rpo <= o.RPO
			figures = append(figures, fmt.Sprintf("RPO %s (objective %s)",
				human(rpo), human(o.RPO)))
		}
	}
	if o.RTO > 0 {
		d := sr.LastDrill
		switch {
		case d == nil:
			met = false
			figures = append(figures, "RTO: no drill")
		default:
			met = met && d.RTO <= o.RTO
			figures = append(figures, fmt.Sprintf("RTO %s in drill %s "+
				"(objective %s)", human(d.RTO), d.ID, human(o.RTO)))
		}
	}
	return newControl(ObjectivesMet, sr.Name, met, "%s",
		strings.Join(figures, "; "))
}

// restoresTested is met by a passed drill within DrillWindow.
func restoresTested(sr *SourceReport, now time.Time) Control {
	d := sr.LastPassedDrill
	if d == nil {
		return newControl(RestoresTested, sr.Name, false,
			"no passed drill; limit %s", human(DrillWindow))
	}
	age := now.Sub(d.Started)
	return newControl(RestoresTested, sr.Name, age <= DrillWindow,
		"last passed drill %s, %s ago; limit %s", d.ID, human(age),
		human(DrillWindow))
}

// retentionApplied is met when the policy would delete no backup: every
// backup is within its tier's retention, a base of a kept backup, or
// the newest of a namespace.
func retentionApplied(snaps []*repo.Snapshot, p retention.Policy,
	now time.Time) Control {
	var past []*repo.Snapshot
	for _, d := range retention.Plan(snaps, p, now) {
		if !d.Keep {
			past = append(past, d.Snapshot)
		}
	}
	if len(past) == 0 {
		return newControl(RetentionApplied, repositoryScope, true,
			"%d backups, none past retention", len(snaps))
	}
	return newControl(RetentionApplied, repositoryScope, false,
		"%d of %d backups past retention; oldest %s (%s, %s)",
		len(past), len(snaps), past[0].ID, past[0].Tier,
		formatTime(past[0].Time))
}

// keysRotated is met when the primary key is younger than KeyMaxAge.
func (rep *Report) keysRotated() Control {
	for _, k := range rep.Keys {
		if !k.Primary {
			continue
		}
		if k.Added.IsZero() {
			return newControl(KeysRotated, repositoryScope, false,
				"age of primary key %s unknown", k.ID)
		}
		return newControl(KeysRotated, repositoryScope, k.Age < KeyMaxAge,
			"primary key %s is %s old; limit %s", k.ID, human(k.Age),
			human(KeyMaxAge))
	}
	return newControl(KeysRotated, repositoryScope, false,
		"no primary key")
}
