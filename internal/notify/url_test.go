package notify_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lifeline-backup/lifeline/internal/notify"
)

func TestURLFromEnv(t *testing.T) {
	t.Setenv("LIFELINE_TEST_HOOK", "  https://hooks.slack.com/x/SECRET \n")
	got, err := notify.URLFromEnv("LIFELINE_TEST_HOOK")
	if err != nil || got != "https://hooks.slack.com/x/SECRET" {
		t.Errorf("URLFromEnv = %q, %v; want the trimmed URL", got, err)
	}
}

func TestURLFromEnv_Invalid(t *testing.T) {
	tests := []struct{ name, value, want string }{
		{"empty", " ", "URL is empty"},
		{"scheme", "ftp://host/SECRET", "scheme must be http or https"},
		{"no scheme", "hooks.slack.com/SECRET", "scheme must be http"},
		{"no host", "https:///SECRET", "URL has no host"},
		{"parse", "https://host/SECRET\x7f%zz", "invalid URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("LIFELINE_TEST_HOOK", tt.value)
			_, err := notify.URLFromEnv("LIFELINE_TEST_HOOK")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
			if !strings.Contains(err.Error(), "LIFELINE_TEST_HOOK") {
				t.Errorf("error %q does not name the variable", err)
			}
			assertNoSecret(t, "error", err.Error())
		})
	}
}

func TestURLFromEnv_Unset(t *testing.T) {
	_, err := notify.URLFromEnv("LIFELINE_TEST_UNSET_HOOK")
	want := "read webhook URL from environment variable " +
		"LIFELINE_TEST_UNSET_HOOK: not set"
	if err == nil || err.Error() != want {
		t.Errorf("error %v, want %q", err, want)
	}
}

func TestURLFromFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "slack-url")
	err := os.WriteFile(path, []byte("http://127.0.0.1:9/SECRET\n"), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	got, err := notify.URLFromFile(path)
	if err != nil || got != "http://127.0.0.1:9/SECRET" {
		t.Errorf("URLFromFile = %q, %v; want the trimmed URL", got, err)
	}
}

func TestURLFromFile_Invalid(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad")
	if err := os.WriteFile(bad, []byte("SECRET"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{bad, filepath.Join(dir, "missing")} {
		_, err := notify.URLFromFile(path)
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("error %v, want one naming %s", err, path)
			continue
		}
		assertNoSecret(t, "error", err.Error())
	}
}
