package report

import (
	"fmt"
	"strings"
	"time"
)

// human formats a duration for people: "850ms", "2.3s", "1h 30s",
// "6d 23h 59m". Durations of a minute or more are rounded to seconds
// and show every unit that is not zero, so no figure looks smaller
// than it is.
func human(d time.Duration) string {
	if d < 0 {
		return "-" + human(-d)
	}
	switch {
	case d == 0:
		return "0s"
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute && d%time.Second == 0:
		return fmt.Sprintf("%ds", d/time.Second)
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	d = d.Round(time.Second)
	units := []struct {
		size time.Duration
		name string
	}{
		{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"},
		{time.Second, "s"},
	}
	var parts []string
	for _, u := range units {
		if n := d / u.size; n > 0 {
			parts = append(parts, fmt.Sprintf("%d%s", n, u.name))
			d -= n * u.size
		}
	}
	return strings.Join(parts, " ")
}

// formatTime formats a time as RFC 3339 in UTC, or "none" for zero.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return "none"
	}
	return t.UTC().Format(time.RFC3339)
}

// formatBytes formats a byte count exactly and in binary units.
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	value, exp := float64(n), 0
	for value >= unit && exp < 5 {
		value /= unit
		exp++
	}
	return fmt.Sprintf("%d B (%.1f %ciB)", n, value, "KMGTP"[exp-1])
}

// formatCost formats an amount in USD to the cent, and an amount above
// zero but under a cent as "< 0.01 USD" so it does not read as free.
func formatCost(usd float64) string {
	if usd > 0 && usd < 0.005 {
		return "< 0.01 USD"
	}
	return fmt.Sprintf("%.2f USD", usd)
}
