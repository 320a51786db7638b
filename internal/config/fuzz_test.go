package config

import (
	"strings"
	"testing"
)

// FuzzParse parses arbitrary configuration text: it must return a
// config or an error, never both and never panic, and an accepted config
// names its repository.
func FuzzParse(f *testing.F) {
	f.Add([]byte("repository:\n  url: file:///srv/repo\nkeys:\n  - id: k1\n" +
		"    env: LIFELINE_KEY_K1\nsources:\n  - name: app\n    type: bolt\n" +
		"    path: /var/lib/app.db\n"))
	f.Add([]byte("encryption: none\n"))
	f.Add([]byte("repository:\n  url: file:///r\n  encryption: none\n"))
	f.Add([]byte("repository: [\n"))
	f.Add([]byte("a: &a [*a, *a]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if (c == nil) == (err == nil) {
			t.Fatalf("Parse returned config %v and error %v", c, err)
		}
		if err != nil {
			if strings.Contains(err.Error(), "goroutine ") {
				t.Fatalf("error carries a stack: %v", err)
			}
			return
		}
		if c.Repository.URL == "" {
			t.Fatal("accepted a config without a repository url")
		}
	})
}
