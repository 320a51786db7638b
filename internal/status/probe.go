package status

import (
	"context"
	"fmt"
	"time"
)

// Probe is a built-in component whose state the daemon computes, such
// as the freshness of a source's backups.
type Probe interface {
	// ID identifies the component, like CheckConfig.ID.
	ID() string
	// Name is shown on the page.
	Name() string
	// Group is the heading under which the component is shown.
	Group() string
	// Kind is shown in the API, such as "freshness".
	Kind() string
	// Probe computes the current state. It should return when ctx is
	// done.
	Probe(ctx context.Context) ProbeResult
}

// ProbeResult is the outcome of one Probe call. Probe results confirm
// a state at once, without thresholds, because they are computed from
// stored facts rather than from a network request that may flap.
type ProbeResult struct {
	// Status is StatusUp, StatusDegraded or StatusDown.
	Status Status
	// Message is shown on the page and in the API, so it must not
	// contain secrets or internal addresses.
	Message string
	// Err is the cause of a failure, for operators: it goes to
	// Change events, never to the page.
	Err error
	// LastSuccessAt is the time of the last success, such as the
	// newest backup. Zero means unknown.
	LastSuccessAt time.Time
	// AgeSeconds is the age of LastSuccessAt when the probe ran.
	AgeSeconds int64
}

// Freshness returns the state of a backup of the given age against its
// objective: up while age < objective, degraded while
// age < 2×objective, down beyond.
func Freshness(age, objective time.Duration) Status {
	switch {
	case age < objective:
		return StatusUp
	case age < 2*objective:
		return StatusDegraded
	}
	return StatusDown
}

// FreshnessProbe is a Probe that reports the age of the newest backup
// of a source against an objective, such as the RPO or the schedule
// interval plus a margin.
type FreshnessProbe struct {
	// ComponentID, ComponentName and ComponentGroup are returned by
	// ID, Name and Group.
	ComponentID    string
	ComponentName  string
	ComponentGroup string
	// Objective is the maximum age of the newest backup that counts
	// as up.
	Objective time.Duration
	// Newest returns the time of the newest backup, zero if there is
	// none.
	Newest func(ctx context.Context) (time.Time, error)
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
}

// ID returns ComponentID.
func (p *FreshnessProbe) ID() string { return p.ComponentID }

// Name returns ComponentName.
func (p *FreshnessProbe) Name() string { return p.ComponentName }

// Group returns ComponentGroup.
func (p *FreshnessProbe) Group() string { return p.ComponentGroup }

// Kind returns "freshness".
func (p *FreshnessProbe) Kind() string { return "freshness" }

// Probe reads the newest backup time and grades its age with
// Freshness. Without a backup, or when Newest fails, the state is
// down.
func (p *FreshnessProbe) Probe(ctx context.Context) ProbeResult {
	newest, err := p.Newest(ctx)
	if err != nil {
		return ProbeResult{
			Status:  StatusDown,
			Message: "backup age unknown: reading the backups failed",
			Err:     fmt.Errorf("read newest backup of %s: %w", p.ComponentID, err),
		}
	}
	if newest.IsZero() {
		return ProbeResult{Status: StatusDown, Message: "no backup yet"}
	}
	now := time.Now()
	if p.Now != nil {
		now = p.Now()
	}
	age := max(now.Sub(newest), 0)
	return ProbeResult{
		Status: Freshness(age, p.Objective),
		Message: fmt.Sprintf("newest backup %s old, objective %s",
			age.Truncate(time.Second), p.Objective),
		LastSuccessAt: newest.UTC(),
		AgeSeconds:    int64(age / time.Second),
	}
}
