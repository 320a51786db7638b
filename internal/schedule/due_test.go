package schedule

import (
	"testing"
	"time"
)

// The default specs of lifeline serve.
const (
	specIncremental = "0 * * * *"
	specFull        = "0 2 * * *"
	specComplete    = "0 3 * * 0"
	specDrill       = "0 4 1 */3 *"
)

func TestNext_DefaultSpecs(t *testing.T) {
	tests := []struct {
		name                           string
		now                            string
		incremental, full, comp, drill string
	}{{
		name:        "month boundary",
		now:         "2024-01-31 23:30", // a Wednesday
		incremental: "2024-02-01 00:00",
		full:        "2024-02-01 02:00",
		comp:        "2024-02-04 03:00",
		drill:       "2024-04-01 04:00",
	}, {
		name:        "leap day into March",
		now:         "2024-02-29 23:59",
		incremental: "2024-03-01 00:00",
		full:        "2024-03-01 02:00",
		comp:        "2024-03-03 03:00",
		drill:       "2024-04-01 04:00",
	}, {
		name:        "exactly at a due time",
		now:         "2024-03-03 03:00", // a Sunday
		incremental: "2024-03-03 04:00",
		full:        "2024-03-04 02:00",
		comp:        "2024-03-10 03:00",
		drill:       "2024-04-01 04:00",
	}, {
		name:        "year boundary",
		now:         "2024-10-01 04:00",
		incremental: "2024-10-01 05:00",
		full:        "2024-10-02 02:00",
		comp:        "2024-10-06 03:00",
		drill:       "2025-01-01 04:00",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, utc(tt.now), Options{})
			addDefaultJobs(h, &recorder{})
			want := map[string]string{
				"incremental": tt.incremental,
				"full":        tt.full,
				"complete":    tt.comp,
				"drill":       tt.drill,
			}
			for job, w := range want {
				if got := h.sched.Next(job); !got.Equal(utc(w)) {
					t.Errorf("Next(%q) = %v, want %s", job, got, w)
				}
			}
		})
	}
}

func addDefaultJobs(h *harness, rec *recorder) {
	h.add(rec.job("incremental", specIncremental, nil))
	h.add(rec.job("full", specFull, nil))
	h.add(rec.job("complete", specComplete, nil))
	h.add(rec.job("drill", specDrill, nil))
}

func TestNext_UnknownJob(t *testing.T) {
	h := newHarness(t, utc("2024-01-31 23:30"), Options{})
	addDefaultJobs(h, &recorder{})
	if got := h.sched.Next("hourly"); !got.IsZero() {
		t.Errorf("Next(unknown) = %v, want zero", got)
	}
}

// TestRun_WeekOfDefaultSpecs runs the default jobs through the week that
// contains the leap day 2024-02-29 and the start of March.
func TestRun_WeekOfDefaultSpecs(t *testing.T) {
	begin, end := utc("2024-02-26 00:00"), utc("2024-03-04 00:00")
	h := newHarness(t, begin.Add(-30*time.Minute), Options{})
	rec := &recorder{}
	addDefaultJobs(h, rec)
	h.start()

	for {
		h.waitIdle()
		next := earliestNext(h.sched)
		if !next.Before(end) {
			break
		}
		h.clock.Set(next)
	}

	var want []runRecord
	for at := begin; at.Before(end); at = at.Add(time.Hour) {
		want = append(want, runRecord{"incremental", at})
		if at.Hour() == 2 {
			want = append(want, runRecord{"full", at})
		}
		if at.Hour() == 3 && at.Weekday() == time.Sunday {
			want = append(want, runRecord{"complete", at})
		}
	}
	checkRuns(t, rec.calls(), want)
	if n := len(want); n != 168+7+1 {
		t.Errorf("expected runs = %d, want 176", n)
	}
	if got, want := h.sched.Next("drill"), utc("2024-04-01 04:00"); !got.Equal(want) {
		t.Errorf("Next(drill) = %v, want %v", got, want)
	}
}

func earliestNext(s *Scheduler) time.Time {
	var earliest time.Time
	for _, job := range []string{"incremental", "full", "complete", "drill"} {
		next := s.Next(job)
		if earliest.IsZero() || next.Before(earliest) {
			earliest = next
		}
	}
	return earliest
}

func TestLastDue(t *testing.T) {
	tests := []struct {
		spec, at, want string
	}{
		{specIncremental, "2024-03-01 00:59", "2024-03-01 00:00"},
		{specIncremental, "2024-03-01 01:00", "2024-03-01 01:00"},
		{specFull, "2024-03-01 01:00", "2024-02-29 02:00"},
		{specComplete, "2024-03-01 01:00", "2024-02-25 03:00"},
		{specDrill, "2024-03-01 01:00", "2024-01-01 04:00"},
		{specDrill, "2024-01-01 03:59", "2023-10-01 04:00"},
		{"0 0 29 2 *", "2027-03-01 00:00", "2024-02-29 00:00"},
	}
	for _, tt := range tests {
		sched, err := parseSpec(tt.spec, utc(tt.at))
		if err != nil {
			t.Fatalf("parseSpec(%q): %v", tt.spec, err)
		}
		got := lastDue(sched, utc(tt.at))
		if !got.Equal(utc(tt.want)) {
			t.Errorf("lastDue(%q, %s) = %v, want %s", tt.spec, tt.at,
				got, tt.want)
		}
	}
}
