package schedule

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestAdd_RejectsInvalidJobs(t *testing.T) {
	noop := func(context.Context, time.Time) error { return nil }
	tests := []struct {
		name string
		job  Job
		want []string
	}{
		{"minute out of range", Job{"full", "61 * * * *", noop},
			[]string{`"full"`, `"61 * * * *"`}},
		{"six fields", Job{"full", "0 0 2 * * *", noop},
			[]string{`"full"`, `"0 0 2 * * *"`}},
		{"empty spec", Job{"full", "", noop},
			[]string{`"full"`, `""`}},
		{"time zone", Job{"full", "TZ=UTC", noop},
			[]string{`"TZ=UTC"`, "time zone"}},
		{"every", Job{"full", "@every 1h", noop},
			[]string{`"@every 1h"`, "@every"}},
		{"never due", Job{"full", "0 0 30 2 *", noop},
			[]string{`"0 0 30 2 *"`, "never due"}},
		{"empty name", Job{"", "0 * * * *", noop},
			[]string{"name is empty"}},
		{"nil run", Job{"full", "0 * * * *", nil},
			[]string{`"full"`, "Run is nil"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, utc("2024-01-31 00:30"), Options{})
			err := h.sched.Add(tt.job)
			if err == nil {
				t.Fatalf("Add(%+v) = nil, want an error", tt.job)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %s", err, w)
				}
			}
		})
	}
}

func TestAdd_AcceptsDescriptor(t *testing.T) {
	h := newHarness(t, utc("2024-01-31 00:30"), Options{})
	h.add(Job{"full", "@daily", func(context.Context, time.Time) error {
		return nil
	}})
	if got, want := h.sched.Next("full"), utc("2024-02-01 00:00"); !got.Equal(want) {
		t.Errorf("Next(full) = %v, want %v", got, want)
	}
}

func TestAdd_RejectsDuplicateName(t *testing.T) {
	h := newHarness(t, utc("2024-01-31 00:30"), Options{})
	rec := &recorder{}
	h.add(rec.job("full", specFull, nil))
	err := h.sched.Add(rec.job("full", specIncremental, nil))
	if err == nil || !strings.Contains(err.Error(), `"full"`) {
		t.Errorf("Add(duplicate) = %v, want an error naming the job", err)
	}
}

func TestAdd_AfterRunStarts(t *testing.T) {
	h := newHarness(t, utc("2024-01-31 00:30"), Options{})
	rec := &recorder{}
	h.add(rec.job("full", specFull, nil))
	h.start()
	h.waitIdle()
	err := h.sched.Add(rec.job("drill", specDrill, nil))
	if err == nil || !strings.Contains(err.Error(), "already running") {
		t.Errorf("Add after Run = %v, want an already running error", err)
	}
}

func TestRun_Twice(t *testing.T) {
	h := newHarness(t, utc("2024-01-31 00:30"), Options{})
	h.add((&recorder{}).job("full", specFull, nil))
	h.start()
	h.waitIdle()
	err := h.sched.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "already running") {
		t.Errorf("second Run = %v, want an already running error", err)
	}
}

func TestRun_NoJobs(t *testing.T) {
	h := newHarness(t, utc("2024-01-31 00:30"), Options{})
	err := h.sched.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "no jobs") {
		t.Errorf("Run without jobs = %v, want a no jobs error", err)
	}
}

func TestNew_InvalidOptions(t *testing.T) {
	if _, err := New(nil, nil, Options{}); err == nil {
		t.Error("New(nil clock) = nil error, want an error")
	}
	clock := NewFakeClock(utc("2024-01-31 00:30"))
	_, err := New(clock, nil, Options{StopTimeout: -time.Second})
	if err == nil || !strings.Contains(err.Error(), "-1s") {
		t.Errorf("New(negative stop timeout) = %v, want an error "+
			"naming -1s", err)
	}
}

func TestNew_DefaultStopTimeout(t *testing.T) {
	h := newHarness(t, utc("2024-01-31 00:30"), Options{})
	started := make(chan struct{})
	h.add(Job{"full", specIncremental,
		func(ctx context.Context, due time.Time) error {
			close(started)
			<-ctx.Done()
			return ctx.Err()
		}})
	h.start()
	h.waitIdle()
	h.clock.Set(utc("2024-01-31 01:00"))
	receive(t, started, "job to start")
	h.stop()
	h.waitWaiters(1)
	h.clock.Advance(DefaultStopTimeout)
	if err := h.runResult(); err != nil {
		t.Errorf("Run returned %v, want nil", err)
	}
	rec := h.logs.findOne(t, "job cancelled at stop")
	checkFields(t, rec, map[string]any{"duration_ms": 300000})
}
