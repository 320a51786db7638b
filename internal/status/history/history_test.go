package history

import (
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var start = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func openStore(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return s
}

func add(t *testing.T, s *Store, id string, smp Sample) {
	t.Helper()
	if err := s.Add(id, smp); err != nil {
		t.Fatalf("add: %v", err)
	}
}

func wantPct(t *testing.T, name string, got *float64, want float64) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: got no figure, want %.3f", name, want)
	}
	if math.Abs(*got-want) > 1e-9 {
		t.Errorf("%s: got %.6f, want %.6f", name, *got, want)
	}
}

// fill adds four samples a day for 100 days: down for the first ten
// days, then up, except one down sample on day 95.
func fill(t *testing.T, s *Store) time.Time {
	t.Helper()
	var at time.Time
	for day := range 100 {
		for q := range 4 {
			at = start.AddDate(0, 0, day).Add(time.Duration(q) * 6 * time.Hour)
			status := StatusUp
			if day < 10 || (day == 95 && q == 0) {
				status = StatusDown
			}
			add(t, s, "api", Sample{
				At: at, Status: status,
				ResponseTime: time.Duration(q+1) * time.Millisecond,
			})
		}
	}
	return at
}

func TestStore_UptimeFromSummariesAfterReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	s := openStore(t, path)
	last := fill(t, s)
	now := last.Add(time.Minute)
	if _, err := s.Prune(now); err != nil {
		t.Fatalf("prune: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}

	s = openStore(t, path)
	defer s.Close()
	raw, err := s.Raw("api", start, now)
	if err != nil {
		t.Fatalf("raw: %v", err)
	}
	// 48 hours of raw samples at 6-hour spacing, the oldest one of
	// the window exactly at the cutoff included.
	if len(raw) != 8 {
		t.Errorf("raw samples after prune: got %d, want 8", len(raw))
	}
	daily, err := s.Daily("api", start, now)
	if err != nil {
		t.Fatalf("daily: %v", err)
	}
	// Day 9 ended less than 90 days before now, so it is kept too.
	if len(daily) != 91 {
		t.Errorf("daily summaries after prune: got %d, want 91", len(daily))
	}

	up, err := s.Uptime("api", now)
	if err != nil {
		t.Fatalf("uptime: %v", err)
	}
	// The 90-day window is days 10 to 99: 360 samples, one down on
	// day 95. Day 9, all down, is outside it although still stored.
	wantPct(t, "90d", up.Last90d, 100*359.0/360)
	wantPct(t, "30d", up.Last30d, 100*119.0/120)
	wantPct(t, "7d", up.Last7d, 100*27.0/28)
	wantPct(t, "24h", up.Last24h, 100)
}

func TestStore_SummaryFields(t *testing.T) {
	s := openStore(t, filepath.Join(t.TempDir(), "h.db"))
	defer s.Close()
	at := start.Add(30 * time.Minute)
	add(t, s, "a", Sample{At: at, Status: StatusUp, ResponseTime: 10 * time.Millisecond})
	add(t, s, "a", Sample{At: at, Status: StatusDegraded, ResponseTime: 50 * time.Millisecond})
	add(t, s, "a", Sample{At: at, Status: StatusDown, ResponseTime: 30 * time.Millisecond})
	add(t, s, "a", Sample{At: at, Status: StatusMaintenance})

	hours, err := s.Hourly("a", start, start.Add(time.Hour))
	if err != nil {
		t.Fatalf("hourly: %v", err)
	}
	if len(hours) != 1 {
		t.Fatalf("hourly summaries: got %d, want 1", len(hours))
	}
	h := hours[0]
	if h.Count != 3 || h.Successes != 1 || h.Degraded != 1 || h.Down() != 1 {
		t.Errorf("counts: got %+v, want 3 samples, one of each", h)
	}
	if h.AvgResponseTime() != 30*time.Millisecond {
		t.Errorf("average: got %v, want 30ms", h.AvgResponseTime())
	}
	if h.MaxResponseTime != 50*time.Millisecond {
		t.Errorf("max: got %v, want 50ms", h.MaxResponseTime)
	}
	raw, err := s.Raw("a", start, start.Add(time.Hour))
	if err != nil {
		t.Fatalf("raw: %v", err)
	}
	if len(raw) != 4 {
		t.Errorf("raw samples with equal times: got %d, want 4", len(raw))
	}
}

func TestStore_DaysFillsGaps(t *testing.T) {
	s := openStore(t, filepath.Join(t.TempDir(), "h.db"))
	defer s.Close()
	now := start.AddDate(0, 0, 5).Add(time.Hour)
	add(t, s, "a", Sample{At: start.AddDate(0, 0, 3), Status: StatusDown})
	days, err := s.Days("a", now, 10)
	if err != nil {
		t.Fatalf("days: %v", err)
	}
	if len(days) != 10 {
		t.Fatalf("days: got %d, want 10", len(days))
	}
	if !days[9].Start.Equal(start.AddDate(0, 0, 5)) {
		t.Errorf("last day: got %v, want day of now", days[9].Start)
	}
	if days[7].Count != 1 || days[7].Down() != 1 {
		t.Errorf("day 3: got %+v, want one down sample", days[7])
	}
	if days[6].Count != 0 {
		t.Errorf("day 2: got %+v, want no samples", days[6])
	}
}

func TestStore_StatesSurviveReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	s := openStore(t, path)
	want := State{Status: StatusDown, Since: start}
	if err := s.SaveState("db", want); err != nil {
		t.Fatalf("save: %v", err)
	}
	s.Close()
	s = openStore(t, path)
	defer s.Close()
	states, err := s.States()
	if err != nil {
		t.Fatalf("states: %v", err)
	}
	if got := states["db"]; got.Status != want.Status || !got.Since.Equal(want.Since) {
		t.Errorf("state: got %+v, want %+v", got, want)
	}
}

func TestOpen_LockedFileNamesTheCause(t *testing.T) {
	path := filepath.Join(t.TempDir(), "status.db")
	first, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	_, err = Open(path, Options{})
	if err == nil || !strings.Contains(err.Error(), "locked by another process") {
		t.Errorf("second Open: %v, want an error that says the file is "+
			"locked by another process", err)
	}
}
