package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lifeline-backup/lifeline/internal/drill"
)

// Markdown writes the report as Markdown whose tables are padded, so it
// reads as well in a terminal as rendered.
func (rep *Report) Markdown(w io.Writer) error {
	bw := bufio.NewWriter(w)
	rep.markdownHeader(bw)
	rep.markdownControls(bw)
	for i := range rep.Sources {
		markdownSource(bw, &rep.Sources[i])
	}
	rep.markdownKeys(bw)
	rep.markdownStorage(bw)
	rep.markdownWarnings(bw)
	return bw.Flush()
}

func (rep *Report) markdownHeader(w io.Writer) {
	p := rep.Retention
	fmt.Fprintf(w, "# Lifeline evidence report\n\n")
	fmt.Fprintf(w, "- Generated: %s\n", formatTime(rep.Generated))
	fmt.Fprintf(w, "- Repository: %s (id %s)\n", rep.Repository,
		rep.RepositoryID)
	fmt.Fprintf(w, "- Retention: incremental %s, full %s, complete %s\n",
		human(p.Incremental), human(p.Full), human(p.Complete))
	fmt.Fprintf(w, "- Incremental interval: %s\n",
		human(rep.IncrementalInterval))
	fmt.Fprintf(w, "- Storage price: %g USD per GB-month\n\n",
		rep.PricePerGBMonth)
}

func (rep *Report) markdownControls(w io.Writer) {
	fmt.Fprintf(w, "## Controls\n\n")
	t := table{header: []string{"Control", "Scope", "Status", "Figure"}}
	for _, c := range rep.Controls {
		t.add(c.Title, c.Scope, metText(c.Met), c.Figure)
	}
	t.write(w)
}

func metText(met bool) string {
	if met {
		return "met"
	}
	return "NOT MET"
}

func markdownSource(w io.Writer, sr *SourceReport) {
	fmt.Fprintf(w, "## Source %s\n\n", sr.Name)
	t := table{header: []string{"Item", "Value"}}
	t.add("RPO objective", objectiveText(sr.Objectives.RPO))
	t.add("RTO objective", objectiveText(sr.Objectives.RTO))
	t.add("Backups", fmt.Sprint(sr.Backups))
	t.add("Oldest restorable moment", formatTime(sr.OldestRestorable))
	t.write(w)

	fmt.Fprintf(w, "### Newest backups\n\n")
	t = table{header: []string{"Tier", "Backup", "Started"}}
	for _, p := range sr.Newest {
		t.add(string(p.Tier), p.ID, formatTime(p.Time))
	}
	t.writeOr(w, "No backup.")

	fmt.Fprintf(w, "### Achieved RPO\n\n")
	t = table{header: []string{"Measure", "Gap", "From", "To"}}
	t.add(gapRow("Largest gap, last 7 days", sr.MaxGap7d)...)
	t.add(gapRow("Largest gap, last 30 days", sr.MaxGap30d)...)
	t.add(gapRow("Newest backup to now", sr.SinceNewest)...)
	t.write(w)

	fmt.Fprintf(w, "### Last drill\n\n")
	markdownDrill(w, sr.LastDrill)
}

func objectiveText(d time.Duration) string {
	if d <= 0 {
		return "none"
	}
	return human(d)
}

func gapRow(name string, g *Gap) []string {
	if g == nil {
		return []string{name, "none", "", ""}
	}
	to := "now"
	if g.ToID != "" {
		to = g.ToID
	}
	return []string{name, human(g.Duration()), g.FromID, to}
}

func markdownDrill(w io.Writer, d *drill.Result) {
	if d == nil {
		fmt.Fprintf(w, "No drill stored.\n\n")
		return
	}
	t := table{header: []string{"Drill", "Started", "Target", "Result",
		"RTO", "RPO", "Backups restored"}}
	result := "passed"
	if !d.Passed {
		result = "FAILED"
	}
	t.add(d.ID, formatTime(d.Started), d.Target, result, human(d.RTO),
		human(d.RPO), fmt.Sprint(len(d.Snapshots)))
	t.write(w)
	for _, f := range d.Failures {
		fmt.Fprintf(w, "- Failure: %s\n", f)
	}
	if len(d.Failures) > 0 {
		fmt.Fprintln(w)
	}
}

func (rep *Report) markdownKeys(w io.Writer) {
	fmt.Fprintf(w, "## Keys\n\n")
	t := table{header: []string{"Key", "Primary", "In keyring", "Added",
		"Known from", "Age", "Backups", "Backups only it opens"}}
	for _, k := range rep.Keys {
		age, from := "unknown", "unknown"
		if !k.Added.IsZero() {
			age, from = human(k.Age), k.AddedFrom
		}
		t.add(k.ID, yesNo(k.Primary), yesNo(k.InKeyring),
			formatTime(k.Added), from, age, fmt.Sprint(k.Backups),
			fmt.Sprint(k.Only))
	}
	t.writeOr(w, "No key.")
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func (rep *Report) markdownStorage(w io.Writer) {
	st := rep.Storage
	fmt.Fprintf(w, "## Storage\n\n")
	t := table{header: []string{"Part", "Backups", "Size",
		"Monthly cost (estimate)"}}
	for _, ts := range st.Tiers {
		t.add(string(ts.Tier), fmt.Sprint(ts.Backups),
			formatBytes(ts.Bytes), formatCost(ts.MonthlyCost))
	}
	t.add("other objects", "", formatBytes(st.Other), "")
	t.add("total", "", formatBytes(st.Total), formatCost(st.MonthlyCost))
	t.write(w)
	fmt.Fprintf(w, "Tier sizes count the data and index chunks of the "+
		"backups. Other objects are manifests, data key wraps, key "+
		"checks, drill results, locks and objects no backup names. The "+
		"cost leaves out request and egress charges.\n\n")
}

func (rep *Report) markdownWarnings(w io.Writer) {
	if len(rep.Warnings) == 0 {
		return
	}
	fmt.Fprintf(w, "## Warnings\n\n")
	for _, s := range rep.Warnings {
		fmt.Fprintf(w, "- %s\n", s)
	}
	fmt.Fprintln(w)
}

// table is a Markdown table with columns padded to their widest cell.
type table struct {
	header []string
	rows   [][]string
}

func (t *table) add(cells ...string) {
	for i, c := range cells {
		cells[i] = strings.ReplaceAll(c, "|", `\|`)
	}
	t.rows = append(t.rows, cells)
}

// writeOr writes the table, or empty when it has no rows.
func (t *table) writeOr(w io.Writer, empty string) {
	if len(t.rows) == 0 {
		fmt.Fprintf(w, "%s\n\n", empty)
		return
	}
	t.write(w)
}

func (t *table) write(w io.Writer) {
	widths := make([]int, len(t.header))
	for _, row := range append([][]string{t.header}, t.rows...) {
		for i, c := range row {
			widths[i] = max(widths[i], utf8.RuneCountInString(c), 3)
		}
	}
	rule := make([]string, len(widths))
	for i, n := range widths {
		rule[i] = strings.Repeat("-", n)
	}
	writeRow(w, t.header, widths)
	writeRow(w, rule, widths)
	for _, row := range t.rows {
		writeRow(w, row, widths)
	}
	fmt.Fprintln(w)
}

func writeRow(w io.Writer, cells []string, widths []int) {
	var b strings.Builder
	b.WriteString("|")
	for i, c := range cells {
		pad := widths[i] - utf8.RuneCountInString(c)
		b.WriteString(" " + c + strings.Repeat(" ", pad) + " |")
	}
	fmt.Fprintln(w, b.String())
}
