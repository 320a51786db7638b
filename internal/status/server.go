package status

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lifeline-backup/lifeline/internal/status/history"
)

// Clock is the source of time for a Server. schedule.RealClock and
// schedule.FakeClock satisfy it.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// After returns a channel that receives once d has passed.
	After(d time.Duration) <-chan time.Time
}

// Change is a confirmed state change of a component.
type Change struct {
	// ID, Name, Group and Kind describe the component.
	ID, Name, Group, Kind string
	// From is the previous state, StatusUnknown after the first start.
	From Status
	// To is the new state: up, degraded or down.
	To Status
	// At is when the change was confirmed.
	At time.Time
	// Result is the result that confirmed the change, with its full
	// error text even when the check has HideErrors.
	Result Result
}

// Server runs the checks and probes of a status page and serves it.
type Server struct {
	cfg        Config
	clock      Clock
	log        *slog.Logger
	store      *history.Store
	components []*component
	byID       map[string]*component
	running    atomic.Bool

	// mu guards the mutable fields of every component.
	mu      sync.Mutex
	version atomic.Uint64

	buildMu sync.Mutex
	cache   atomic.Pointer[snapshot]

	pruneMu   sync.Mutex
	lastPrune time.Time

	// onResult, if set by a test, is called after each recorded result.
	onResult func(id string, r Result)
}

// component is one check or probe with its state.
type component struct {
	id, name, group, kind string
	check                 *check
	probe                 Probe

	// Fields below are guarded by Server.mu.
	machine          machine
	maintenanceSince time.Time
	last             *Result
	uptime           history.Uptime
	days             []history.Summary
	storeFailing     bool
}

// New validates cfg, opens the history file and restores the confirmed
// states and uptime figures from it. A nil log discards messages. The
// caller must Close the Server.
func New(cfg Config, clock Clock, log *slog.Logger) (*Server, error) {
	if clock == nil {
		return nil, errors.New("new status server: clock is nil, " +
			"pass schedule.RealClock()")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.HistoryPath == "" {
		return nil, errors.New("new status server: missing history path")
	}
	applyServerDefaults(&cfg)
	components, err := buildComponents(cfg)
	if err != nil {
		return nil, fmt.Errorf("new status server: %w", err)
	}
	store, err := history.Open(cfg.HistoryPath, history.Options{
		RawRetention:     cfg.RawRetention,
		SummaryRetention: cfg.SummaryRetention,
	})
	if err != nil {
		return nil, fmt.Errorf("new status server: %w", err)
	}
	s := &Server{
		cfg: cfg, clock: clock, log: log, store: store,
		components: components, byID: make(map[string]*component),
	}
	if err := s.restore(); err != nil {
		_ = store.Close()
		return nil, fmt.Errorf("new status server: %w", err)
	}
	return s, nil
}

// Close closes the history file. Call it after Run has returned.
func (s *Server) Close() error {
	return s.store.Close()
}

func applyServerDefaults(cfg *Config) {
	if cfg.Title == "" {
		cfg.Title = DefaultTitle
	}
	if cfg.ProbeInterval <= 0 {
		cfg.ProbeInterval = DefaultProbeInterval
	}
	if cfg.ProbeTimeout <= 0 {
		cfg.ProbeTimeout = DefaultProbeTimeout
	}
	if cfg.Refresh <= 0 {
		cfg.Refresh = DefaultRefresh
	}
}

// buildComponents validates every check and probe and rejects
// duplicate ids. The error lists every problem.
func buildComponents(cfg Config) ([]*component, error) {
	var comps []*component
	var errs []error
	for _, cc := range cfg.Checks {
		c, err := newCheck(cc)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		comps = append(comps, checkComponent(c))
	}
	for i, p := range cfg.Probes {
		if p == nil || !validID.MatchString(p.ID()) {
			errs = append(errs, fmt.Errorf("probe %d: invalid or "+
				"missing id", i+1))
			continue
		}
		comps = append(comps, probeComponent(p))
	}
	errs = append(errs, duplicateIDs(comps)...)
	return comps, errors.Join(errs...)
}

func checkComponent(c *check) *component {
	return &component{
		id: c.cfg.ID, name: c.cfg.Name, group: c.cfg.Group,
		kind: c.cfg.Kind, check: c,
		machine: machine{
			failureThreshold: c.cfg.FailureThreshold,
			successThreshold: c.cfg.SuccessThreshold,
			state:            StatusUnknown,
		},
	}
}

func probeComponent(p Probe) *component {
	name := p.Name()
	if name == "" {
		name = p.ID()
	}
	return &component{
		id: p.ID(), name: name, group: p.Group(), kind: p.Kind(),
		probe: p,
		machine: machine{
			failureThreshold: 1, successThreshold: 1,
			state: StatusUnknown,
		},
	}
}

func duplicateIDs(comps []*component) []error {
	var errs []error
	seen := make(map[string]bool)
	for _, c := range comps {
		if seen[c.id] {
			errs = append(errs, fmt.Errorf("duplicate component id %q", c.id))
		}
		seen[c.id] = true
	}
	return errs
}

// restore loads confirmed states and summaries from the history file.
func (s *Server) restore() error {
	states, err := s.store.States()
	if err != nil {
		return err
	}
	now := s.clock.Now()
	for _, c := range s.components {
		s.byID[c.id] = c
		if st, ok := states[c.id]; ok {
			c.machine.state, c.machine.since = Status(st.Status), st.Since
		}
		c.uptime, c.days, err = s.summaries(c.id, now)
		if err != nil {
			return err
		}
	}
	return nil
}

// summaries reads the uptime figures and daily bars of component id.
func (s *Server) summaries(
	id string, now time.Time,
) (history.Uptime, []history.Summary, error) {
	uptime, err := s.store.Uptime(id, now)
	if err != nil {
		return uptime, nil, err
	}
	days, err := s.store.Days(id, now, historyDays)
	return uptime, days, err
}

// historyDays is the number of daily bars on the page.
const historyDays = 90
