package status

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// window is a parsed maintenance Window.
type window struct {
	sched    cron.Schedule
	duration time.Duration
}

// parseWindow parses w, rejecting what would never or always be active.
func parseWindow(w Window) (window, error) {
	if w.Duration <= 0 {
		return window{}, fmt.Errorf("invalid duration %v, "+
			"want a positive duration such as 30m", w.Duration)
	}
	spec, err := windowSpec(w)
	if err != nil {
		return window{}, err
	}
	sched, err := cron.ParseStandard(spec)
	if err != nil {
		return window{}, fmt.Errorf("invalid cron %q: %w", spec, err)
	}
	if spec, ok := sched.(*cron.SpecSchedule); ok {
		spec.Location = time.UTC
	}
	return window{sched: sched, duration: w.Duration}, nil
}

// windowSpec returns the cron expression of w.
func windowSpec(w Window) (string, error) {
	cronSpec := strings.TrimSpace(w.Cron)
	daily := strings.TrimSpace(w.Daily)
	switch {
	case cronSpec != "" && daily != "":
		return "", errors.New("both cron and daily are set, want one")
	case daily != "":
		at, err := time.Parse("15:04", daily)
		if err != nil {
			return "", fmt.Errorf("invalid daily time %q, "+
				"want HH:MM in UTC", daily)
		}
		return fmt.Sprintf("%d %d * * *", at.Minute(), at.Hour()), nil
	case cronSpec == "":
		return "", errors.New("missing cron or daily start time")
	}
	// robfig/cron v3.0.1 panics on "TZ=UTC" without a following space.
	if strings.HasPrefix(cronSpec, "TZ=") ||
		strings.HasPrefix(cronSpec, "CRON_TZ=") {
		return "", errors.New("time zone prefixes are not supported, " +
			"all times are UTC")
	}
	return cronSpec, nil
}

// active reports whether a window started in (t-duration, t], which
// means t lies in [start, start+duration) of that window.
func (w window) active(t time.Time) bool {
	start := w.sched.Next(t.Add(-w.duration))
	return !start.IsZero() && !start.After(t)
}

// inMaintenance reports whether any of windows is active at t.
func inMaintenance(windows []window, t time.Time) bool {
	for _, w := range windows {
		if w.active(t) {
			return true
		}
	}
	return false
}
