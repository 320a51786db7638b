package status

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/lifeline-backup/lifeline/internal/status/history"
)

// pruneInterval is the minimum time between two prunes of history.
const pruneInterval = time.Hour

// Run runs every check and probe in its own goroutine, each at its own
// interval, so that a hanging endpoint delays only its own check. The
// first run of each is at once. Run returns nil when ctx is done and
// every goroutine has stopped, and an error if called twice.
func (s *Server) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("run status server: already running")
	}
	var wg sync.WaitGroup
	for _, c := range s.components {
		wg.Go(func() { s.loop(ctx, c) })
	}
	wg.Wait()
	return nil
}

// loop runs component c until ctx is done. The interval counts from the
// start of one run to the start of the next, on the server's clock.
func (s *Server) loop(ctx context.Context, c *component) {
	interval := s.interval(c)
	for {
		start := s.clock.Now()
		r := s.runOnce(ctx, c, start)
		if ctx.Err() != nil {
			return
		}
		s.record(ctx, c, r)
		wait := interval - s.clock.Now().Sub(start)
		select {
		case <-ctx.Done():
			return
		case <-s.clock.After(wait):
		}
	}
}

func (s *Server) interval(c *component) time.Duration {
	if c.check != nil {
		return c.check.cfg.Interval
	}
	return s.cfg.ProbeInterval
}

// runOnce runs a check or a probe once, within its timeout.
func (s *Server) runOnce(ctx context.Context, c *component, at time.Time) Result {
	if c.check != nil {
		return c.check.run(ctx, at)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ProbeTimeout)
	defer cancel()
	return probeResult(c.probe.Probe(ctx), at)
}

// probeResult converts a ProbeResult. A status other than up, degraded
// or down counts as down.
func probeResult(p ProbeResult, at time.Time) Result {
	r := Result{
		At: at, Status: p.Status, Message: p.Message,
		LastSuccessAt: p.LastSuccessAt, AgeSeconds: p.AgeSeconds,
	}
	if p.Err != nil {
		r.Error = p.Err.Error()
	}
	switch p.Status {
	case StatusUp, StatusDegraded, StatusDown:
	default:
		r.Status = StatusDown
		r.Error = fmt.Sprintf("invalid probe status %q", p.Status)
	}
	return r
}

// record stores r, updates the state of c and sends a confirmed change.
func (s *Server) record(ctx context.Context, c *component, r Result) {
	inWindow := c.check != nil && inMaintenance(c.check.windows, r.At)
	storeErr := s.store.Add(c.id, sample(r, inWindow))
	uptime, days, err := s.summaries(c.id, r.At)
	storeErr = errors.Join(storeErr, err)

	s.mu.Lock()
	c.last = &r
	if err == nil {
		c.uptime, c.days = uptime, days
	}
	change, changed := s.advance(c, r, inWindow)
	s.version.Add(1)
	s.mu.Unlock()

	s.logStore(c, storeErr)
	if changed {
		s.notify(ctx, c, change)
	}
	s.prune(r.At)
	if s.onResult != nil {
		s.onResult(c.id, r)
	}
}

func sample(r Result, inWindow bool) history.Sample {
	status := string(r.Status)
	if inWindow {
		status = history.StatusMaintenance
	}
	return history.Sample{
		At: r.At, Status: status, HTTPStatus: r.HTTPStatus,
		ResponseTime: r.ResponseTime, Error: r.Error,
	}
}

// advance feeds r to the state machine of c, unless r falls inside a
// maintenance window: the machine then keeps its state and counts, so
// a failure that lasts past the window is confirmed and sent after it.
// The caller holds s.mu.
func (s *Server) advance(c *component, r Result, inWindow bool) (Change, bool) {
	if inWindow {
		if c.maintenanceSince.IsZero() {
			c.maintenanceSince = r.At
		}
		return Change{}, false
	}
	c.maintenanceSince = time.Time{}
	from, changed := c.machine.observe(r.Status, r.At)
	if !changed {
		return Change{}, false
	}
	return Change{
		ID: c.id, Name: c.name, Group: c.group, Kind: c.kind,
		From: from, To: c.machine.state, At: r.At, Result: r,
	}, true
}

// notify sends ch to OnChange and then stores the new state, so that a
// restart neither repeats the alert nor misses one that was not sent.
// The first confirmation of up after the first start is not sent,
// because nothing changed for anyone watching.
func (s *Server) notify(ctx context.Context, c *component, ch Change) {
	quiet := ch.From == StatusUnknown && ch.To == StatusUp
	if s.cfg.OnChange != nil && !quiet {
		s.callOnChange(ctx, ch)
	}
	st := history.State{Status: string(ch.To), Since: ch.At}
	if err := s.store.SaveState(c.id, st); err != nil {
		s.log.Error("save component state", "component", c.id,
			"error", err)
	}
}

// callOnChange calls OnChange and logs a panic in it, so that a bug in
// a notifier does not stop the status page.
func (s *Server) callOnChange(ctx context.Context, ch Change) {
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("status change callback panicked",
				"component", ch.ID, "error", fmt.Sprint(v))
		}
	}()
	s.cfg.OnChange(ctx, ch)
}

// logStore logs the first failure of history writes for c and the
// recovery, not every failure, because they repeat at each interval.
func (s *Server) logStore(c *component, err error) {
	s.mu.Lock()
	was := c.storeFailing
	c.storeFailing = err != nil
	s.mu.Unlock()
	switch {
	case err != nil && !was:
		s.log.Error("record status history", "component", c.id,
			"error", err)
	case err == nil && was:
		s.log.Info("recording status history again", "component", c.id)
	}
}

// prune deletes old history at most once per pruneInterval.
func (s *Server) prune(now time.Time) {
	s.pruneMu.Lock()
	defer s.pruneMu.Unlock()
	if now.Sub(s.lastPrune) < pruneInterval {
		return
	}
	s.lastPrune = now
	if _, err := s.store.Prune(now); err != nil {
		s.log.Error("prune status history", "error", err)
	}
}
