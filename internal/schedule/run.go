package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"
)

// planFirstRuns sets the first due time of every job: its latest due
// time at or before now if it missed that run, else its next one.
func (s *Scheduler) planFirstRuns(ctx context.Context) {
	now := s.now()
	for _, e := range s.entries {
		next := e.sched.Next(now)
		if due, ok := s.missedRun(ctx, e, now); ok {
			next = due
		}
		s.mu.Lock()
		e.next = next
		s.mu.Unlock()
	}
}

// missedRun returns the latest due time of e at or before now, and
// whether Options.LastRun reports no successful run since then.
func (s *Scheduler) missedRun(ctx context.Context, e *entry,
	now time.Time) (time.Time, bool) {
	if s.opts.LastRun == nil {
		return time.Time{}, false
	}
	due := lastDue(e.sched, now)
	if due.IsZero() {
		return time.Time{}, false
	}
	last, err := s.opts.LastRun(ctx, e.job.Name)
	if err != nil {
		s.log.Warn("read last run failed, running missed job",
			"job", e.job.Name, "due", due, "error", err)
		return due, true
	}
	if !last.Before(due) {
		return time.Time{}, false
	}
	s.log.Info("job missed a run, running it now",
		"job", e.job.Name, "due", due, "last_run", last)
	return due, true
}

// runJob runs r and logs its outcome. If ctx is done before the job
// returns, it stops the job and reports stopped.
func (s *Scheduler) runJob(ctx context.Context, r run) (stopped bool) {
	if r.due.After(r.first) {
		s.log.Info("coalesced due runs of job into one",
			"job", r.job.Name, "first_due", r.first, "due", r.due)
	}
	s.log.Info("job started", "job", r.job.Name, "due", r.due)
	start := s.now()

	// The job keeps the values of ctx but not its cancellation, which
	// stopJob passes on only after Options.StopTimeout.
	jobCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- call(jobCtx, r.job, r.due) }()

	select {
	case err := <-done:
		s.logResult(r, start, err)
		return false
	case <-ctx.Done():
		s.stopJob(r, start, done, cancel)
		return true
	}
}

// stopJob waits for the running job up to Options.StopTimeout, then
// cancels its context and waits for it to return.
func (s *Scheduler) stopJob(r run, start time.Time, done <-chan error,
	cancel context.CancelFunc) {
	select {
	case err := <-done:
		level := slog.LevelInfo
		if err != nil {
			level = slog.LevelError
		}
		s.logStop(level, "job finished before stop", r, start, err)
		return
	case <-s.clock.After(s.opts.StopTimeout):
	}
	cancel()
	err := <-done
	s.logStop(slog.LevelWarn, "job cancelled at stop", r, start, err)
}

// panicError is a panic recovered from a job.
type panicError struct {
	value any
	stack []byte
}

func (e *panicError) Error() string {
	return fmt.Sprintf("panic: %v", e.value)
}

// call runs the job and returns a panic as a *panicError.
func call(ctx context.Context, j Job, due time.Time) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &panicError{value: v, stack: debug.Stack()}
		}
	}()
	return j.Run(ctx, due)
}

func (s *Scheduler) logResult(r run, start time.Time, err error) {
	attrs := s.runAttrs(r, start)
	var pe *panicError
	switch {
	case errors.As(err, &pe):
		attrs = append(attrs, "error", err, "stack", string(pe.stack))
		s.log.Error("job panicked", attrs...)
	case err != nil:
		s.log.Error("job failed", append(attrs, "error", err)...)
	default:
		s.log.Info("job finished", attrs...)
	}
}

func (s *Scheduler) logStop(level slog.Level, msg string, r run,
	start time.Time, err error) {
	attrs := s.runAttrs(r, start)
	if err != nil {
		attrs = append(attrs, "error", err)
	}
	s.log.Log(context.Background(), level, msg, attrs...)
}

func (s *Scheduler) runAttrs(r run, start time.Time) []any {
	ms := s.now().Sub(start).Milliseconds()
	return []any{"job", r.job.Name, "due", r.due, "duration_ms", ms}
}
