package status

import (
	"fmt"

	"github.com/lifeline-backup/lifeline/internal/status/history"
)

// HistoryReport is the document of GET /api/status/{id}/history.
type HistoryReport struct {
	ID string `json:"id"`
	// Days are oldest first, the last one today in UTC.
	Days []DayReport `json:"days"`
}

// DayReport is the uptime of one UTC day.
type DayReport struct {
	// Date is the day as YYYY-MM-DD.
	Date string `json:"date"`
	// UptimePct is null for a day without results.
	UptimePct *float64 `json:"uptime_pct"`
	// Status summarizes the day, see dayStatus.
	Status Status `json:"status"`
}

// historyReport returns the last n of days.
func historyReport(id string, days []history.Summary, n int) HistoryReport {
	report := HistoryReport{ID: id, Days: make([]DayReport, 0, n)}
	for _, day := range days[max(len(days)-n, 0):] {
		report.Days = append(report.Days, dayReport(day))
	}
	return report
}

func dayReport(day history.Summary) DayReport {
	d := DayReport{
		Date:   day.Start.Format("2006-01-02"),
		Status: dayStatus(day),
	}
	if pct, ok := day.UptimePct(); ok {
		d.UptimePct = roundPct(&pct)
	}
	return d
}

// dayStatusDownBelow is the uptime under which a day counts as down
// rather than degraded.
const dayStatusDownBelow = 95.0

// dayStatus summarizes a day: unknown without results, up when every
// result was up, down when uptime fell below 95%, and degraded for
// anything between.
func dayStatus(day history.Summary) Status {
	pct, ok := day.UptimePct()
	switch {
	case !ok:
		return StatusUnknown
	case day.Successes == day.Count:
		return StatusUp
	case pct < dayStatusDownBelow:
		return StatusDown
	}
	return StatusDegraded
}

// dayTitle is the tooltip of a day's bar.
func dayTitle(d DayReport, day history.Summary) string {
	if d.UptimePct == nil {
		return d.Date + ": no data"
	}
	text := fmt.Sprintf("%s: %.2f%% uptime", d.Date, *d.UptimePct)
	if down := day.Down(); down > 0 {
		text += fmt.Sprintf(", %d failed checks", down)
	}
	if day.Degraded > 0 {
		text += fmt.Sprintf(", %d degraded", day.Degraded)
	}
	return text
}
