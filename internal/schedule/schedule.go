// Package schedule runs jobs, such as backups and drills, on cron
// expressions for lifeline serve. The scheduling loop takes an injected
// Clock, so tests drive it with a FakeClock.
//
// A Scheduler follows these rules:
//   - Times are UTC, both in cron expressions and in due times.
//   - Jobs never overlap, because they share one repository. A job that
//     becomes due while another runs waits until that one returns. It
//     then runs once, even if it became due several times meanwhile
//     (its runs are coalesced into the latest due time). Waiting jobs
//     run in the order of their earliest missed due time, and jobs with
//     the same due time run in the order they were added.
//   - A run missed while the daemon was down runs once when Run starts.
//     See Options.LastRun.
//   - Starts and finishes of jobs are logged at info level with the
//     fields job, due and duration_ms. A job that returns an error or
//     panics is logged at error level with the field error too, and
//     the schedule goes on.
//   - When the context of Run is done, Run waits for a running job, and
//     cancels the job's context after Options.StopTimeout.
//
// It does not know what the jobs do, and it does not persist anything:
// the last successful run of each job comes from Options.LastRun.
package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
)

// DefaultStopTimeout is the Options.StopTimeout used when it is zero.
const DefaultStopTimeout = 5 * time.Minute

// maxWait bounds one wait of the loop. A timer runs on the monotonic
// clock but due times are wall-clock times, so a step of the wall clock
// or a suspended host delays a due job by at most this much.
const maxWait = time.Minute

// Job is one scheduled task.
type Job struct {
	// Name identifies the job in logs and in Options.LastRun, such as
	// "backup-incremental".
	Name string
	// Spec is a standard 5-field cron expression in UTC, such as
	// "0 2 * * *", or a descriptor such as "@daily". Time zone
	// prefixes and "@every" are rejected.
	Spec string
	// Run does the work for the due time due. Its ctx is cancelled
	// only when the scheduler stops and the job has not returned
	// within Options.StopTimeout.
	Run func(ctx context.Context, due time.Time) error
}

// Options are the settings of a Scheduler.
type Options struct {
	// LastRun returns when a job last ran successfully (from the
	// repository, e.g. the newest backup of that tier), zero if never;
	// used for missed-run catch-up at start. When Run starts, a job
	// whose last run is before its latest due time at or before now
	// runs once at once, for that due time. A job that never ran
	// therefore runs at start. If LastRun returns an error, the error
	// is logged and the job runs at start too, because an extra run is
	// cheaper than a missed backup. Nil disables catch-up.
	LastRun func(ctx context.Context, job string) (time.Time, error)
	// StopTimeout is how long Run waits for a running job, once its
	// context is done, before cancelling the job's context. Zero means
	// DefaultStopTimeout (5 minutes).
	StopTimeout time.Duration
}

// Scheduler runs jobs one at a time on their cron schedules. Add jobs,
// then call Run once. Next is safe to call at any time.
type Scheduler struct {
	clock Clock
	log   *slog.Logger
	opts  Options

	mu      sync.Mutex
	entries []*entry
	running bool
}

type entry struct {
	job   Job
	sched *cron.SpecSchedule
	// next is the earliest due time not yet run, guarded by
	// Scheduler.mu and set by Run.
	next time.Time
}

// New returns a Scheduler that reads time from clock and logs to log.
// A nil log discards the messages.
func New(clock Clock, log *slog.Logger, opts Options) (*Scheduler, error) {
	if clock == nil {
		return nil, errors.New("new scheduler: clock is nil, pass RealClock()")
	}
	if opts.StopTimeout < 0 {
		return nil, fmt.Errorf("new scheduler: invalid stop timeout %v, "+
			"want 0 for the default or a positive duration",
			opts.StopTimeout)
	}
	if opts.StopTimeout == 0 {
		opts.StopTimeout = DefaultStopTimeout
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Scheduler{clock: clock, log: log, opts: opts}, nil
}

// Add adds a job. It returns an error if the name is empty or already
// added, Run is nil, Spec is invalid, or Run has started.
func (s *Scheduler) Add(j Job) error {
	if j.Name == "" {
		return errors.New("add job: name is empty")
	}
	if j.Run == nil {
		return fmt.Errorf("add job %q: Run is nil", j.Name)
	}
	sched, err := parseSpec(j.Spec, s.now())
	if err != nil {
		return fmt.Errorf("add job %q: invalid cron expression %q: %w",
			j.Name, j.Spec, err)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running {
		return fmt.Errorf("add job %q: scheduler is already running, "+
			"add jobs before calling Run", j.Name)
	}
	if s.find(j.Name) != nil {
		return fmt.Errorf("add job %q: duplicate job name", j.Name)
	}
	s.entries = append(s.entries, &entry{job: j, sched: sched})
	return nil
}

// Next returns the next due time of the named job, or the zero time if
// no job has that name. Before Run starts, it is the first due time
// after the clock's current time. While Run runs, a time at or before
// the current time means that the job is due and waits for another job
// to return.
func (s *Scheduler) Next(job string) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.find(job)
	switch {
	case e == nil:
		return time.Time{}
	case !s.running:
		return e.sched.Next(s.now())
	default:
		return e.next
	}
}

// find returns the entry of the named job, or nil. The caller holds
// s.mu.
func (s *Scheduler) find(name string) *entry {
	for _, e := range s.entries {
		if e.job.Name == name {
			return e
		}
	}
	return nil
}

// Run runs the jobs until ctx is done, and then returns nil once no job
// runs any more. It returns an error without running anything if no job
// was added or Run was called before.
//
// If ctx is done while a job runs, Run waits for the job up to
// Options.StopTimeout and logs "job finished before stop" if it
// returned. Otherwise it cancels the job's context, waits for the job to
// return and logs "job cancelled at stop".
func (s *Scheduler) Run(ctx context.Context) error {
	if err := s.start(); err != nil {
		return err
	}
	s.log.Info("scheduler started", "jobs", len(s.entries))
	s.planFirstRuns(ctx)

	for ctx.Err() == nil {
		r, ok := s.claim(s.now())
		if !ok {
			s.wait(ctx)
			continue
		}
		if stopped := s.runJob(ctx, r); stopped {
			break
		}
	}
	s.log.Info("scheduler stopped")
	return nil
}

func (s *Scheduler) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running {
		return errors.New("run scheduler: already running")
	}
	if len(s.entries) == 0 {
		return errors.New("run scheduler: no jobs added, call Add first")
	}
	s.running = true
	return nil
}

// run is one claimed run of a job.
type run struct {
	job Job
	// first is the earliest due time the run covers, and due the
	// latest; they differ when runs were coalesced.
	first, due time.Time
}

// claim takes the due job with the earliest next due time, if any, and
// advances its next due time past now.
func (s *Scheduler) claim(now time.Time) (run, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var e *entry
	for _, c := range s.entries {
		if c.next.IsZero() || c.next.After(now) {
			continue
		}
		if e == nil || c.next.Before(e.next) {
			e = c
		}
	}
	if e == nil {
		return run{}, false
	}

	r := run{job: e.job, first: e.next, due: lastDue(e.sched, now)}
	if r.due.Before(r.first) {
		r.due = r.first
	}
	e.next = e.sched.Next(r.due)
	return r, true
}

// wait returns when the earliest next due time has come, at most
// maxWait later, or when ctx is done.
func (s *Scheduler) wait(ctx context.Context) {
	now := s.now()
	d := maxWait
	s.mu.Lock()
	for _, e := range s.entries {
		// A zero next means robfig/cron found no due time within five
		// years of the last one, so the job does not run again.
		if !e.next.IsZero() {
			d = min(d, e.next.Sub(now))
		}
	}
	s.mu.Unlock()

	select {
	case <-ctx.Done():
	case <-s.clock.After(d):
	}
}

func (s *Scheduler) now() time.Time { return s.clock.Now().UTC() }
