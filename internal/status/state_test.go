package status

import (
	"testing"
	"time"
)

func newMachine(state Status) *machine {
	return &machine{failureThreshold: 3, successThreshold: 2, state: state}
}

// feed observes statuses one minute apart and returns the number of
// confirmed changes.
func feed(m *machine, statuses ...Status) int {
	changes := 0
	at := start
	for _, s := range statuses {
		if _, changed := m.observe(s, at); changed {
			changes++
		}
		at = at.Add(time.Minute)
	}
	return changes
}

func TestMachine_FlappingStaysUp(t *testing.T) {
	m := newMachine(StatusUp)
	var seq []Status
	for range 20 {
		seq = append(seq, StatusDown, StatusUp)
	}
	if n := feed(m, seq...); n != 0 {
		t.Errorf("changes: got %d, want 0", n)
	}
	if m.state != StatusUp {
		t.Errorf("state: got %s, want up", m.state)
	}
}

func TestMachine_FlappingStaysDown(t *testing.T) {
	m := newMachine(StatusDown)
	var seq []Status
	for range 20 {
		seq = append(seq, StatusUp, StatusDown)
	}
	if n := feed(m, seq...); n != 0 {
		t.Errorf("changes: got %d, want 0", n)
	}
	if m.state != StatusDown {
		t.Errorf("state: got %s, want down", m.state)
	}
}

func TestMachine_Thresholds(t *testing.T) {
	m := newMachine(StatusUp)
	if n := feed(m, StatusDown, StatusDown); n != 0 || m.state != StatusUp {
		t.Fatalf("after 2 failures: %d changes, state %s, want up", n, m.state)
	}
	from, changed := m.observe(StatusDown, start)
	if !changed || from != StatusUp || m.state != StatusDown {
		t.Fatalf("third failure: changed %v from %s to %s, want up to down",
			changed, from, m.state)
	}
	if n := feed(m, StatusUp); n != 0 || m.state != StatusDown {
		t.Fatalf("after 1 success: state %s, want down", m.state)
	}
	if n := feed(m, StatusUp); n != 1 || m.state != StatusUp {
		t.Fatalf("after 2 successes: state %s, want up", m.state)
	}
}

func TestMachine_DegradedAndDown(t *testing.T) {
	m := newMachine(StatusUp)
	feed(m, StatusDegraded, StatusDown, StatusDegraded)
	if m.state != StatusDegraded {
		t.Fatalf("mixed failures from up: got %s, want the latest, degraded",
			m.state)
	}
	feed(m, StatusDown, StatusDown)
	if m.state != StatusDegraded {
		t.Errorf("2 downs while degraded: got %s, want degraded", m.state)
	}
	feed(m, StatusDown)
	if m.state != StatusDown {
		t.Errorf("3 downs while degraded: got %s, want down", m.state)
	}
}

func TestMachine_UnknownNeedsThreshold(t *testing.T) {
	m := newMachine(StatusUnknown)
	feed(m, StatusUp)
	if m.state != StatusUnknown {
		t.Errorf("after 1 success: got %s, want unknown", m.state)
	}
	feed(m, StatusUp)
	if m.state != StatusUp {
		t.Errorf("after 2 successes: got %s, want up", m.state)
	}
}

func TestWorst(t *testing.T) {
	cases := []struct {
		in   []Status
		want Status
	}{
		{nil, StatusUp},
		{[]Status{StatusUp, StatusUp}, StatusUp},
		{[]Status{StatusUp, StatusMaintenance}, StatusMaintenance},
		{[]Status{StatusDegraded, StatusMaintenance}, StatusDegraded},
		{[]Status{StatusUp, StatusDown, StatusDegraded}, StatusDown},
		{[]Status{StatusUp, StatusUnknown}, StatusUnknown},
	}
	for _, c := range cases {
		if got := Worst(c.in...); got != c.want {
			t.Errorf("Worst(%v): got %s, want %s", c.in, got, c.want)
		}
	}
}

func TestFreshness(t *testing.T) {
	hour := time.Hour
	cases := []struct {
		age  time.Duration
		want Status
	}{
		{0, StatusUp},
		{59 * time.Minute, StatusUp},
		{hour, StatusDegraded},
		{2*hour - time.Second, StatusDegraded},
		{2 * hour, StatusDown},
		{30 * hour, StatusDown},
	}
	for _, c := range cases {
		if got := Freshness(c.age, hour); got != c.want {
			t.Errorf("Freshness(%v, 1h): got %s, want %s", c.age, got, c.want)
		}
	}
}

func TestWindow_Active(t *testing.T) {
	daily, err := parseWindow(Window{Daily: "10:00", Duration: time.Hour})
	if err != nil {
		t.Fatalf("parse daily: %v", err)
	}
	day := time.Date(2025, 3, 10, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		at   time.Duration
		want bool
	}{
		{9*time.Hour + 59*time.Minute, false},
		{10 * time.Hour, true},
		{10*time.Hour + 59*time.Minute, true},
		{11 * time.Hour, false},
	}
	for _, c := range cases {
		if got := daily.active(day.Add(c.at)); got != c.want {
			t.Errorf("daily 10:00 for 1h at %v: got %v, want %v",
				c.at, got, c.want)
		}
	}
	weekly, err := parseWindow(Window{Cron: "0 2 * * 0", Duration: 3 * time.Hour})
	if err != nil {
		t.Fatalf("parse cron: %v", err)
	}
	sunday := time.Date(2025, 3, 9, 3, 0, 0, 0, time.UTC)
	if !weekly.active(sunday) {
		t.Errorf("sunday 02:00 for 3h: not active at 03:00")
	}
	if weekly.active(sunday.AddDate(0, 0, 1)) {
		t.Errorf("sunday 02:00 for 3h: active on monday")
	}
}
