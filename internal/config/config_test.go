package config

import (
	"strings"
	"testing"
)

const example = `repository:
  url: file:///srv/lifeline/repo   # or s3://bucket/prefix
  endpoint: http://127.0.0.1:7070
  region: us-east-1
  path_style: true
keys:
  - id: k2026
    env: LIFELINE_KEY_K2026
sources:
  - name: cache
    type: redis
    url: redis://127.0.0.1:6379/0
    namespaces:
      - name: sessions
        match: "sess:*"
  - name: app
    type: bolt
    path: /var/lib/app/app.db
`

func TestParse_Example(t *testing.T) {
	c, err := Parse([]byte(example))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got := c.Repository.URL; got != "file:///srv/lifeline/repo" {
		t.Errorf("repository url = %q", got)
	}
	if !c.Repository.PathStyle {
		t.Error("path_style = false, want true")
	}
	if len(c.Sources) != 2 || c.Sources[0].Namespaces[0].Match != "sess:*" {
		t.Errorf("sources = %+v", c.Sources)
	}
	if c.Sources[1].Line != 16 {
		t.Errorf("line of source app = %d, want 16", c.Sources[1].Line)
	}
}

func TestParse_Errors(t *testing.T) {
	cases := []struct {
		name, text, want string
	}{
		{"unknown source field",
			strings.Replace(example, "    path: /var", "    pth: /var", 1),
			`line 18: unknown field "pth"`},
		{"unknown top-level field", example + "encryption: none\n",
			`field encryption not found`},
		{"unknown type",
			strings.Replace(example, "type: bolt", "type: bolty", 1),
			`line 16: source "app": unknown type "bolty"`},
		{"bad indentation", "repository:\n url: x\n  region: y\n",
			"line 3"},
		{"missing key", strings.Replace(example,
			"keys:\n  - id: k2026\n    env: LIFELINE_KEY_K2026\n", "", 1),
			"at least one key"},
		{"duplicate source", example + "  - name: app\n    type: bolt\n" +
			"    path: /x\n", `line 19: source name "app" appears twice`},
		{"key with env and file", strings.Replace(example,
			"env: LIFELINE_KEY_K2026", "env: A\n    file: /b", 1),
			`line 7: key "k2026": set exactly one of env and file`},
		{"keyspace notifications on bolt", strings.Replace(example,
			"type: bolt", "type: bolt\n    keyspace_notifications: true", 1),
			`line 16: source "app": keyspace_notifications is for redis ` +
				`sources only, not bolt`},
		{"empty", "", "empty"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.text))
			if err == nil {
				t.Fatalf("Parse succeeded, want error containing %q",
					tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %q, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestParse_InvalidScheduleAndDB(t *testing.T) {
	cases := []struct{ name, text, want string }{
		{"cron", example + "schedule:\n  full: \"0 25 * * *\"\n",
			`line 20: schedule.full "0 25 * * *" is not a valid cron`},
		{"drill cron", example + "drill:\n  schedule: \"every day\"\n",
			`line 20: drill.schedule "every day" is not a valid cron`},
		{"negative db", strings.Replace(example, `match: "sess:*"`,
			"db: -3", 1), `namespace "sessions": db -3 is invalid`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.text))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse error = %v, want it to contain %q", err,
					tc.want)
			}
		})
	}
}
