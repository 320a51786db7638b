package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lifeline-backup/lifeline/internal/notify"
)

func sampleEvent() notify.Event {
	return notify.Event{
		Job:     "backup",
		Source:  "redis-main",
		Tier:    "daily",
		Status:  notify.Failed,
		Message: "upload chunk: 503 <Service> & more",
		Time:    time.Date(2025, 3, 1, 13, 0, 0, 0, time.FixedZone("", 3600)),
		Details: map[string]string{"snapshot": "7f3a", "records": "1200"},
	}
}

func TestWebhook_Payload(t *testing.T) {
	r := newReceiver(t, nil)
	hook := notify.NewWebhook(r.url(), options(&sleeper{}, newClock()))
	if err := hook.Notify(context.Background(), sampleEvent()); err != nil {
		t.Fatalf("notify: %v", err)
	}
	got := r.events(t)[0]
	want := map[string]any{
		"job":     "backup",
		"source":  "redis-main",
		"tier":    "daily",
		"status":  "failed",
		"message": "upload chunk: 503 <Service> & more",
		"time":    "2025-03-01T12:00:00Z",
		"details": map[string]any{"snapshot": "7f3a", "records": "1200"},
	}
	for k, v := range want {
		if g, _ := json.Marshal(got[k]); string(g) != mustJSON(t, v) {
			t.Errorf("field %s = %s, want %s", k, g, mustJSON(t, v))
		}
	}
	if len(got) != len(want) {
		t.Errorf("fields %v, want exactly %d", got, len(want))
	}
	if ct := r.headers[0].Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestWebhook_EmptyFieldsPresent(t *testing.T) {
	r := newReceiver(t, nil)
	hook := notify.NewWebhook(r.url(), options(&sleeper{}, newClock()))
	e := notify.Event{Job: "check", Status: notify.Recovered}
	if err := hook.Notify(context.Background(), e); err != nil {
		t.Fatalf("notify: %v", err)
	}
	got := r.events(t)[0]
	for _, k := range []string{"source", "tier", "message", "time"} {
		if _, ok := got[k]; !ok {
			t.Errorf("field %s missing", k)
		}
	}
	if d, ok := got["details"].(map[string]any); !ok || len(d) != 0 {
		t.Errorf("details %v, want an empty object", got["details"])
	}
}

func TestSlack_Message(t *testing.T) {
	r := newReceiver(t, nil)
	slack := notify.NewSlack(r.url(), options(&sleeper{}, newClock()))
	if err := slack.Notify(context.Background(), sampleEvent()); err != nil {
		t.Fatalf("notify: %v", err)
	}
	var body map[string]any
	if err := json.Unmarshal(r.accepted[0], &body); err != nil {
		t.Fatalf("decode body: %v", err)
	}
	text, _ := body["text"].(string)
	for _, want := range []string{
		":red_circle: *backup failed*",
		"source `redis-main`",
		"tier `daily`",
		"> upload chunk: 503 &lt;Service&gt; &amp; more",
		"records: `1200`\nsnapshot: `7f3a`",
		"_2025-03-01T12:00:00Z_",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text %q does not contain %q", text, want)
		}
	}
}

func TestNotifier_String(t *testing.T) {
	url := "https://user:pass@hooks.slack.com/services/T0/B0/SECRET?t=x"
	tests := []struct {
		n    notify.Notifier
		want string
	}{
		{notify.NewSlack(url, notify.Options{}), "slack webhook (hooks.slack.com)"},
		{notify.NewWebhook(url, notify.Options{}), "webhook (hooks.slack.com)"},
		{notify.NewWebhook("ftp://x/SECRET", notify.Options{}),
			"webhook (invalid URL)"},
	}
	for _, tt := range tests {
		if got := tt.n.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}

func TestNotify_ClientErrorIsPermanent(t *testing.T) {
	r := newReceiver(t, func(_ int, w http.ResponseWriter) bool {
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte("no_service " + secretPath + "\nmore"))
		return true
	})
	s := &sleeper{}
	slack := notify.NewSlack(r.url(), options(s, newClock()))
	err := slack.Notify(context.Background(), sampleEvent())

	var serr *notify.StatusError
	if !errors.As(err, &serr) || serr.Code != http.StatusNotFound {
		t.Fatalf("error %v, want a 404 StatusError", err)
	}
	if requests, _ := r.counts(); requests != 1 {
		t.Errorf("requests %d, want 1", requests)
	}
	if len(s.recorded()) != 0 {
		t.Errorf("waits %v, want none", s.recorded())
	}
	want := "send to slack webhook (" + r.host() +
		"): 404 Not Found: no_service [redacted]"
	if err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	assertNoSecret(t, "error", err.Error())
}

func TestNotify_GivesUpAfterMaxRetries(t *testing.T) {
	r := newReceiver(t, always(http.StatusServiceUnavailable))
	s := &sleeper{}
	opts := options(s, newClock())
	opts.MaxRetries = 2
	hook := notify.NewWebhook(r.url(), opts)
	err := hook.Notify(context.Background(), sampleEvent())

	want := "send to webhook (" + r.host() + "): gave up after 3 attempts: " +
		"503 Service Unavailable"
	if err == nil || err.Error() != want {
		t.Errorf("error %v, want %q", err, want)
	}
	if got := len(s.recorded()); got != 2 {
		t.Errorf("waits %d, want 2", got)
	}
}

func TestNotify_NegativeMaxRetriesDisablesRetries(t *testing.T) {
	r := newReceiver(t, always(http.StatusTooManyRequests))
	opts := options(&sleeper{}, newClock())
	opts.MaxRetries = -1
	hook := notify.NewWebhook(r.url(), opts)
	if err := hook.Notify(context.Background(), sampleEvent()); err == nil {
		t.Fatal("notify succeeded, want an error")
	}
	if requests, _ := r.counts(); requests != 1 {
		t.Errorf("requests %d, want 1", requests)
	}
}

func TestNotify_RetryAfterDate(t *testing.T) {
	c := newClock()
	r := newReceiver(t, func(n int, w http.ResponseWriter) bool {
		if n > 1 {
			return false
		}
		at := c.Now().Add(90 * time.Second).Format(http.TimeFormat)
		w.Header().Set("Retry-After", at)
		w.WriteHeader(http.StatusServiceUnavailable)
		return true
	})
	s := &sleeper{}
	hook := notify.NewWebhook(r.url(), options(s, c))
	if err := hook.Notify(context.Background(), sampleEvent()); err != nil {
		t.Fatalf("notify: %v", err)
	}
	want := []time.Duration{90 * time.Second}
	if got := s.recorded(); !slices.Equal(got, want) {
		t.Errorf("waits %v, want %v", got, want)
	}
}

func TestNotify_RetryAfterCapped(t *testing.T) {
	r := newReceiver(t, func(n int, w http.ResponseWriter) bool {
		if n > 1 {
			return false
		}
		w.Header().Set("Retry-After", "86400")
		w.WriteHeader(http.StatusTooManyRequests)
		return true
	})
	s := &sleeper{}
	hook := notify.NewWebhook(r.url(), options(s, newClock()))
	if err := hook.Notify(context.Background(), sampleEvent()); err != nil {
		t.Fatalf("notify: %v", err)
	}
	want := []time.Duration{notify.MaxRetryAfter}
	if got := s.recorded(); !slices.Equal(got, want) {
		t.Errorf("waits %v, want %v", got, want)
	}
}

func TestNotify_RetryAfterPastDeadline(t *testing.T) {
	r := newReceiver(t, func(_ int, w http.ResponseWriter) bool {
		w.Header().Set("Retry-After", "300")
		w.WriteHeader(http.StatusTooManyRequests)
		return true
	})
	s := &sleeper{}
	hook := notify.NewWebhook(r.url(), options(s, newClock()))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	err := hook.Notify(ctx, sampleEvent())
	if err == nil || !strings.Contains(err.Error(), "429 Too Many Requests") {
		t.Errorf("error %v, want one naming the last status", err)
	}
	if err == nil || !strings.Contains(err.Error(), "not retried") {
		t.Errorf("error %v, want one saying it was not retried", err)
	}
	if len(s.recorded()) != 0 {
		t.Errorf("waits %v, want none", s.recorded())
	}
}

func TestNotify_NetworkErrorRedacted(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + secretPath + "?token=SECRETQUERY"
	srv.Close()

	s := &sleeper{}
	for _, n := range []notify.Notifier{
		notify.NewSlack(url, options(s, newClock())),
		notify.NewWebhook(url, options(s, newClock())),
	} {
		err := n.Notify(context.Background(), sampleEvent())
		if err == nil {
			t.Fatalf("%s: notify succeeded on a closed server", n)
		}
		if !strings.Contains(err.Error(), "gave up after 6 attempts") {
			t.Errorf("error %q, want the attempts", err)
		}
		assertNoSecret(t, "error", err.Error())
	}
}

func TestNotify_InvalidURL(t *testing.T) {
	hook := notify.NewWebhook("mailto:SECRET@example.org", notify.Options{})
	err := hook.Notify(context.Background(), sampleEvent())
	if err == nil || err.Error() != "send to webhook (invalid URL): invalid URL" {
		t.Errorf("error %v, want the invalid URL error", err)
	}
}
