package report

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/lifeline-backup/lifeline/internal/repo"
)

func TestBuild_StorageMatchesListing(t *testing.T) {
	f := newFixture(t)
	rep, err := Build(context.Background(), f.repo, f.input)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	var listed int64
	for info, err := range f.repo.Store().List(context.Background(), "") {
		if err != nil {
			t.Fatal(err)
		}
		listed += info.Size
	}
	st := rep.Storage
	if st.Total != listed {
		t.Errorf("Total = %d, want %d (sum of the listing)", st.Total,
			listed)
	}
	if got := st.Other + tierBytes(rep); got != st.Total {
		t.Errorf("Other + tiers = %d, want Total %d", got, st.Total)
	}
	want := float64(listed) / 1e9 * DefaultPricePerGBMonth
	if st.MonthlyCost != want {
		t.Errorf("MonthlyCost = %g, want %g", st.MonthlyCost, want)
	}
}

func TestBuild_PriceFromInput(t *testing.T) {
	f := newFixture(t)
	f.input.PricePerGBMonth = 0.023
	rep, err := Build(context.Background(), f.repo, f.input)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	want := float64(rep.Storage.Total) / 1e9 * 0.023
	if rep.Storage.MonthlyCost != want {
		t.Errorf("MonthlyCost = %g, want %g", rep.Storage.MonthlyCost, want)
	}
	f.input.PricePerGBMonth = -1
	if _, err := Build(context.Background(), f.repo, f.input); err == nil {
		t.Error("Build with a negative price succeeded, want an error")
	}
}

func TestBuild_AllControlsMet(t *testing.T) {
	f := newFixture(t)
	in := f.input
	in.Sources = in.Sources[:1]
	in.Sources[0].Objectives.RPO = 200 * 24 * time.Hour
	in.Retention.Complete = 200 * 24 * time.Hour
	rep, err := Build(context.Background(), f.repo, in)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	if len(rep.Controls) != 5 {
		t.Fatalf("got %d controls, want 5: %+v", len(rep.Controls),
			rep.Controls)
	}
	for _, c := range rep.Controls {
		if !c.Met {
			t.Errorf("control %s (%s) not met: %s", c.ID, c.Scope, c.Figure)
		}
	}
}

func TestBuild_KeyAgeFromOldestBackup(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if err := f.repo.Store().Delete(ctx, "keys/k2026"); err != nil {
		t.Fatal(err)
	}
	rep, err := Build(ctx, f.repo, f.input)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	if len(rep.Keys) != 1 {
		t.Fatalf("got %d keys, want 1", len(rep.Keys))
	}
	k := rep.Keys[0]
	if k.AddedFrom != AddedOldestBackup {
		t.Errorf("AddedFrom = %q, want %q", k.AddedFrom, AddedOldestBackup)
	}
	oldest := t0.Add(-100 * 24 * time.Hour)
	if !k.Added.Equal(oldest) {
		t.Errorf("Added = %s, want %s", k.Added, oldest)
	}
	if k.Age != reportNow.Sub(oldest) {
		t.Errorf("Age = %s, want %s", k.Age, reportNow.Sub(oldest))
	}
}

func TestBuild_OldestRestorableSkipsBrokenChain(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	snaps, _, err := f.repo.Snapshots(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Without the complete backup and the first full, the oldest
	// backups left are incrementals whose base is gone.
	for _, s := range snaps[:2] {
		if err := f.repo.Store().Delete(ctx, "snapshots/"+s.ID); err != nil {
			t.Fatal(err)
		}
	}
	// A new process would not have the deleted manifests cached.
	r, err := repo.Open(ctx, f.repo.Store(), f.repo.Keyring())
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Build(ctx, r, f.input)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	want := t0.Add(24 * time.Hour) // the second full backup
	if got := rep.Sources[0].OldestRestorable; !got.Equal(want) {
		t.Errorf("OldestRestorable = %s, want %s", got, want)
	}
}

func TestMaxGap(t *testing.T) {
	at := func(h int) Point {
		return Point{ID: string(rune('a' + h)), Tier: repo.Incremental,
			Time: t0.Add(time.Duration(h) * time.Hour)}
	}
	points := []Point{at(0), at(1), at(5), at(6), at(7)}
	cases := []struct {
		name  string
		since time.Time
		want  time.Duration
	}{
		{"whole history", t0.Add(-time.Hour), 4 * time.Hour},
		{"gap ending in the window counts whole", t0.Add(4 * time.Hour),
			4 * time.Hour},
		{"gap ending before the window", t0.Add(5 * time.Hour), time.Hour},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := maxGap(points, tc.since)
			if g == nil {
				t.Fatal("maxGap = nil")
			}
			if g.Duration() != tc.want {
				t.Errorf("gap = %s, want %s", g.Duration(), tc.want)
			}
		})
	}
	if g := maxGap(points, t0.Add(7*time.Hour)); g != nil {
		t.Errorf("maxGap after the last backup = %+v, want nil", g)
	}
}

func TestJSON_Fields(t *testing.T) {
	f := newFixture(t)
	rep, err := Build(context.Background(), f.repo, f.input)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	var buf bytes.Buffer
	if err := rep.JSON(&buf); err != nil {
		t.Fatalf("JSON: %v", err)
	}

	var got struct {
		FormatVersion int    `json:"format_version"`
		Generated     string `json:"generated_at"`
		Sources       []struct {
			RPO struct {
				SinceNewest struct {
					Seconds int64 `json:"seconds"`
				} `json:"since_newest"`
				Worst int64 `json:"worst_seconds"`
			} `json:"rpo"`
			LastDrill struct {
				RTO    int64 `json:"rto_ms"`
				RPO    int64 `json:"rpo_seconds"`
				Passed bool  `json:"passed"`
			} `json:"last_drill"`
		} `json:"sources"`
	}
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("decode JSON: %v\n%s", err, buf.String())
	}

	if got.FormatVersion != FormatVersion {
		t.Errorf("format_version = %d, want %d", got.FormatVersion,
			FormatVersion)
	}
	if got.Generated != "2026-01-02T12:00:00Z" {
		t.Errorf("generated_at = %q", got.Generated)
	}

	app := got.Sources[0]
	if app.RPO.SinceNewest.Seconds != 6*3600 {
		t.Errorf("since_newest.seconds = %d, want %d",
			app.RPO.SinceNewest.Seconds, 6*3600)
	}
	if app.RPO.Worst != 100*24*3600 {
		t.Errorf("worst_seconds = %d, want %d", app.RPO.Worst, 100*24*3600)
	}
	if app.LastDrill.RTO != 1500 || app.LastDrill.RPO != 5*3600 ||
		app.LastDrill.Passed {
		t.Errorf("last_drill = %+v, want rto_ms 1500, rpo_seconds "+
			"18000, failed", app.LastDrill)
	}
	if got.Sources[1].LastDrill != (struct {
		RTO    int64 `json:"rto_ms"`
		RPO    int64 `json:"rpo_seconds"`
		Passed bool  `json:"passed"`
	}{}) {
		t.Errorf("last_drill of ledger = %+v, want null", got.Sources[1].LastDrill)
	}
}

func TestHTML_InlineChart(t *testing.T) {
	f := newFixture(t)
	rep, err := Build(context.Background(), f.repo, f.input)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	var buf bytes.Buffer
	if err := rep.HTML(&buf); err != nil {
		t.Fatalf("HTML: %v", err)
	}
	page := buf.String()
	if n := strings.Count(page, "<svg "); n != 2 {
		t.Errorf("page has %d charts, want 2 (one per source)", n)
	}
	// The timeline shows the 26 backups of the last 30 days, and a bar
	// per gap: the 25 between them, the open one to now, and the one
	// from the complete backup before the window.
	if n := strings.Count(page, "<rect "); n != 27 {
		t.Errorf("page has %d gap bars, want 27", n)
	}
	if n := strings.Count(page, `fill="#c0392b"`); n != 3 {
		t.Errorf("page has %d bars over the objective, want 3 "+
			"(100d, 6h, and the open 6h)", n)
	}
	for _, bad := range []string{"<script", " src=", "<link", "@import"} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains %q; it must have no external assets",
				bad)
		}
	}
}
