package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/lifeline-backup/lifeline/internal/source/redis/redistest"
)

// slackEnv is the environment variable that contains the Slack webhook
// URL in the notification tests' configurations.
const slackEnv = "LIFELINE_TEST_SLACK_URL"

// slackSecretPath is the secret part of the receiver's webhook URL, as
// in a Slack incoming webhook.
const slackSecretPath = "/services/T0LIFELINE/B0TEST/s3cr3tT0kenN0tToPrint"

// slackRequest is one request that a receiver got.
type slackRequest struct {
	status int
	text   string
}

// slackReceiver is a Slack-like webhook receiver on 127.0.0.1. Its
// respond function picks the status of the n-th request, from 1.
type slackReceiver struct {
	url     string
	respond func(n int, h http.Header) int

	mu       sync.Mutex
	requests []slackRequest
}

// startSlackReceiver starts a receiver that responds to requests for its
// secret path with the status respond picks, and with 404 to others.
func startSlackReceiver(t *testing.T,
	respond func(n int, h http.Header) int) *slackReceiver {
	t.Helper()
	r := &slackReceiver{respond: respond}
	srv := httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(srv.Close)
	r.url = srv.URL + slackSecretPath
	return r
}

func (r *slackReceiver) serve(w http.ResponseWriter, req *http.Request) {
	if req.URL.Path != slackSecretPath || req.Method != http.MethodPost {
		http.NotFound(w, req)
		return
	}
	body, _ := io.ReadAll(req.Body)
	var msg struct {
		Text string `json:"text"`
	}
	json.Unmarshal(body, &msg)
	r.mu.Lock()
	n := len(r.requests) + 1
	status := r.respond(n, w.Header())
	r.requests = append(r.requests, slackRequest{status: status,
		text: msg.Text})
	r.mu.Unlock()
	w.WriteHeader(status)
	if status == http.StatusOK {
		io.WriteString(w, "ok")
	}
}

// accepted returns the texts of the requests that got a 200 response.
func (r *slackReceiver) accepted() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, req := range r.requests {
		if req.status == http.StatusOK {
			out = append(out, req.text)
		}
	}
	return out
}

// statuses returns the status of every request so far.
func (r *slackReceiver) statuses() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []int
	for _, req := range r.requests {
		out = append(out, req.status)
	}
	return out
}

// notifyConfig returns a configuration with one Redis source "cache" at
// redisURL, and the Slack notifier of slackEnv when notify is set.
func (e *e2e) notifyConfig(redisURL string, notify bool,
	successes bool) string {
	_, url := e.localRepo()
	text := fmt.Sprintf(`repository:
  url: %s
keys:
  - id: k1
    env: %s
sources:
  - name: cache
    type: redis
    url: %s
state_dir: %s
`, url, keyEnv, redisURL, filepath.Join(e.dir, "state"))
	if notify {
		text += fmt.Sprintf("notify:\n  slack:\n    - env: %s\n"+
			"  successes: %v\n", slackEnv, successes)
	}
	return text
}

// useReceiver exports the receiver's URL in slackEnv and records it and
// its secret path as secrets.
func (e *e2e) useReceiver(r *slackReceiver) {
	e.t.Setenv(slackEnv, r.url)
	e.addSecret(r.url)
	e.addSecret(slackSecretPath)
}

func TestE2E_NotifyFailureThenRecovery(t *testing.T) {
	t.Run("existing state dir", func(t *testing.T) {
		notifyFailureThenRecovery(t, true)
	})
	// A fresh host has no state_dir yet, so lifeline must create it.
	t.Run("missing state dir", func(t *testing.T) {
		notifyFailureThenRecovery(t, false)
	})
}

// notifyFailureThenRecovery makes a backup fail twice and then succeed
// twice, with a Slack receiver that rate-limits its first two requests.
// With makeStateDir the state_dir exists before the first run.
func notifyFailureThenRecovery(t *testing.T, makeStateDir bool) {
	e := newE2E(t)
	if makeStateDir {
		err := os.MkdirAll(filepath.Join(e.dir, "state"), 0o700)
		if err != nil {
			t.Fatal(err)
		}
	}
	// Slack-style rate limiting: the first two requests get 429 with
	// Retry-After: 1, so the failure message arrives on the third try.
	r := startSlackReceiver(t, func(n int, h http.Header) int {
		if n <= 2 {
			h.Set("Retry-After", "1")
			return http.StatusTooManyRequests
		}
		return http.StatusOK
	})
	e.useReceiver(r)
	down := "redis://" + closedAddr(t) + "/0"
	e.writeConfigText(e.notifyConfig(down, true, false))
	e.mustRun("init")

	// The second failure in a row sends nothing more.
	for range 2 {
		if res := e.run("backup", "--tier", "full"); res.code != exitFailure {
			t.Fatalf("backup of an unreachable source: exit code %d, "+
				"want %d\nstderr: %s", res.code, exitFailure, res.stderr)
		}
	}
	got := r.accepted()
	if len(got) != 1 {
		t.Fatalf("after two failed backups the receiver accepted %d "+
			"messages, want 1: %q", len(got), got)
	}
	wantContains(t, "failure message", got[0], "backup failed",
		"source `cache`", "tier `full`")

	// The same source name now points at a running server.
	srv := redistest.Start(t)
	fillRedis(t, srv, "key", 10)
	e.writeConfigText(e.notifyConfig(srv.URL(0), true, false))
	e.mustRun("backup", "--tier", "full")
	e.mustRun("backup", "--tier", "full")

	got = r.accepted()
	if len(got) != 2 {
		t.Fatalf("receiver accepted %d messages, want 2 (failure and "+
			"recovery): %q", len(got), got)
	}
	wantContains(t, "recovery message", got[1], "backup recovered",
		"source `cache`", "failed_since")
	want := []int{429, 429, 200, 200}
	if s := r.statuses(); !slices.Equal(s, want) {
		t.Errorf("receiver responded %v, want %v", s, want)
	}
}

// logMessages returns the msg of every JSON log line in stdout, leaving
// out the lines about notifications.
func logMessages(t *testing.T, stdout string) []string {
	t.Helper()
	var out []string
	for _, line := range logLines(t, stdout) {
		msg, _ := line["msg"].(string)
		if !strings.HasPrefix(msg, "notification") {
			out = append(out, msg)
		}
	}
	return out
}

// wantSameRun fails the test unless two runs of a command have the same
// exit code, standard error and log messages.
func wantSameRun(t *testing.T, got, want result) {
	t.Helper()
	if got.code != want.code {
		t.Errorf("%v with a failing notifier: exit code %d, want %d as "+
			"without notify", got.args, got.code, want.code)
	}
	if got.stderr != want.stderr {
		t.Errorf("%v with a failing notifier: standard error %q, want "+
			"%q as without notify", got.args, got.stderr, want.stderr)
	}
	gotLogs, wantLogs := logMessages(t, got.stdout),
		logMessages(t, want.stdout)
	if !slices.Equal(gotLogs, wantLogs) {
		t.Errorf("%v with a failing notifier: log messages %q, want %q "+
			"as without notify", got.args, gotLogs, wantLogs)
	}
}

func TestE2E_NotifyReceiverErrorsIgnored(t *testing.T) {
	e := newE2E(t)
	// Retry-After: 0 keeps the retries of each message from sleeping.
	r := startSlackReceiver(t, func(_ int, h http.Header) int {
		h.Set("Retry-After", "0")
		return http.StatusInternalServerError
	})
	e.useReceiver(r)
	srv := redistest.Start(t)
	fillRedis(t, srv, "key", 10)
	e.writeConfigText(e.notifyConfig(srv.URL(0), false, false))
	e.mustRun("init")

	// The success comes first: after a failure that no notifier
	// accepted, the dispatcher sends no recovery message.
	ok := e.mustRun("backup", "--tier", "full")
	e.writeConfigText(e.notifyConfig(srv.URL(0), true, true))
	wantSameRun(t, e.run("backup", "--tier", "full"), ok)
	if len(r.statuses()) == 0 {
		t.Fatal("the receiver got no request for the successful backup")
	}

	down := "redis://" + closedAddr(t) + "/0"
	e.writeConfigText(e.notifyConfig(down, false, false))
	failed := e.run("backup", "--tier", "full")
	if failed.code != exitFailure {
		t.Fatalf("backup of an unreachable source: exit code %d, want %d",
			failed.code, exitFailure)
	}
	before := len(r.statuses())
	e.writeConfigText(e.notifyConfig(down, true, true))
	wantSameRun(t, e.run("backup", "--tier", "full"), failed)
	if len(r.statuses()) == before {
		t.Error("the receiver got no request for the failed backup")
	}
	if got := r.accepted(); len(got) != 0 {
		t.Errorf("receiver accepted %q, want nothing", got)
	}
}
