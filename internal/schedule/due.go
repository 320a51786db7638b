package schedule

import (
	"errors"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// parseSpec parses a standard 5-field cron expression, or a descriptor
// such as @daily, into a schedule evaluated in UTC. It rejects time
// zone prefixes, because all times are UTC, and @every, because a
// fixed interval has no due times to catch up on.
func parseSpec(spec string, now time.Time) (*cron.SpecSchedule, error) {
	trimmed := strings.TrimSpace(spec)
	// robfig/cron v3.0.1 panics on "TZ=UTC" without a following space,
	// so the prefix is rejected before parsing.
	if strings.HasPrefix(trimmed, "TZ=") ||
		strings.HasPrefix(trimmed, "CRON_TZ=") {
		return nil, errors.New("time zone prefixes are not supported, " +
			"all times are UTC")
	}
	parsed, err := cron.ParseStandard(trimmed)
	if err != nil {
		return nil, err
	}
	sched, ok := parsed.(*cron.SpecSchedule)
	if !ok {
		return nil, errors.New("@every is not supported, " +
			"use a 5-field expression")
	}
	sched.Location = time.UTC
	// robfig/cron returns the zero time when it finds no due time
	// within five years, as for "0 0 30 2 *".
	if sched.Next(now).IsZero() {
		return nil, errors.New("expression is never due")
	}
	return sched, nil
}

// lookback is the series of windows lastDue searches, from short to
// long, so that frequent schedules need few steps. The last window is
// the five years within which robfig/cron finds a next time.
var lookback = []time.Duration{
	time.Hour,
	24 * time.Hour,
	32 * 24 * time.Hour,
	366 * 24 * time.Hour,
	5 * 366 * 24 * time.Hour,
}

// lastDue returns the latest due time of sched at or before t, or the
// zero time if there is none within five years.
func lastDue(sched cron.Schedule, t time.Time) time.Time {
	for _, window := range lookback {
		due := sched.Next(t.Add(-window))
		if due.IsZero() || due.After(t) {
			continue
		}
		for {
			next := sched.Next(due)
			if next.IsZero() || next.After(t) {
				return due
			}
			due = next
		}
	}
	return time.Time{}
}
