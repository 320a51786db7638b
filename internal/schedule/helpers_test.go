package schedule

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// hangGuard turns a hang into a test failure. It bounds waits for
// goroutines, not the duration of anything under test.
const hangGuard = 30 * time.Second

// harness runs a Scheduler on a FakeClock and captures its JSON logs.
type harness struct {
	t     *testing.T
	clock *FakeClock
	sched *Scheduler
	logs  *logBuffer

	cancel context.CancelFunc
	done   chan error
}

func newHarness(t *testing.T, start time.Time, opts Options) *harness {
	t.Helper()
	h := &harness{t: t, clock: NewFakeClock(start), logs: &logBuffer{}}
	handler := slog.NewJSONHandler(h.logs,
		&slog.HandlerOptions{Level: slog.LevelDebug})
	sched, err := New(h.clock, slog.New(handler), opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h.sched = sched
	return h
}

func (h *harness) add(j Job) {
	h.t.Helper()
	if err := h.sched.Add(j); err != nil {
		h.t.Fatalf("Add(%q): %v", j.Name, err)
	}
}

// start runs the scheduler in a goroutine until the test ends.
func (h *harness) start() {
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	h.done = make(chan error, 1)
	go func() { h.done <- h.sched.Run(ctx) }()
	h.t.Cleanup(func() {
		cancel()
		select {
		case <-h.done:
		case <-time.After(hangGuard):
			h.t.Error("Run did not return after the test")
		}
	})
}

// stop cancels the context of Run without waiting for it to return.
func (h *harness) stop() { h.cancel() }

// runResult waits for Run to return and returns its error.
func (h *harness) runResult() error {
	h.t.Helper()
	select {
	case err := <-h.done:
		h.done <- err // let the cleanup receive it too
		return err
	case <-time.After(hangGuard):
		h.t.Fatal("Run did not return")
		return nil
	}
}

// waitWaiters waits until n After channels of the clock are pending.
func (h *harness) waitWaiters(n int) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	if err := h.clock.BlockUntilContext(ctx, n); err != nil {
		h.t.Fatalf("wait for %d clock waiters: %v", n, err)
	}
}

// waitIdle waits until the scheduler waits for the next due time.
func (h *harness) waitIdle() { h.t.Helper(); h.waitWaiters(1) }

// receive waits for a value on ch.
func receive[T any](t *testing.T, ch <-chan T, event string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(hangGuard):
		t.Fatalf("timed out waiting for %s", event)
		var zero T
		return zero
	}
}

// runRecord is one call of a job's Run.
type runRecord struct {
	job string
	due time.Time
}

func (r runRecord) String() string {
	return r.job + "@" + r.due.Format(time.RFC3339)
}

// recorder wraps job functions to record their calls and the maximum
// number of jobs that ran at once.
type recorder struct {
	mu        sync.Mutex
	runs      []runRecord
	active    int
	maxActive int
}

type runFunc = func(ctx context.Context, due time.Time) error

func (r *recorder) job(name, spec string, fn runFunc) Job {
	run := func(ctx context.Context, due time.Time) error {
		r.enter(name, due)
		defer r.leave()
		if fn == nil {
			return nil
		}
		return fn(ctx, due)
	}
	return Job{Name: name, Spec: spec, Run: run}
}

func (r *recorder) enter(name string, due time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.runs = append(r.runs, runRecord{job: name, due: due})
	r.active++
	r.maxActive = max(r.maxActive, r.active)
}

func (r *recorder) leave() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.active--
}

func (r *recorder) calls() []runRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]runRecord(nil), r.runs...)
}

func (r *recorder) max() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.maxActive
}

func checkRuns(t *testing.T, got, want []runRecord) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d runs %v, want %d %v", len(got), got,
			len(want), want)
	}
	for i := range want {
		if got[i].job != want[i].job || !got[i].due.Equal(want[i].due) {
			t.Errorf("run %d = %v, want %v", i, got[i], want[i])
		}
	}
}

// logBuffer collects JSON log lines, safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// find returns the log records with message msg.
func (b *logBuffer) find(t *testing.T, msg string) []map[string]any {
	t.Helper()
	b.mu.Lock()
	text := b.buf.String()
	b.mu.Unlock()
	var found []map[string]any
	for line := range strings.Lines(text) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("parse log line %q: %v", line, err)
		}
		if rec["msg"] == msg {
			found = append(found, rec)
		}
	}
	return found
}

// findOne returns the only log record with message msg.
func (b *logBuffer) findOne(t *testing.T, msg string) map[string]any {
	t.Helper()
	found := b.find(t, msg)
	if len(found) != 1 {
		t.Fatalf("got %d log records %q, want 1", len(found), msg)
	}
	return found[0]
}

// checkFields compares fields of a log record with want, where times
// are compared in their JSON form and numbers as float64.
func checkFields(t *testing.T, rec map[string]any, want map[string]any) {
	t.Helper()
	for key, w := range want {
		switch v := w.(type) {
		case time.Time:
			w = v.Format(time.RFC3339Nano)
		case int:
			w = float64(v)
		}
		if got, ok := rec[key]; !ok || got != w {
			t.Errorf("log %q: %s = %v, want %v", rec["msg"], key, got, w)
		}
	}
}

func utc(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		panic(err)
	}
	return t
}
