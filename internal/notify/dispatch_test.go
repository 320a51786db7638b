package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lifeline-backup/lifeline/internal/notify"
)

var errDiskFull = errors.New("write backup: disk full")

// rateLimitTwice responds with 429 with Retry-After: 1 to the first two of
// every three requests.
func rateLimitTwice(n int, w http.ResponseWriter) bool {
	if n%3 == 0 {
		return false
	}
	w.Header().Set("Retry-After", "1")
	w.WriteHeader(http.StatusTooManyRequests)
	return true
}

func TestDispatcher_HonoursRetryAfter(t *testing.T) {
	r := newReceiver(t, rateLimitTwice)
	s, c := &sleeper{}, newClock()
	slack := notify.NewSlack(r.url(), options(s, c))
	d := notify.NewDispatcher([]notify.Notifier{slack},
		notify.DispatchConfig{Now: c.Now}, nil)
	ctx := context.Background()

	d.Report(ctx, "backup", "redis-main", "daily", errDiskFull, nil)
	if requests, accepted := r.counts(); requests != 3 || accepted != 1 {
		t.Fatalf("after failure: requests %d, accepted %d; want 3, 1",
			requests, accepted)
	}
	d.Report(ctx, "backup", "redis-main", "daily", errDiskFull, nil)
	d.Report(ctx, "backup", "redis-main", "daily", nil, nil)

	if requests, accepted := r.counts(); requests != 6 || accepted != 2 {
		t.Errorf("requests %d, accepted %d; want 6, 2", requests, accepted)
	}
	want := []time.Duration{time.Second, time.Second, time.Second, time.Second}
	if got := s.recorded(); !slices.Equal(got, want) {
		t.Errorf("waits %v, want %v", got, want)
	}
	texts := slackTexts(t, r)
	if !strings.Contains(texts[0], "*backup failed*") ||
		!strings.Contains(texts[0], "disk full") {
		t.Errorf("first message %q, want the failure", texts[0])
	}
	if !strings.Contains(texts[1], "*backup recovered*") {
		t.Errorf("second message %q, want the recovery", texts[1])
	}
}

// slackTexts decodes the text field of every accepted Slack message.
func slackTexts(t *testing.T, r *receiver) []string {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var texts []string
	for _, b := range r.accepted {
		var m struct{ Text string }
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("decode Slack message %q: %v", b, err)
		}
		texts = append(texts, m.Text)
	}
	return texts
}

func TestDispatcher_LogsFailingNotifierOnce(t *testing.T) {
	r := newReceiver(t, always(http.StatusInternalServerError))
	s, c := &sleeper{}, newClock()
	slack := notify.NewSlack(r.url(), options(s, c))
	log, buf := logBuffer()
	d := notify.NewDispatcher([]notify.Notifier{slack},
		notify.DispatchConfig{Now: c.Now}, log)
	ctx := context.Background()

	d.Report(ctx, "backup", "redis-main", "", errDiskFull, nil)
	if got := len(records(t, buf)); got != 1 {
		t.Fatalf("log records after first failure: %d, want 1\n%s", got, buf)
	}
	rec := records(t, buf)[0]
	if rec["notifier"] != "slack webhook ("+r.host()+")" {
		t.Errorf("notifier %q, want the kind and host", rec["notifier"])
	}
	if e, _ := rec["error"].(string); !strings.Contains(e, "500") {
		t.Errorf("error %q, want the last status 500", e)
	}
	requests, _ := r.counts()
	if want := 1 + notify.DefaultMaxRetries; requests != want {
		t.Errorf("requests %d, want %d", requests, want)
	}

	// The undelivered alert is sent again, but not logged again.
	c.advance(30 * time.Minute)
	d.Report(ctx, "backup", "redis-main", "", errDiskFull, nil)
	if again, _ := r.counts(); again != 2*requests {
		t.Errorf("requests after second failure %d, want %d", again,
			2*requests)
	}
	if got := len(records(t, buf)); got != 1 {
		t.Errorf("log records after second failure: %d, want 1", got)
	}

	c.advance(31 * time.Minute)
	d.Report(ctx, "backup", "redis-main", "", errDiskFull, nil)
	recs := records(t, buf)
	if len(recs) != 2 {
		t.Fatalf("log records after the interval: %d, want 2", len(recs))
	}
	if recs[1]["suppressed"] != 1.0 {
		t.Errorf("suppressed %v, want 1", recs[1]["suppressed"])
	}
	assertNoSecret(t, "log", buf.String())
	assertBackoff(t, s.recorded())
}

// assertBackoff checks that every wait lies between the default bounds.
func assertBackoff(t *testing.T, waits []time.Duration) {
	t.Helper()
	for i, w := range waits {
		if w < notify.DefaultMinBackoff || w > notify.DefaultMaxBackoff {
			t.Errorf("wait %d is %v, want between %v and %v", i, w,
				notify.DefaultMinBackoff, notify.DefaultMaxBackoff)
		}
	}
}

func TestDispatcher_Flapping(t *testing.T) {
	r := newReceiver(t, nil)
	c := newClock()
	hook := notify.NewWebhook(r.url(), options(&sleeper{}, c))
	d := notify.NewDispatcher([]notify.Notifier{hook},
		notify.DispatchConfig{Now: c.Now}, nil)
	ctx := context.Background()

	for range 3 {
		d.Report(ctx, "check", "bolt", "", errDiskFull, nil)
		c.advance(time.Minute)
	}
	if got := r.statuses(t); !slices.Equal(got, []string{"failed"}) {
		t.Fatalf("after three failures: %v, want [failed]", got)
	}
	d.Report(ctx, "check", "bolt", "", nil, nil)
	d.Report(ctx, "check", "bolt", "", nil, nil)
	want := []string{"failed", "recovered"}
	if got := r.statuses(t); !slices.Equal(got, want) {
		t.Fatalf("statuses %v, want %v", got, want)
	}
	recovered := r.events(t)[1]
	details := recovered["details"].(map[string]any)
	if details["failed_since"] != "2025-03-01T12:00:00Z" {
		t.Errorf("failed_since %v, want the first failure",
			details["failed_since"])
	}
}

func TestDispatcher_NotifySuccess(t *testing.T) {
	r := newReceiver(t, nil)
	c := newClock()
	hook := notify.NewWebhook(r.url(), options(&sleeper{}, c))
	cfg := notify.DispatchConfig{NotifySuccess: true, Now: c.Now}
	d := notify.NewDispatcher([]notify.Notifier{hook}, cfg, nil)
	ctx := context.Background()

	d.Report(ctx, "prune", "", "", nil, nil)
	d.Report(ctx, "prune", "", "", errDiskFull, nil)
	d.Report(ctx, "prune", "", "", nil, nil)
	d.Report(ctx, "prune", "", "", nil, nil)

	want := []string{"succeeded", "failed", "recovered", "succeeded"}
	if got := r.statuses(t); !slices.Equal(got, want) {
		t.Errorf("statuses %v, want %v", got, want)
	}
}

func TestDispatcher_SeparateJobs(t *testing.T) {
	r := newReceiver(t, nil)
	c := newClock()
	hook := notify.NewWebhook(r.url(), options(&sleeper{}, c))
	d := notify.NewDispatcher([]notify.Notifier{hook},
		notify.DispatchConfig{Now: c.Now}, nil)
	ctx := context.Background()

	d.Report(ctx, "backup", "redis", "hourly", errDiskFull, nil)
	d.Report(ctx, "backup", "redis", "daily", errDiskFull, nil)
	d.Report(ctx, "backup", "bolt", "hourly", errDiskFull, nil)
	d.Report(ctx, "backup", "redis", "hourly", errDiskFull, nil)

	if got := len(r.statuses(t)); got != 3 {
		t.Errorf("events %d, want one per source and tier (3)", got)
	}
}

func TestDispatcher_PersistedState(t *testing.T) {
	r := newReceiver(t, nil)
	c := newClock()
	hook := notify.NewWebhook(r.url(), options(&sleeper{}, c))
	cfg := notify.DispatchConfig{
		Now:       c.Now,
		StatePath: filepath.Join(t.TempDir(), "notify.json"),
	}
	ctx := context.Background()

	first := notify.NewDispatcher([]notify.Notifier{hook}, cfg, nil)
	first.Report(ctx, "backup", "redis", "daily", errDiskFull, nil)

	second := notify.NewDispatcher([]notify.Notifier{hook}, cfg, nil)
	second.Report(ctx, "backup", "redis", "daily", errDiskFull, nil)
	if got := r.statuses(t); !slices.Equal(got, []string{"failed"}) {
		t.Fatalf("after restart: %v, want one failed", got)
	}
	second.Report(ctx, "backup", "redis", "daily", nil, nil)
	want := []string{"failed", "recovered"}
	if got := r.statuses(t); !slices.Equal(got, want) {
		t.Errorf("statuses %v, want %v", got, want)
	}
	info, err := os.Stat(cfg.StatePath)
	if err != nil {
		t.Fatalf("stat state file: %v", err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("state file mode %v, want 0600", perm)
	}
}

func TestDispatcher_CorruptStateFile(t *testing.T) {
	r := newReceiver(t, nil)
	c := newClock()
	hook := notify.NewWebhook(r.url(), options(&sleeper{}, c))
	path := filepath.Join(t.TempDir(), "notify.json")
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	log, buf := logBuffer()
	d := notify.NewDispatcher([]notify.Notifier{hook},
		notify.DispatchConfig{Now: c.Now, StatePath: path}, log)

	d.Report(context.Background(), "backup", "", "", errDiskFull, nil)
	if got := r.statuses(t); !slices.Equal(got, []string{"failed"}) {
		t.Errorf("statuses %v, want [failed]", got)
	}
	if !strings.Contains(buf.String(), "notification state not loaded") {
		t.Errorf("log %q, want the load error", buf)
	}
	if _, err := notifyStateJobs(t, path); err != nil {
		t.Errorf("state file not rewritten: %v", err)
	}
}

// notifyStateJobs decodes the jobs in the state file at path.
func notifyStateJobs(t *testing.T, path string) ([]any, error) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f struct{ Jobs []any }
	err = json.Unmarshal(b, &f)
	return f.Jobs, err
}

// toggle is a receiver that rejects requests with 503 while down is set.
func toggle(down *bool) func(int, http.ResponseWriter) bool {
	return func(_ int, w http.ResponseWriter) bool {
		if *down {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		return *down
	}
}

func TestDispatcher_ResendsUndeliveredAlert(t *testing.T) {
	down := true
	flaky := newReceiver(t, toggle(&down))
	steady := newReceiver(t, nil)
	c := newClock()
	opts := options(&sleeper{}, c)
	d := notify.NewDispatcher([]notify.Notifier{
		notify.NewWebhook(flaky.url(), opts),
		notify.NewWebhook(steady.url(), opts),
	}, notify.DispatchConfig{Now: c.Now}, nil)
	ctx := context.Background()

	d.Report(ctx, "drill", "", "", errDiskFull, nil)
	flaky.mu.Lock()
	down = false
	flaky.mu.Unlock()
	d.Report(ctx, "drill", "", "", errDiskFull, nil)
	d.Report(ctx, "drill", "", "", errDiskFull, nil)

	if got := flaky.statuses(t); !slices.Equal(got, []string{"failed"}) {
		t.Errorf("flaky receiver: %v, want one failed", got)
	}
	if got := steady.statuses(t); !slices.Equal(got, []string{"failed"}) {
		t.Errorf("steady receiver: %v, want one failed", got)
	}
}

func TestDispatcher_NoRecoveryWithoutAlert(t *testing.T) {
	down := true
	flaky := newReceiver(t, toggle(&down))
	steady := newReceiver(t, nil)
	c := newClock()
	opts := options(&sleeper{}, c)
	d := notify.NewDispatcher([]notify.Notifier{
		notify.NewWebhook(flaky.url(), opts),
		notify.NewWebhook(steady.url(), opts),
	}, notify.DispatchConfig{Now: c.Now}, nil)
	ctx := context.Background()

	d.Report(ctx, "backup", "", "", errDiskFull, nil)
	flaky.mu.Lock()
	down = false
	flaky.mu.Unlock()
	d.Report(ctx, "backup", "", "", nil, nil)

	if got := flaky.statuses(t); len(got) != 0 {
		t.Errorf("flaky receiver: %v, want nothing", got)
	}
	want := []string{"failed", "recovered"}
	if got := steady.statuses(t); !slices.Equal(got, want) {
		t.Errorf("steady receiver: %v, want %v", got, want)
	}
}

func TestDispatcher_ReturnsWhenContextEnds(t *testing.T) {
	r := newReceiver(t, always(http.StatusBadGateway))
	c := newClock()
	hook := notify.NewWebhook(r.url(), options(&sleeper{}, c))
	log, buf := logBuffer()
	d := notify.NewDispatcher([]notify.Notifier{hook},
		notify.DispatchConfig{Now: c.Now}, log)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	d.Report(ctx, "backup", "", "", errDiskFull, nil)
	if requests, _ := r.counts(); requests != 0 {
		t.Errorf("requests %d, want 0 after the context ended", requests)
	}
	if !strings.Contains(buf.String(), "context canceled") {
		t.Errorf("log %q, want the context error", buf)
	}
}
