package schedule

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// blocker is a job function that signals when it starts and returns
// only when released, the first time it is called.
type blocker struct {
	started chan struct{}
	release chan struct{}
}

func newBlocker() *blocker {
	return &blocker{
		started: make(chan struct{}, 1),
		release: make(chan struct{}),
	}
}

func (b *blocker) run(ctx context.Context, due time.Time) error {
	select {
	case b.started <- struct{}{}:
		<-b.release
	default:
	}
	return nil
}

func TestRun_NoOverlap(t *testing.T) {
	h := newHarness(t, utc("2024-01-31 00:40"), Options{})
	rec := &recorder{}
	a := newBlocker()
	h.add(rec.job("a", "0 * * * *", a.run))
	h.add(rec.job("b", "15 * * * *", nil))
	h.add(rec.job("c", "30 * * * *", nil))
	h.start()

	h.waitIdle()
	h.clock.Set(utc("2024-01-31 01:00"))
	receive(t, a.started, "job a to start")
	h.clock.Set(utc("2024-01-31 01:50"))
	if got, want := h.sched.Next("b"), utc("2024-01-31 01:15"); !got.Equal(want) {
		t.Errorf("Next(b) while a runs = %v, want %v", got, want)
	}
	close(a.release)
	h.waitIdle()

	checkRuns(t, rec.calls(), []runRecord{
		{"a", utc("2024-01-31 01:00")},
		{"b", utc("2024-01-31 01:15")},
		{"c", utc("2024-01-31 01:30")},
	})
	if got := rec.max(); got != 1 {
		t.Errorf("max jobs running at once = %d, want 1", got)
	}
	for job, want := range map[string]string{
		"a": "2024-01-31 02:00",
		"b": "2024-01-31 02:15",
		"c": "2024-01-31 02:30",
	} {
		if got := h.sched.Next(job); !got.Equal(utc(want)) {
			t.Errorf("Next(%q) = %v, want %s", job, got, want)
		}
	}
}

func TestRun_CoalescesDueRuns(t *testing.T) {
	h := newHarness(t, utc("2024-01-31 00:50"), Options{})
	rec := &recorder{}
	a := newBlocker()
	h.add(rec.job("a", "0 * * * *", a.run))
	h.add(rec.job("b", "*/20 * * * *", nil))
	h.start()

	h.waitIdle()
	h.clock.Set(utc("2024-01-31 01:00"))
	receive(t, a.started, "job a to start")
	h.clock.Set(utc("2024-01-31 01:50"))
	close(a.release)
	h.waitIdle()
	if got, want := h.sched.Next("b"), utc("2024-01-31 02:00"); !got.Equal(want) {
		t.Errorf("Next(b) = %v, want %v", got, want)
	}
	h.clock.Set(utc("2024-01-31 02:00"))
	h.waitIdle()

	checkRuns(t, rec.calls(), []runRecord{
		{"a", utc("2024-01-31 01:00")},
		{"b", utc("2024-01-31 01:40")},
		{"a", utc("2024-01-31 02:00")},
		{"b", utc("2024-01-31 02:00")},
	})
	coalesced := h.logs.findOne(t, "coalesced due runs of job into one")
	checkFields(t, coalesced, map[string]any{
		"job":       "b",
		"first_due": utc("2024-01-31 01:00"),
		"due":       utc("2024-01-31 01:40"),
	})
}

func TestRun_CatchUp(t *testing.T) {
	now := utc("2024-03-05 10:30")
	lastDue := utc("2024-03-05 02:00")
	tests := []struct {
		name    string
		lastRun time.Time
		err     error
		want    []runRecord
	}{
		{"far in the past", utc("2023-06-01 02:00"), nil,
			[]runRecord{{"full", lastDue}}},
		{"never", time.Time{}, nil, []runRecord{{"full", lastDue}}},
		{"at the last due time", lastDue, nil, nil},
		{"after the last due time", lastDue.Add(5 * time.Minute), nil,
			nil},
		{"read error", time.Time{}, errors.New("repository offline"),
			[]runRecord{{"full", lastDue}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var requested []string
			lastRun := func(ctx context.Context, job string) (time.Time, error) {
				requested = append(requested, job)
				return tt.lastRun, tt.err
			}
			h := newHarness(t, now, Options{LastRun: lastRun})
			rec := &recorder{}
			h.add(rec.job("full", specFull, nil))
			h.start()
			h.waitIdle()

			checkRuns(t, rec.calls(), tt.want)
			if len(requested) != 1 || requested[0] != "full" {
				t.Errorf("LastRun called for %v, want [full]", requested)
			}
			next, want := h.sched.Next("full"), utc("2024-03-06 02:00")
			if !next.Equal(want) {
				t.Errorf("Next(full) = %v, want %v", next, want)
			}
			if tt.err != nil {
				rec := h.logs.findOne(t,
					"read last run failed, running missed job")
				checkFields(t, rec, map[string]any{
					"job": "full", "due": lastDue,
					"error": "repository offline", "level": "WARN",
				})
			}
		})
	}
}

func TestRun_CatchUpInDueOrder(t *testing.T) {
	never := func(context.Context, string) (time.Time, error) {
		return time.Time{}, nil
	}
	// 2024-03-10 is a Sunday.
	h := newHarness(t, utc("2024-03-10 03:30"), Options{LastRun: never})
	rec := &recorder{}
	addDefaultJobs(h, rec)
	h.start()
	h.waitIdle()

	checkRuns(t, rec.calls(), []runRecord{
		{"drill", utc("2024-01-01 04:00")},
		{"full", utc("2024-03-10 02:00")},
		{"incremental", utc("2024-03-10 03:00")},
		{"complete", utc("2024-03-10 03:00")},
	})
	h.clock.Set(utc("2024-03-10 04:00"))
	h.waitIdle()
	if got := len(rec.calls()); got != 5 {
		t.Errorf("runs after the next hour = %d, want 5", got)
	}
}

func TestRun_JobErrorIsLogged(t *testing.T) {
	h := newHarness(t, utc("2024-01-31 00:30"), Options{})
	rec := &recorder{}
	calls := 0
	job := func(ctx context.Context, due time.Time) error {
		h.clock.Advance(90 * time.Second)
		calls++
		if calls == 1 {
			return errors.New("disk full")
		}
		return nil
	}
	h.add(rec.job("full", specIncremental, job))
	h.start()

	h.waitIdle()
	h.clock.Set(utc("2024-01-31 01:00"))
	h.waitIdle()
	h.clock.Set(utc("2024-01-31 02:00"))
	h.waitIdle()

	checkRuns(t, rec.calls(), []runRecord{
		{"full", utc("2024-01-31 01:00")},
		{"full", utc("2024-01-31 02:00")},
	})
	failed := h.logs.findOne(t, "job failed")
	checkFields(t, failed, map[string]any{
		"level": "ERROR", "job": "full", "due": utc("2024-01-31 01:00"),
		"error": "disk full", "duration_ms": 90000,
	})
	finished := h.logs.findOne(t, "job finished")
	checkFields(t, finished, map[string]any{
		"level": "INFO", "job": "full", "due": utc("2024-01-31 02:00"),
		"duration_ms": 90000,
	})
	if got := len(h.logs.find(t, "job started")); got != 2 {
		t.Errorf("got %d job started records, want 2", got)
	}
}

func TestRun_JobPanicIsLogged(t *testing.T) {
	h := newHarness(t, utc("2024-01-31 00:30"), Options{})
	rec := &recorder{}
	calls := 0
	job := func(ctx context.Context, due time.Time) error {
		calls++
		if calls == 1 {
			panic("boom")
		}
		return nil
	}
	h.add(rec.job("drill", specIncremental, job))
	h.start()

	h.waitIdle()
	h.clock.Set(utc("2024-01-31 01:00"))
	h.waitIdle()
	h.clock.Set(utc("2024-01-31 02:00"))
	h.waitIdle()

	checkRuns(t, rec.calls(), []runRecord{
		{"drill", utc("2024-01-31 01:00")},
		{"drill", utc("2024-01-31 02:00")},
	})
	panicked := h.logs.findOne(t, "job panicked")
	checkFields(t, panicked, map[string]any{
		"level": "ERROR", "job": "drill", "due": utc("2024-01-31 01:00"),
		"error": "panic: boom", "duration_ms": 0,
	})
	stack, _ := panicked["stack"].(string)
	if !strings.Contains(stack, "TestRun_JobPanicIsLogged") {
		t.Errorf("stack does not name the panicking test:\n%s", stack)
	}
	h.logs.findOne(t, "job finished")
}

func TestRun_StopWaitsForJob(t *testing.T) {
	h := newHarness(t, utc("2024-01-31 00:30"),
		Options{StopTimeout: 2 * time.Minute})
	a := newBlocker()
	jobErr := make(chan error, 1)
	h.add(Job{Name: "full", Spec: specIncremental,
		Run: func(ctx context.Context, due time.Time) error {
			err := a.run(ctx, due)
			jobErr <- ctx.Err()
			return err
		}})
	h.start()

	h.waitIdle()
	h.clock.Set(utc("2024-01-31 01:00"))
	receive(t, a.started, "job to start")
	h.stop()
	h.waitWaiters(1) // the stop timeout
	h.clock.Advance(time.Minute)
	close(a.release)

	if err := h.runResult(); err != nil {
		t.Errorf("Run returned %v, want nil", err)
	}
	if err := receive(t, jobErr, "job to return"); err != nil {
		t.Errorf("job context error = %v, want nil", err)
	}
	rec := h.logs.findOne(t, "job finished before stop")
	checkFields(t, rec, map[string]any{
		"level": "INFO", "job": "full", "due": utc("2024-01-31 01:00"),
		"duration_ms": 60000,
	})
	if n := len(h.logs.find(t, "job cancelled at stop")); n != 0 {
		t.Errorf("got %d job cancelled at stop records, want 0", n)
	}
	h.logs.findOne(t, "scheduler stopped")
}

func TestRun_StopCancelsJob(t *testing.T) {
	h := newHarness(t, utc("2024-01-31 00:30"),
		Options{StopTimeout: 2 * time.Minute})
	started := make(chan struct{})
	h.add(Job{Name: "complete", Spec: specIncremental,
		Run: func(ctx context.Context, due time.Time) error {
			close(started)
			<-ctx.Done()
			return ctx.Err()
		}})
	h.start()

	h.waitIdle()
	h.clock.Set(utc("2024-01-31 01:00"))
	receive(t, started, "job to start")
	h.stop()
	h.waitWaiters(1) // the stop timeout
	h.clock.Advance(2*time.Minute - time.Second)
	select {
	case err := <-h.done:
		t.Fatalf("Run returned %v before the stop timeout", err)
	default:
	}
	h.clock.Advance(time.Second)

	if err := h.runResult(); err != nil {
		t.Errorf("Run returned %v, want nil", err)
	}
	rec := h.logs.findOne(t, "job cancelled at stop")
	checkFields(t, rec, map[string]any{
		"level": "WARN", "job": "complete",
		"due": utc("2024-01-31 01:00"), "duration_ms": 120000,
		"error": context.Canceled.Error(),
	})
	if n := len(h.logs.find(t, "job finished before stop")); n != 0 {
		t.Errorf("got %d job finished before stop records, want 0", n)
	}
}

func TestRun_StopWhileIdle(t *testing.T) {
	h := newHarness(t, utc("2024-01-31 00:30"), Options{})
	rec := &recorder{}
	h.add(rec.job("full", specFull, nil))
	h.start()
	h.waitIdle()
	h.stop()

	if err := h.runResult(); err != nil {
		t.Errorf("Run returned %v, want nil", err)
	}
	if got := rec.calls(); len(got) != 0 {
		t.Errorf("runs = %v, want none", got)
	}
	h.logs.findOne(t, "scheduler stopped")
}
