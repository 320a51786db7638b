package history

import "time"

// Uptime contains the uptime of a component in percent over the last
// 24 hours, 7, 30 and 90 days. A nil figure means there are no samples
// in that window.
//
// The 24-hour figure sums the 24 hourly summaries up to and including
// the current hour. The others sum the 7, 30 or 90 daily summaries up
// to and including the current UTC day, so each window covers whole
// buckets and can reach up to one bucket further back than its name.
type Uptime struct {
	Last24h *float64
	Last7d  *float64
	Last30d *float64
	Last90d *float64
}

// Uptime computes the uptime of component id at now from the hourly
// and daily summaries.
func (s *Store) Uptime(id string, now time.Time) (Uptime, error) {
	var up Uptime
	hour := now.UTC().Truncate(time.Hour)
	hours, err := s.Hourly(id, hour.Add(-23*time.Hour), hour.Add(time.Hour))
	if err != nil {
		return up, err
	}
	up.Last24h = uptimeOf(hours)

	days, err := s.Days(id, now, 90)
	if err != nil {
		return up, err
	}
	up.Last7d = uptimeOf(days[90-7:])
	up.Last30d = uptimeOf(days[90-30:])
	up.Last90d = uptimeOf(days)
	return up, nil
}

func uptimeOf(sums []Summary) *float64 {
	var total Summary
	for _, sum := range sums {
		total.merge(sum)
	}
	pct, ok := total.UptimePct()
	if !ok {
		return nil
	}
	return &pct
}
