package main

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lifeline-backup/lifeline/internal/blob/s3/s3test"
	"github.com/lifeline-backup/lifeline/internal/source/redis/redistest"
)

// addKeyForms records the hexadecimal and raw forms of a base64 key as
// secrets, next to the base64 form that generateKey records.
func (e *e2e) addKeyForms(key string) {
	e.t.Helper()
	raw, err := base64.StdEncoding.DecodeString(key)
	if err != nil {
		e.t.Fatalf("key is not base64: %v", err)
	}
	e.addSecret(hex.EncodeToString(raw))
	e.addSecret(strings.ToUpper(hex.EncodeToString(raw)))
	e.addSecret(string(raw))
}

// startEchoReceiver starts a webhook receiver that always fails with 500
// and a body that quotes the request's URL, as a careless server might.
// Retry-After: 0 keeps the retries from sleeping.
func startEchoReceiver(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprintf(w, "no_service for %s?%s\n", r.URL.Path,
				r.URL.RawQuery)
		}))
	t.Cleanup(srv.Close)
	return srv.URL + slackSecretPath + "?token=qu3ryS3cretN0tToPrint"
}

func TestE2E_SecretsNeverPrinted(t *testing.T) {
	cfg := s3test.Start(t)
	e := newE2E(t)
	e.addKeyForms(strings.TrimSpace(e.secrets[0]))
	e.setS3Credentials(cfg.AccessKeyID, cfg.SecretAccessKey)
	hook := startEchoReceiver(t)
	t.Setenv(slackEnv, hook)
	e.addSecret(hook)
	e.addSecret(slackSecretPath)
	e.addSecret("qu3ryS3cretN0tToPrint")

	from, to := redistest.Start(t), redistest.Start(t)
	fillRedis(t, from, "key", 200)
	down := "redis://" + closedAddr(t) + "/0"
	e.writeConfigText("repository:\n" +
		indent(s3Repository(cfg, "secrets"), "  ") + "keys:\n" +
		"  - id: k1\n    env: " + keyEnv + "\n" +
		"sources:\n" +
		indent(redisSource("cache", from.URL(0)), "    ") +
		indent(redisSource("copy", to.URL(0)), "    ") +
		indent(redisSource("down", down), "    ") +
		"notify:\n  slack:\n    - env: " + slackEnv + "\n" +
		"  successes: true\n" +
		"state_dir: " + filepath.Join(e.dir, "state") + "\n")

	// e.run fails the test for any secret in any output.
	e.mustRun("init")
	e.mustRun("backup", "--tier", "full", "--source", "cache")
	e.mustRun("backup", "--tier", "incremental", "--source", "cache")
	e.mustRun("snapshots")
	e.mustRun("snapshots", "--json")
	e.mustRun("restore", "--snapshot", "latest", "--source", "cache",
		"--dry-run")
	e.mustRun("restore", "--snapshot", "latest", "--source", "cache",
		"--to", "copy")
	e.mustRun("check", "--read-data")
	e.mustRun("prune", "--dry-run")
	e.mustRun("keys", "status")
	e.mustRun("unlock")

	msg := e.mustFail("backup", "--tier", "full", "--source", "down")
	wantContains(t, "failed backup message", msg, "down")
	res := e.run("backup", "--tier", "full")
	if res.code != exitFailure {
		t.Errorf("backup with one unreachable source: exit code %d, "+
			"want %d", res.code, exitFailure)
	}
	// The notifier failed and its error quoting the receiver's body was
	// logged, so the output above did pass through the redaction.
	wantContains(t, "backup output", res.stdout, "notification failed",
		"no_service for")
}
