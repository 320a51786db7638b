package status

import "time"

// Status is the state of a component.
type Status string

// Statuses of a component, from best to worst. StatusUnknown is shown
// before the first state is confirmed.
const (
	StatusUp          Status = "up"
	StatusUnknown     Status = "unknown"
	StatusMaintenance Status = "maintenance"
	StatusDegraded    Status = "degraded"
	StatusDown        Status = "down"
)

// severity orders statuses for Worst. Unknown ranks above up, so a page
// with unchecked components does not claim that all is well.
func (s Status) severity() int {
	switch s {
	case StatusUp:
		return 0
	case StatusUnknown:
		return 1
	case StatusMaintenance:
		return 2
	case StatusDegraded:
		return 3
	case StatusDown:
		return 4
	}
	return 1
}

// Worst returns the most severe of statuses, StatusUp when there are
// none.
func Worst(statuses ...Status) Status {
	worst := StatusUp
	for _, s := range statuses {
		if s.severity() > worst.severity() {
			worst = s
		}
	}
	return worst
}

// label returns the status in words for people.
func (s Status) label() string {
	switch s {
	case StatusUp:
		return "Operational"
	case StatusDegraded:
		return "Degraded"
	case StatusDown:
		return "Down"
	case StatusMaintenance:
		return "Maintenance"
	}
	return "Unknown"
}

// machine confirms state changes. A change to down or degraded needs
// failureThreshold consecutive failing results, and a change back to
// up needs successThreshold consecutive successes, so a check that
// alternates stays in one state.
type machine struct {
	failureThreshold int
	successThreshold int

	state Status
	since time.Time

	failures  int    // consecutive results that are not up
	successes int    // consecutive results that are up
	same      int    // consecutive results equal to last
	last      Status // the previous result
}

// observe feeds one result and returns the previous confirmed state and
// whether the confirmed state changed.
func (m *machine) observe(s Status, at time.Time) (Status, bool) {
	m.count(s)
	from := m.state
	next := m.next(s)
	if next == from {
		return from, false
	}
	m.state, m.since = next, at
	return from, true
}

func (m *machine) count(s Status) {
	if s == m.last {
		m.same++
	} else {
		m.last, m.same = s, 1
	}
	if s == StatusUp {
		m.successes++
		m.failures = 0
		return
	}
	m.failures++
	m.successes = 0
}

// next returns the confirmed state after result s.
func (m *machine) next(s Status) Status {
	switch {
	case s == StatusUp:
		if m.successes >= m.successThreshold {
			return StatusUp
		}
	case m.state == StatusUp || m.state == StatusUnknown:
		if m.failures >= m.failureThreshold {
			return s
		}
	default:
		// Between down and degraded, the new one must repeat.
		if m.same >= m.failureThreshold {
			return s
		}
	}
	return m.state
}
