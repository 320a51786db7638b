package status

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/lifeline-backup/lifeline/internal/schedule"
)

// start is the fake time at which tests begin.
var start = time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC)

// harness runs a Server on a fake clock and collects its results and
// changes.
type harness struct {
	t       *testing.T
	clock   *schedule.FakeClock
	srv     *Server
	results chan idResult

	mu      sync.Mutex
	changes []Change
}

type idResult struct {
	id string
	r  Result
}

// newHarness builds a Server from cfg with a history file in a
// temporary directory, unless cfg names one.
func newHarness(t *testing.T, cfg Config) *harness {
	t.Helper()
	h := &harness{
		t:       t,
		clock:   schedule.NewFakeClock(start),
		results: make(chan idResult, 100),
	}
	if cfg.HistoryPath == "" {
		cfg.HistoryPath = filepath.Join(t.TempDir(), "status.db")
	}
	cfg.OnChange = func(_ context.Context, c Change) {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.changes = append(h.changes, c)
	}
	srv, err := New(cfg, h.clock, nil)
	if err != nil {
		t.Fatalf("new server: %v", err)
	}
	srv.onResult = func(id string, r Result) { h.results <- idResult{id, r} }
	h.srv = srv
	return h
}

// run starts Run and stops it and closes the server at cleanup.
func (h *harness) run() {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.srv.Run(ctx) }()
	h.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			h.t.Errorf("run: %v", err)
		}
		if err := h.srv.Close(); err != nil {
			h.t.Errorf("close: %v", err)
		}
	})
}

// next waits for the next result of any component.
func (h *harness) next() idResult {
	h.t.Helper()
	select {
	case res := <-h.results:
		return res
	case <-time.After(30 * time.Second):
		h.t.Fatal("no check result within 30 s")
	}
	return idResult{}
}

// nextOf waits for the next result of component id, and fails on a
// result of another component.
func (h *harness) nextOf(id string) Result {
	h.t.Helper()
	res := h.next()
	if res.id != id {
		h.t.Fatalf("got result of %q, want %q", res.id, id)
	}
	return res.r
}

// advance waits until waiters goroutines wait on the clock, then moves
// it forward by d.
func (h *harness) advance(waiters int, d time.Duration) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.clock.BlockUntilContext(ctx, waiters); err != nil {
		h.t.Fatalf("wait for %d clock waiters: %v", waiters, err)
	}
	h.clock.Advance(d)
}

func (h *harness) changeList() []Change {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Change(nil), h.changes...)
}

// get serves one request through the handler and returns the response
// and body.
func (h *harness) get(path string, header http.Header) (*http.Response, string) {
	h.t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.srv.Handler().ServeHTTP(rec, req)
	resp := rec.Result()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatalf("read body of %s: %v", path, err)
	}
	return resp, string(body)
}

// component returns the report of component id.
func (h *harness) component(id string) ComponentReport {
	h.t.Helper()
	for _, c := range h.srv.Report().Components {
		if c.ID == id {
			return c
		}
	}
	h.t.Fatalf("component %q not in report", id)
	return ComponentReport{}
}

// sequenceServer responds to each request with the next status of codes,
// repeating the last one.
func sequenceServer(t *testing.T, codes ...int) *httptest.Server {
	t.Helper()
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(
		func(w http.ResponseWriter, _ *http.Request) {
			mu.Lock()
			code := codes[min(n, len(codes)-1)]
			n++
			mu.Unlock()
			w.WriteHeader(code)
		}))
	t.Cleanup(srv.Close)
	return srv
}

// statusServer responds to every request with code and body.
func statusServer(t *testing.T, code int, body string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(
		func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(code)
			_, _ = io.WriteString(w, body)
		}))
	t.Cleanup(srv.Close)
	return srv
}

func newHTTPServer(t *testing.T, handler http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	return srv
}

// newFakeClock returns a fake clock at start.
func newFakeClock() *schedule.FakeClock {
	return schedule.NewFakeClock(start)
}
