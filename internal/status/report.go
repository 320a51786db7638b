package status

import (
	"math"
	"time"

	"github.com/lifeline-backup/lifeline/internal/status/history"
)

// Report is the document of GET /api/status. Times are RFC 3339 in UTC
// and durations are whole milliseconds.
type Report struct {
	// GeneratedAt is when the report was built.
	GeneratedAt time.Time `json:"generated_at"`
	// RefreshSeconds is how often the page fetches the report.
	RefreshSeconds int `json:"refresh_seconds"`
	// Overall is the worst status of all components.
	Overall Status `json:"overall"`
	// Components are in configuration order, checks before probes.
	Components []ComponentReport `json:"components"`
}

// ComponentReport is the state of one component.
type ComponentReport struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Group  string `json:"group"`
	Kind   string `json:"kind"`
	Status Status `json:"status"`
	// Since is when Status began, null while it is unknown.
	Since *time.Time `json:"since"`
	// LastCheck is the latest result, null before the first one.
	LastCheck *CheckReport `json:"last_check"`
	// UptimePct has the keys "24h", "7d", "30d" and "90d".
	UptimePct UptimeReport `json:"uptime_pct"`
	// LastSuccessAt and AgeSeconds are set by freshness probes.
	LastSuccessAt *time.Time `json:"last_success_at,omitempty"`
	AgeSeconds    *int64     `json:"age_seconds,omitempty"`
}

// CheckReport is the public view of a Result.
type CheckReport struct {
	At             time.Time `json:"at"`
	HTTPStatus     int       `json:"http_status"`
	ResponseTimeMs int64     `json:"response_time_ms"`
	// Error is empty without an error and for checks with HideErrors.
	Error string `json:"error"`
	// Message is the public text of a probe.
	Message    string            `json:"message,omitempty"`
	Conditions []ConditionReport `json:"conditions"`
}

// ConditionReport is one evaluated condition. Detail is empty for
// checks with HideErrors.
type ConditionReport struct {
	Condition string `json:"condition"`
	Success   bool   `json:"success"`
	Detail    string `json:"detail"`
}

// UptimeReport contains uptime percentages, null without data. See
// history.Uptime for the windows.
type UptimeReport struct {
	Last24h *float64 `json:"24h"`
	Last7d  *float64 `json:"7d"`
	Last30d *float64 `json:"30d"`
	Last90d *float64 `json:"90d"`
}

// componentReport builds the public view of c. The caller holds s.mu.
func componentReport(c *component) ComponentReport {
	cr := ComponentReport{
		ID: c.id, Name: c.name, Group: c.group, Kind: c.kind,
		Status:    c.machine.state,
		Since:     utcTime(c.machine.since),
		UptimePct: uptimeReport(c.uptime),
	}
	if !c.maintenanceSince.IsZero() {
		cr.Status = StatusMaintenance
		cr.Since = utcTime(c.maintenanceSince)
	}
	if c.last == nil {
		return cr
	}
	cr.LastCheck = checkReport(c, *c.last)
	if !c.last.LastSuccessAt.IsZero() {
		cr.LastSuccessAt = utcTime(c.last.LastSuccessAt)
		age := c.last.AgeSeconds
		cr.AgeSeconds = &age
	}
	return cr
}

func checkReport(c *component, r Result) *CheckReport {
	p := publicizer{check: c.check, ip: r.IP}
	report := &CheckReport{
		At:             r.At.UTC().Truncate(time.Second),
		HTTPStatus:     r.HTTPStatus,
		ResponseTimeMs: r.ResponseTime.Milliseconds(),
		Error:          p.errorText(r.Error),
		Message:        p.text(r.Message),
		Conditions:     make([]ConditionReport, 0, len(r.Conditions)),
	}
	for _, cond := range r.Conditions {
		report.Conditions = append(report.Conditions, ConditionReport{
			Condition: p.text(cond.Condition),
			Success:   cond.Success,
			Detail:    p.errorText(cond.Detail),
		})
	}
	return report
}

// utcTime returns t in UTC to the second, nil when zero.
func utcTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC().Truncate(time.Second)
	return &u
}

func uptimeReport(u history.Uptime) UptimeReport {
	return UptimeReport{
		Last24h: roundPct(u.Last24h),
		Last7d:  roundPct(u.Last7d),
		Last30d: roundPct(u.Last30d),
		Last90d: roundPct(u.Last90d),
	}
}

// roundPct rounds to three decimals, enough to tell 99.999 from 100.
func roundPct(p *float64) *float64 {
	if p == nil {
		return nil
	}
	r := math.Round(*p*1000) / 1000
	return &r
}
