package notify

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Defaults of DispatchConfig.
const (
	DefaultFailureLogInterval = time.Hour
	DefaultDispatchTimeout    = 2 * time.Minute
)

// maxMessage is the number of bytes of an error message kept in an Event.
const maxMessage = 500

// DispatchConfig controls what a Dispatcher sends and logs.
type DispatchConfig struct {
	// NotifySuccess sends a Succeeded event for every success that
	// does not follow a failure.
	NotifySuccess bool
	// FailureLogInterval is the minimum time between two log records
	// about the same failing notifier. The default is
	// DefaultFailureLogInterval.
	FailureLogInterval time.Duration
	// Timeout bounds the time that one Report spends sending,
	// retries included. The default is DefaultDispatchTimeout.
	Timeout time.Duration
	// Now is the clock for event times and log rate limits.
	Now func() time.Time
	// StatePath is an optional JSON file that keeps the last status of
	// each job, so that a restart does not alert again. When empty,
	// the state lives in memory only. Report reads the file before and
	// writes it after sending, so processes that share it see each
	// other's changes.
	// NOTE: there is no lock across processes, so two Reports that run
	// at the same moment in different processes can lose one update.
	StatePath string
}

// Dispatcher turns the outcome of each run of a job into events and
// sends them to its notifiers. It sends Failed when a job fails after a
// success or after no known run, Recovered on the first success after a
// failure, and Succeeded for other successes only if NotifySuccess is
// set. Further consecutive failures send nothing, so a failing job
// raises one alert, not one per run.
//
// A notifier that did not accept a Failed or Recovered event receives it
// again on the next Report for that job while the job keeps the same
// status. A notifier that never accepted the Failed event of a failure
// does not receive its Recovered event.
//
// Report sends synchronously, to all notifiers at once, and returns when
// every notifier has finished or DispatchConfig.Timeout has passed, so a
// command can exit right after it. Calls to Report run one at a time.
type Dispatcher struct {
	notifiers []Notifier
	cfg       DispatchConfig
	log       *slog.Logger

	mu     sync.Mutex
	states map[jobKey]*jobState
	marks  map[string]logMark
}

// logMark is when a log record about one subject was last written and
// how many were dropped since.
type logMark struct {
	last       time.Time
	suppressed int
}

// NewDispatcher returns a Dispatcher that sends to notifiers. It loads
// the state file if cfg names one, and logs to log when that fails. A
// nil log discards the records.
func NewDispatcher(notifiers []Notifier, cfg DispatchConfig,
	log *slog.Logger) *Dispatcher {
	if cfg.FailureLogInterval <= 0 {
		cfg.FailureLogInterval = DefaultFailureLogInterval
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultDispatchTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Dispatcher{
		notifiers: slices.Clone(notifiers),
		cfg:       cfg,
		log:       log,
		states:    map[jobKey]*jobState{},
		marks:     map[string]logMark{},
	}
	d.load()
	return d
}

// Report records the outcome of one run of a job, err being nil for a
// success, and sends the events that the change calls for. The message
// of a Failed event is the first line of err, which must not contain
// secrets. Report never fails: a notifier error is logged with the keys
// notifier and error, at most once per FailureLogInterval per notifier.
// Report sends nothing once ctx has ended.
func (d *Dispatcher) Report(ctx context.Context, job, source, tier string,
	err error, details map[string]string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.load()

	now := d.cfg.Now()
	st := d.state(jobKey{job, source, tier}, now)
	e := Event{
		Job: job, Source: source, Tier: tier,
		Message: message(err), Time: now,
		Details: maps.Clone(details),
	}
	change := advance(st, err != nil, now, &e)
	statuses := d.plan(st, change)
	st.Pending = d.send(ctx, e, statuses)
	d.save()
}

// state returns the state of the job k, adding an ok state if k is new.
func (d *Dispatcher) state(k jobKey, now time.Time) *jobState {
	st, ok := d.states[k]
	if !ok {
		st = &jobState{Job: k.job, Source: k.source, Tier: k.tier, Since: now}
		d.states[k] = st
	}
	return st
}

// advance records the outcome in st. It returns Failed or Recovered when
// the job changed status, and "" otherwise. On recovery it adds the time
// of the failure to the details of e.
func advance(st *jobState, failed bool, now time.Time, e *Event) Status {
	if failed == st.Failed {
		return ""
	}
	since := st.Since
	st.Failed, st.Since = failed, now
	if failed {
		return Failed
	}
	if e.Details == nil {
		e.Details = map[string]string{}
	}
	e.Details["failed_since"] = since.UTC().Format(time.RFC3339)
	e.Message = "succeeded after failing since " +
		since.UTC().Format(time.RFC3339)
	return Recovered
}

// plan returns the status to send to each notifier, "" meaning nothing.
func (d *Dispatcher) plan(st *jobState, change Status) []Status {
	statuses := make([]Status, len(d.notifiers))
	for i, n := range d.notifiers {
		pending := slices.Contains(st.Pending, n.String())
		switch {
		case change == Recovered && pending:
			// The notifier never received the Failed event, so a
			// recovery would be news about an unknown failure.
		case change != "":
			statuses[i] = change
		case pending && st.Failed:
			statuses[i] = Failed
		case pending:
			statuses[i] = Recovered
		case d.cfg.NotifySuccess && !st.Failed:
			statuses[i] = Succeeded
		}
	}
	return statuses
}

// send delivers e with statuses[i] to notifier i, all at once, and
// returns the notifiers that did not accept a Failed or Recovered event.
func (d *Dispatcher) send(ctx context.Context, e Event,
	statuses []Status) []string {
	ctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	errs := make([]error, len(d.notifiers))
	var wg sync.WaitGroup
	for i, n := range d.notifiers {
		if statuses[i] == "" {
			continue
		}
		ev := e
		ev.Status = statuses[i]
		wg.Go(func() { errs[i] = n.Notify(ctx, ev) })
	}
	wg.Wait()

	var pending []string
	for i, err := range errs {
		if err == nil {
			continue
		}
		name := d.notifiers[i].String()
		d.warn(name, "notification failed", "notifier", name,
			"job", e.Job, "status", string(statuses[i]), "error", err)
		if statuses[i] != Succeeded {
			pending = append(pending, name)
		}
	}
	return pending
}

// warn logs a warning unless one about subject was logged less than
// FailureLogInterval ago. It adds the number of records dropped since.
func (d *Dispatcher) warn(subject, msg string, args ...any) {
	now := d.cfg.Now()
	m, seen := d.marks[subject]
	if seen && now.Sub(m.last) < d.cfg.FailureLogInterval {
		m.suppressed++
		d.marks[subject] = m
		return
	}
	if m.suppressed > 0 {
		args = append(args, "suppressed", m.suppressed)
	}
	d.log.Warn(msg, args...)
	d.marks[subject] = logMark{last: now}
}

// load replaces the states in memory with the state file, if any. When
// the file cannot be read, the states in memory are kept.
func (d *Dispatcher) load() {
	if d.cfg.StatePath == "" {
		return
	}
	states, err := loadState(d.cfg.StatePath)
	if err != nil {
		d.warn("\x00state", "notification state not loaded", "error", err)
		return
	}
	d.states = states
}

// save writes the states to the state file, if any.
func (d *Dispatcher) save() {
	if d.cfg.StatePath == "" {
		return
	}
	if err := saveState(d.cfg.StatePath, d.states); err != nil {
		d.warn("\x00state", "notification state not saved", "error", err)
	}
}

// message returns the first line of err, cut to maxMessage bytes.
func message(err error) string {
	if err == nil {
		return ""
	}
	msg, _, _ := strings.Cut(err.Error(), "\n")
	if len(msg) <= maxMessage {
		return msg
	}
	cut := maxMessage
	for cut > 0 && !utf8.RuneStart(msg[cut]) {
		cut--
	}
	return msg[:cut] + "…"
}
