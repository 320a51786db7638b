package report

import (
	"bytes"
	"context"
	"encoding/base64"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/lifeline-backup/lifeline/internal/backup"
	"github.com/lifeline-backup/lifeline/internal/blob/local"
	"github.com/lifeline-backup/lifeline/internal/codec"
	"github.com/lifeline-backup/lifeline/internal/drill"
	"github.com/lifeline-backup/lifeline/internal/repo"
	"github.com/lifeline-backup/lifeline/internal/retention"
	"github.com/lifeline-backup/lifeline/internal/seal"
	"github.com/lifeline-backup/lifeline/internal/source"
	"github.com/lifeline-backup/lifeline/internal/source/bolt"
)

var update = flag.Bool("update", false, "rewrite testdata/report.golden.md")

// t0 is the start of the test repository's history.
var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// reportNow is the time the test reports are made at: 6 hours after
// the last backup.
var reportNow = t0.Add(36 * time.Hour)

// fixture is a repository with a fixed history of one bbolt source.
type fixture struct {
	repo  *repo.Repo
	dir   string
	input Input
}

// newFixture builds the repository and stores two drills. Its backups
// are a complete one 100 days before t0 (past its retention), full
// ones at t0 and t0+24h, and hourly incrementals up to t0+30h. The
// incrementals leave a 6-hour gap, from 05:00 to 11:00 on the first
// day.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{dir: t.TempDir()}
	store, err := local.New(filepath.Join(f.dir, "repo"))
	if err != nil {
		t.Fatal(err)
	}
	secret := bytes.Repeat([]byte{7}, seal.KeySize)
	key, err := seal.ParseKey("k2026",
		base64.StdEncoding.EncodeToString(secret))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := seal.NewKeyring(key)
	if err != nil {
		t.Fatal(err)
	}
	f.repo, err = repo.Init(ctx, store, keys, t0.Add(-200*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	// The key check's file time is the key's added time in the report.
	added := t0.Add(-200 * 24 * time.Hour)
	check := filepath.Join(f.dir, "repo", "keys", "k2026")
	if err := os.Chtimes(check, added, added); err != nil {
		t.Fatal(err)
	}

	src, err := bolt.New(bolt.Config{Name: "app",
		Path: filepath.Join(f.dir, "app.db"), Create: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range fixtureBackups() {
		writeRecords(t, src, b.at, b.change)
		runBackup(t, f.repo, src, b.tier, b.at)
	}
	putDrills(t, f.repo)
	f.input = Input{
		Sources: []Source{
			{Name: "app", Objectives: drill.Objectives{
				RPO: 2 * time.Hour, RTO: 5 * time.Minute}},
			{Name: "ledger"},
		},
		Retention: retention.DefaultPolicy(),
		Now:       reportNow,
	}
	return f
}

type fixtureBackup struct {
	at     time.Time
	tier   repo.Tier
	change int
}

func fixtureBackups() []fixtureBackup {
	out := []fixtureBackup{{at: t0.Add(-100 * 24 * time.Hour),
		tier: repo.Complete}}
	for h := 0; h <= 30; h++ {
		if h > 5 && h < 11 {
			continue
		}
		tier := repo.Incremental
		if h%24 == 0 {
			tier = repo.Full
		}
		out = append(out, fixtureBackup{at: t0.Add(time.Duration(h) *
			time.Hour), tier: tier, change: h + 1})
	}
	return out
}

// writeRecords writes 20 users the first time and changes one user
// per later call.
func writeRecords(t *testing.T, src source.Source, at time.Time,
	change int) {
	t.Helper()
	var recs []source.Record
	if change == 0 {
		for i := range 20 {
			recs = append(recs, source.Record{
				Key:   fmt.Appendf(nil, "user:%03d", i),
				Value: fmt.Appendf(nil, `{"name":"user %d","v":0}`, i)})
		}
	} else {
		i := change % 20
		recs = append(recs, source.Record{
			Key:   fmt.Appendf(nil, "user:%03d", i),
			Value: fmt.Appendf(nil, `{"name":"user %d","v":%d}`, i, change)})
	}
	_, err := src.Write(context.Background(), "users", recs,
		source.Replace, at)
	if err != nil {
		t.Fatalf("write users: %v", err)
	}
}

func runBackup(t *testing.T, r *repo.Repo, src source.Source,
	tier repo.Tier, at time.Time) {
	t.Helper()
	_, err := backup.Run(context.Background(), r, []backup.Source{
		{Name: "app", Type: "bolt", Src: src}},
		backup.Options{Tier: tier, Compression: codec.Zstd,
			Now: func() time.Time { return at }})
	if err != nil {
		t.Fatalf("%s backup at %s: %v", tier, at, err)
	}
}

// putDrills stores a passed drill 31 days before the report and a
// failed one an hour before it.
func putDrills(t *testing.T, r *repo.Repo) {
	t.Helper()
	old := drill.Result{ID: "20251201T110000Z-0000d001", Source: "app",
		Target: "app-drill", Started: reportNow.Add(-31 * 24 * time.Hour),
		Finished: reportNow.Add(-31*24*time.Hour + 3*time.Second),
		RTO:      2100 * time.Millisecond, RPO: 40 * time.Minute,
		Snapshots: []string{"20251201T100000Z-00000001"}, Passed: true}
	failed := drill.Result{ID: "20260102T110000Z-0000d002", Source: "app",
		Target: "app-drill", Started: reportNow.Add(-time.Hour),
		Finished: reportNow.Add(-time.Hour + 2*time.Second),
		RTO:      1500 * time.Millisecond, RPO: 5 * time.Hour,
		Snapshots: []string{"20260102T060000Z-00000002"},
		Failures: []string{"RPO objective missed: the data was 5h0m0s " +
			"old, the objective is 2h0m0s"}}
	for _, d := range []drill.Result{old, failed} {
		if err := r.PutDrill(context.Background(), d.ID, d); err != nil {
			t.Fatal(err)
		}
	}
}

// idSuffix matches the random part of backup ids.
var idSuffix = regexp.MustCompile(`(\d{8}T\d{6}Z)-[0-9a-f]{8}\b`)

// normalise replaces what differs between runs: the folder, the
// repository id, the random part of backup ids, and the sizes of
// manifests and drill results, whose compressed size depends on the
// random ids they contain.
func normalise(rep *Report) {
	rep.Repository = "local /tmp/repo"
	rep.RepositoryID = "0123456789abcdef0123456789abcdef"
	rep.Storage.Total = 100000
	rep.Storage.Other = 100000 - tierBytes(rep)
	rep.Storage.MonthlyCost = cost(100000, rep.PricePerGBMonth)
}

func tierBytes(rep *Report) int64 {
	var n int64
	for _, t := range rep.Storage.Tiers {
		n += t.Bytes
	}
	return n
}

func TestMarkdown_Golden(t *testing.T) {
	f := newFixture(t)
	rep, err := Build(context.Background(), f.repo, f.input)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	normalise(rep)
	var buf bytes.Buffer
	if err := rep.Markdown(&buf); err != nil {
		t.Fatalf("Markdown: %v", err)
	}
	got := idSuffix.ReplaceAllString(buf.String(), "$1-xxxxxxxx")
	golden := filepath.Join("testdata", "report.golden.md")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v",
			err)
	}
	if got != string(want) {
		t.Errorf("Markdown differs from %s (run with -update if the "+
			"change is intended):\n%s", golden, got)
	}
}
