package report

import (
	_ "embed"
	"html/template"
	"io"
	"math"
	"time"

	"github.com/lifeline-backup/lifeline/internal/repo"
)

//go:embed report.html.tmpl
var htmlText string

var htmlTemplate = template.Must(template.New("report").Funcs(
	template.FuncMap{
		"human":       human,
		"time":        formatTime,
		"bytes":       formatBytes,
		"cost":        formatCost,
		"met":         metText,
		"yesNo":       yesNo,
		"objective":   objectiveText,
		"chart":       chartOf,
		"gapDuration": func(g *Gap) string { return human(g.Duration()) },
	}).Parse(htmlText))

// HTML writes the report as one HTML page with no external assets. Each
// source has an inline SVG chart of its backups and the gaps between
// them over the last 30 days.
func (rep *Report) HTML(w io.Writer) error {
	return htmlTemplate.Execute(w, rep)
}

// Chart geometry, in SVG user units.
const (
	chartWidth  = 900.0
	chartLeft   = 10.0
	chartRight  = chartWidth - 10
	tickTop     = 20.0
	tickBottom  = 50.0
	barsTop     = 70.0
	barsBottom  = 190.0
	chartHeight = 215.0
)

// chart is the SVG chart of one source: a tick per backup and a bar per
// gap whose height is the gap's length.
type chart struct {
	Width, Height   float64
	Ticks           []chartTick
	Bars            []chartBar
	TickBottom      float64
	BarsBottom      float64
	Objective       bool
	ObjectiveY      float64
	ObjectiveLabel  string
	ScaleLabel      string
	StartLabel      string
	EndLabel        string
	Left, Right     float64
	LabelY, ScaleY  float64
	ObjectiveLabelY float64
}

type chartTick struct {
	X, Y1   float64
	Colour  string
	Caption string
}

type chartBar struct {
	X, Y, Width, Height float64
	Colour              string
	Caption             string
}

var tierColours = map[repo.Tier]string{
	repo.Incremental: "#6b8fb3",
	repo.Full:        "#1f5f99",
	repo.Complete:    "#0b2e4f",
}

// tierHeights makes fuller tiers taller ticks.
var tierHeights = map[repo.Tier]float64{
	repo.Incremental: 12, repo.Full: 22, repo.Complete: 30,
}

func chartOf(sr SourceReport, now time.Time) chart {
	start := now.Add(-LongWindow)
	x := func(t time.Time) float64 {
		if t.Before(start) {
			t = start
		}
		f := float64(t.Sub(start)) / float64(LongWindow)
		return round(chartLeft + f*(chartRight-chartLeft))
	}
	c := chart{Width: chartWidth, Height: chartHeight,
		TickBottom: tickBottom, BarsBottom: barsBottom,
		Left: chartLeft, Right: chartRight,
		LabelY: chartHeight - 5, ScaleY: barsTop - 5,
		StartLabel: formatTime(start), EndLabel: formatTime(now)}
	gaps := chartGaps(&sr)
	scale := sr.Objectives.RPO
	for _, g := range gaps {
		scale = max(scale, g.Duration())
	}
	if scale <= 0 {
		scale = time.Hour
	}
	y := func(d time.Duration) float64 {
		f := float64(d) / float64(scale)
		return round(barsBottom - f*(barsBottom-barsTop))
	}
	c.ScaleLabel = "bar height: gap length; scale top " + human(scale)
	if len(gaps) == 0 {
		c.ScaleLabel = "no backups"
	}
	for _, p := range sr.Timeline {
		if p.Time.Before(start) {
			continue
		}
		c.Ticks = append(c.Ticks, chartTick{X: x(p.Time),
			Y1: tickBottom - tierHeights[p.Tier], Colour: tierColours[p.Tier],
			Caption: string(p.Tier) + " " + p.ID + " " + formatTime(p.Time)})
	}
	for _, g := range gaps {
		c.Bars = append(c.Bars, bar(g, x, y, sr.Objectives.RPO))
	}
	if o := sr.Objectives.RPO; o > 0 {
		c.Objective, c.ObjectiveY = true, y(o)
		c.ObjectiveLabel = "RPO objective " + human(o)
		c.ObjectiveLabelY = c.ObjectiveY - 3
	}
	return c
}

// chartGaps returns the gaps between successive backups of the
// timeline, then the open gap to now.
func chartGaps(sr *SourceReport) []Gap {
	var gaps []Gap
	tl := sr.Timeline
	for i := 1; i < len(tl); i++ {
		gaps = append(gaps, Gap{From: tl[i-1].Time, To: tl[i].Time,
			FromID: tl[i-1].ID, ToID: tl[i].ID})
	}
	if sr.SinceNewest != nil {
		gaps = append(gaps, *sr.SinceNewest)
	}
	return gaps
}

// round rounds a coordinate to a tenth of a unit, which is finer than
// any screen shows and keeps the page short.
func round(v float64) float64 { return math.Round(v*10) / 10 }

func bar(g Gap, x func(time.Time) float64, y func(time.Duration) float64,
	objective time.Duration) chartBar {
	colour := "#7fb27f"
	if objective > 0 && g.Duration() > objective {
		colour = "#c0392b"
	}
	to := "now"
	if g.ToID != "" {
		to = g.ToID
	}
	x0, x1 := x(g.From), x(g.To)
	top := y(g.Duration())
	return chartBar{X: x0, Y: top, Width: round(max(x1-x0, 1)),
		Height: round(barsBottom - top), Colour: colour,
		Caption: "gap " + human(g.Duration()) + " from " + g.FromID +
			" to " + to}
}
