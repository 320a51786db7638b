package notify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lifeline-backup/lifeline/internal/notify"
)

// secretPath plays the part of the token in a Slack webhook URL.
const secretPath = "/services/T0SECRET/B0SECRET/tokenSECRET42"

// secretWord is in secretPath and must never show up in logs or errors.
const secretWord = "SECRET"

// receiver is a webhook endpoint on loopback that records the bodies of
// the requests it accepts with 200.
type receiver struct {
	srv *httptest.Server

	mu       sync.Mutex
	requests int
	accepted [][]byte
	headers  []http.Header
	// respond writes a response other than 200 for request n (from 1),
	// or returns false to accept it.
	respond func(n int, w http.ResponseWriter) bool
}

func newReceiver(t *testing.T,
	respond func(n int, w http.ResponseWriter) bool) *receiver {
	t.Helper()
	r := &receiver{respond: respond}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	if r.respond != nil && r.respond(r.requests, w) {
		return
	}
	r.accepted = append(r.accepted, body)
	r.headers = append(r.headers, req.Header.Clone())
	_, _ = io.WriteString(w, "ok")
}

// url returns the receiver's URL with the secret path.
func (r *receiver) url() string { return r.srv.URL + secretPath }

// host returns the host and port of the receiver.
func (r *receiver) host() string {
	return strings.TrimPrefix(r.srv.URL, "http://")
}

func (r *receiver) counts() (requests, accepted int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.requests, len(r.accepted)
}

// events decodes the accepted bodies of a generic webhook.
func (r *receiver) events(t *testing.T) []map[string]any {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var events []map[string]any
	for _, b := range r.accepted {
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("decode body %q: %v", b, err)
		}
		events = append(events, m)
	}
	return events
}

// statuses returns the status field of every accepted webhook event.
func (r *receiver) statuses(t *testing.T) []string {
	t.Helper()
	var got []string
	for _, e := range r.events(t) {
		got = append(got, e["status"].(string))
	}
	return got
}

// always responds to every request with code.
func always(code int) func(int, http.ResponseWriter) bool {
	return func(_ int, w http.ResponseWriter) bool {
		w.WriteHeader(code)
		return true
	}
}

// sleeper records the waits that a notifier asks for, without waiting.
type sleeper struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *sleeper) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.waits = append(s.waits, d)
	return ctx.Err()
}

func (s *sleeper) recorded() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock {
	return &clock{now: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// options returns notifier options that record waits instead of sleeping.
func options(s *sleeper, c *clock) notify.Options {
	return notify.Options{Sleep: s.sleep, Now: c.Now}
}

// logBuffer returns a JSON logger and the buffer it writes to.
func logBuffer() (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	return slog.New(slog.NewJSONHandler(&buf, nil)), &buf
}

// records decodes the JSON log records in buf.
func records(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	dec := json.NewDecoder(bytes.NewReader(buf.Bytes()))
	for dec.More() {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("decode log record: %v", err)
		}
		out = append(out, m)
	}
	return out
}

// assertNoSecret fails when s contains the secret part of the URL.
func assertNoSecret(t *testing.T, what, s string) {
	t.Helper()
	if strings.Contains(s, secretWord) || strings.Contains(s, "/services") {
		t.Errorf("%s contains the secret part of the URL: %s", what, s)
	}
}
