package status

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"time"

	"github.com/lifeline-backup/lifeline/internal/status/history"
)

//go:embed page.html
var pageSource string

var pageTemplate = template.Must(template.New("page").Parse(pageSource))

// overallLabels are the banner texts of each overall status.
var overallLabels = map[Status]string{
	StatusUp:          "All systems operational",
	StatusDegraded:    "Some systems are degraded",
	StatusDown:        "Some systems are down",
	StatusMaintenance: "Maintenance in progress",
	StatusUnknown:     "Checking systems",
}

// pageData is the data that page.html renders.
type pageData struct {
	Title        string
	Overall      Status
	OverallLabel string
	GeneratedAt  string
	RefreshMs    int64
	Labels       map[Status]string
	Overalls     map[Status]string
	Groups       []pageGroup
}

type pageGroup struct {
	Name       string
	Components []pageComponent
}

type pageComponent struct {
	ID, Name    string
	Status      Status
	StatusLabel string
	HTTP        string
	Response    string
	Note        string
	Uptime      []pageUptime
	Days        []pageDay
}

type pageUptime struct {
	Key, Label, Value string
}

type pageDay struct {
	Status Status
	Title  string
}

// page renders the page of snap once and caches it in snap.
func (s *Server) page(snap *snapshot) ([]byte, string, error) {
	snap.pageOnce.Do(func() {
		var buf bytes.Buffer
		err := pageTemplate.Execute(&buf, s.pageData(snap))
		if err != nil {
			snap.pageErr = fmt.Errorf("render status page: %w", err)
			return
		}
		snap.page, snap.pageETag = buf.Bytes(), etagOf(buf.Bytes())
	})
	return snap.page, snap.pageETag, snap.pageErr
}

func (s *Server) pageData(snap *snapshot) pageData {
	r := snap.report
	labels := make(map[Status]string)
	for _, st := range []Status{StatusUp, StatusDegraded, StatusDown,
		StatusMaintenance, StatusUnknown} {
		labels[st] = st.label()
	}
	data := pageData{
		Title:        s.cfg.Title,
		Overall:      r.Overall,
		OverallLabel: overallLabels[r.Overall],
		GeneratedAt:  r.GeneratedAt.Format(time.RFC3339),
		RefreshMs:    int64(r.RefreshSeconds) * 1000,
		Labels:       labels,
		Overalls:     overallLabels,
	}
	index := make(map[string]int)
	for _, c := range r.Components {
		i, ok := index[c.Group]
		if !ok {
			i = len(data.Groups)
			index[c.Group] = i
			data.Groups = append(data.Groups, pageGroup{Name: c.Group})
		}
		pc := pageComponentOf(c, snap.days[c.ID])
		data.Groups[i].Components = append(data.Groups[i].Components, pc)
	}
	return data
}

func pageComponentOf(c ComponentReport, days []history.Summary) pageComponent {
	pc := pageComponent{
		ID: c.ID, Name: c.Name,
		Status: c.Status, StatusLabel: c.Status.label(),
		Uptime: []pageUptime{
			{"24h", "24 h", formatPct(c.UptimePct.Last24h)},
			{"7d", "7 d", formatPct(c.UptimePct.Last7d)},
			{"30d", "30 d", formatPct(c.UptimePct.Last30d)},
			{"90d", "90 d", formatPct(c.UptimePct.Last90d)},
		},
	}
	if lc := c.LastCheck; lc != nil {
		if lc.HTTPStatus > 0 {
			pc.HTTP = fmt.Sprintf("HTTP %d", lc.HTTPStatus)
		}
		if c.Kind == "http" || c.Kind == "tcp" {
			pc.Response = fmt.Sprintf("%d ms", lc.ResponseTimeMs)
		}
		pc.Note = lc.Error
		if pc.Note == "" {
			pc.Note = lc.Message
		}
	}
	for _, day := range days {
		d := dayReport(day)
		pc.Days = append(pc.Days, pageDay{d.Status, dayTitle(d, day)})
	}
	return pc
}

// formatPct formats an uptime for the page, as the page's script does.
func formatPct(p *float64) string {
	if p == nil {
		return "–"
	}
	return fmt.Sprintf("%.2f%%", *p)
}
