package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// newReportScenario makes a local repository with a bbolt source that
// has one full backup and one passed drill.
func newReportScenario(t *testing.T) *e2e {
	t.Helper()
	e := newE2E(t)
	_, url := e.localRepo()
	db := filepath.Join(e.dir, "app.db")
	writeBoltFixture(t, db)
	e.writeConfigText(strings.Join([]string{
		"repository:\n  url: " + url,
		"keys:\n  - id: k1\n    env: " + keyEnv,
		"sources:\n  - name: app\n    type: bolt\n    path: " + db,
		"    objectives: {rpo: 24h, rto: 10m}",
		"report:\n  price_per_gb_month: 0.023",
		"state_dir: " + filepath.Join(e.dir, "state"),
		"",
	}, "\n"))
	e.mustRun("init")
	e.mustRun("backup", "--tier", "full")
	e.mustRun("drill")
	return e
}

func TestReport_JSONMatchesSchema(t *testing.T) {
	e := newReportScenario(t)
	out := e.mustRun("report", "--format", "json").stdout

	schema := compileReportSchema(t)
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(out))
	if err != nil {
		t.Fatalf("report --format json is not JSON: %v\n%s", err, out)
	}
	if err := schema.Validate(doc); err != nil {
		t.Fatalf("report does not match docs/report.schema.json: %v\n%s",
			err, out)
	}

	wantContains(t, "report JSON", out, `"price_per_gb_month_usd": 0.023`,
		`"rpo_seconds": 86400`, `"rto_ms": 600000`, `"passed": true`)
}

// compileReportSchema compiles docs/report.schema.json with formats
// such as date-time asserted.
func compileReportSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	path := filepath.Join(moduleRoot(t), "docs", "report.schema.json")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatalf("%s is not JSON: %v", path, err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("report.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile("report.schema.json")
	if err != nil {
		t.Fatalf("compile %s: %v", path, err)
	}
	return schema
}

func TestReportSchema_RejectsBadReport(t *testing.T) {
	schema := compileReportSchema(t)
	for name, text := range map[string]string{
		"empty object": `{}`,
		"local time": `{"format_version":1,"generated_at":"2026-01-01T01:00:00+01:00",` +
			`"repository":{"location":"x","id":"y"},"price_per_gb_month_usd":0.015,` +
			`"incremental_interval_seconds":3600,"retention":{"incremental_seconds":1,` +
			`"full_seconds":1,"complete_seconds":1},"sources":[],"keys":[],` +
			`"storage":{"tiers":[],"other_bytes":0,"total_bytes":0,"monthly_cost_usd":0},` +
			`"controls":[],"warnings":[]}`,
	} {
		doc, err := jsonschema.UnmarshalJSON(strings.NewReader(text))
		if err != nil {
			t.Fatal(err)
		}
		if err := schema.Validate(doc); err == nil {
			t.Errorf("%s: schema accepted %s", name, text)
		}
	}
}

func TestReport_MarkdownAndHTML(t *testing.T) {
	e := newReportScenario(t)
	md := e.mustRun("report").stdout
	wantContains(t, "report", md, "# Lifeline evidence report",
		"| Restores tested", "| Objectives met", "## Source app",
		"| full ", "passed")

	out := filepath.Join(e.dir, "report.html")
	res := e.mustRun("report", "--format", "html", "--out", out)
	if res.stdout != "" {
		t.Errorf("report --out printed %q, want nothing", res.stdout)
	}
	page, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("read %s: %v", out, err)
	}
	if !bytes.Contains(page, []byte("<svg ")) {
		t.Errorf("%s has no inline SVG chart", out)
	}
}

func TestReport_InvalidFormat(t *testing.T) {
	e := newReportScenario(t)
	res := e.run("report", "--format", "pdf")
	if res.code != exitUsage {
		t.Errorf("exit code %d, want %d", res.code, exitUsage)
	}
	wantContains(t, "standard error", res.stderr, `--format "pdf" is invalid`)
}
