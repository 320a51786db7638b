package config

import (
	"strings"
	"testing"
)

// drillConfig returns a configuration whose sources are given as YAML list
// items, each starting with "  - name:".
func drillConfig(sources string) string {
	return "repository:\n  url: file:///srv/repo\n" +
		"keys:\n  - id: k1\n    env: LIFELINE_KEY_K1\n" +
		"sources:\n" + sources
}

func TestParse_DrillTargetIsSource(t *testing.T) {
	cases := []struct {
		name, sources, want string
	}{
		{"target names the source itself",
			"  - name: cache\n" +
				"    type: redis\n" +
				"    url: redis://127.0.0.1:6379/0\n" +
				"    drill: {target: cache}\n",
			`line 7: source "cache": drill target "cache" is the source ` +
				`itself`},
		{"same Redis URL and database",
			"  - name: cache\n" +
				"    type: redis\n" +
				"    url: redis://127.0.0.1:6379/0\n" +
				"    drill: {target: spare}\n" +
				"  - name: spare\n" +
				"    type: redis\n" +
				"    url: redis://127.0.0.1:6379\n",
			`line 7: source "cache": drill target "spare" is the source ` +
				`itself`},
		{"same Redis host in other case",
			"  - name: cache\n" +
				"    type: redis\n" +
				"    url: redis://LOCALHOST:6379/2\n" +
				"    drill: {target: spare}\n" +
				"  - name: spare\n" +
				"    type: redis\n" +
				"    url: redis://localhost:6379/2\n",
			`line 7: source "cache": drill target "spare" is the source ` +
				`itself`},
		{"same bbolt path",
			"  - name: app\n" +
				"    type: bolt\n" +
				"    path: /var/lib/app/app.db\n" +
				"    drill: {target: scratch}\n" +
				"  - name: scratch\n" +
				"    type: bolt\n" +
				"    path: /var/lib/app/../app/./app.db\n",
			`line 7: source "app": drill target "scratch" is the source ` +
				`itself`},
		{"target not configured",
			"  - name: cache\n" +
				"    type: redis\n" +
				"    url: redis://127.0.0.1:6379/0\n" +
				"    drill: {target: nowhere}\n",
			`line 7: source "cache": drill target "nowhere" is not a ` +
				`configured source`},
		{"target of another type",
			"  - name: cache\n" +
				"    type: redis\n" +
				"    url: redis://127.0.0.1:6379/0\n" +
				"    drill: {target: app}\n" +
				"  - name: app\n" +
				"    type: bolt\n" +
				"    path: /var/lib/app.db\n",
			`line 7: source "cache": drill target "app" is of type bolt`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(drillConfig(tc.sources)))
			if err == nil {
				t.Fatalf("Parse succeeded, want an error containing %q",
					tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %q, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestParse_DrillTargetSpare(t *testing.T) {
	for name, sources := range map[string]string{
		"other Redis database": "  - name: cache\n" +
			"    type: redis\n" +
			"    url: redis://127.0.0.1:6379/0\n" +
			"    drill: {target: spare}\n" +
			"  - name: spare\n" +
			"    type: redis\n" +
			"    url: redis://127.0.0.1:6379/15\n",
		"other Redis port": "  - name: cache\n" +
			"    type: redis\n" +
			"    url: redis://127.0.0.1:6379/0\n" +
			"    drill: {target: spare}\n" +
			"  - name: spare\n" +
			"    type: redis\n" +
			"    url: redis://127.0.0.1:6380/0\n",
		"other bbolt file": "  - name: app\n" +
			"    type: bolt\n" +
			"    path: /var/lib/app/app.db\n" +
			"    drill: {target: scratch}\n" +
			"  - name: scratch\n" +
			"    type: bolt\n" +
			"    path: /var/lib/app/scratch.db\n",
	} {
		t.Run(name, func(t *testing.T) {
			c, err := Parse([]byte(drillConfig(sources)))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if c.Sources[0].Drill.Target == "" {
				t.Error("drill target is empty after Parse")
			}
		})
	}
}

func TestParse_ReportPrice(t *testing.T) {
	text := drillConfig("  - name: app\n    type: bolt\n    path: /a.db\n") +
		"report:\n  price_per_gb_month: 0.023\n"
	c, err := Parse([]byte(text))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if c.Report.PricePerGBMonth != 0.023 {
		t.Errorf("price_per_gb_month = %g, want 0.023",
			c.Report.PricePerGBMonth)
	}

	_, err = Parse([]byte(drillConfig("  - name: app\n    type: bolt\n"+
		"    path: /a.db\n") + "report:\n  price: 0.023\n"))
	if err == nil || !strings.Contains(err.Error(), `field price not found`) {
		t.Errorf("error = %v, want the unknown field price named", err)
	}
}
