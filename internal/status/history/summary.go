package history

import (
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Summary aggregates the samples of one component over one hour or one
// UTC day. Samples in maintenance are not counted.
type Summary struct {
	// Start is the start of the hour or day.
	Start time.Time `json:"start"`
	// Count is the number of samples.
	Count int64 `json:"count"`
	// Successes is the number of samples with status up.
	Successes int64 `json:"successes"`
	// Degraded is the number of samples with status degraded.
	Degraded int64 `json:"degraded"`
	// TotalResponseTime is the sum of the response times.
	TotalResponseTime time.Duration `json:"total_response_time"`
	// MaxResponseTime is the longest response time.
	MaxResponseTime time.Duration `json:"max_response_time"`
}

// Down returns the number of samples with status down.
func (s Summary) Down() int64 {
	return s.Count - s.Successes - s.Degraded
}

// AvgResponseTime returns the mean response time, 0 without samples.
func (s Summary) AvgResponseTime() time.Duration {
	if s.Count == 0 {
		return 0
	}
	return s.TotalResponseTime / time.Duration(s.Count)
}

// UptimePct returns the share of samples, in percent, in which the
// component was available (up or degraded), and false when there are
// no samples. Degraded counts as available because the component still
// served requests.
func (s Summary) UptimePct() (float64, bool) {
	if s.Count == 0 {
		return 0, false
	}
	return 100 * float64(s.Successes+s.Degraded) / float64(s.Count), true
}

func (s *Summary) add(smp Sample) {
	s.Count++
	switch smp.Status {
	case StatusUp:
		s.Successes++
	case StatusDegraded:
		s.Degraded++
	}
	s.TotalResponseTime += smp.ResponseTime
	s.MaxResponseTime = max(s.MaxResponseTime, smp.ResponseTime)
}

func (s *Summary) merge(o Summary) {
	s.Count += o.Count
	s.Successes += o.Successes
	s.Degraded += o.Degraded
	s.TotalResponseTime += o.TotalResponseTime
	s.MaxResponseTime = max(s.MaxResponseTime, o.MaxResponseTime)
}

func addSummary(
	tx *bolt.Tx, name []byte, id string, start time.Time, smp Sample,
) error {
	b, err := componentBucket(tx, name, id, true)
	if err != nil {
		return err
	}
	key := timeKey(start)
	sum := Summary{Start: start}
	if v := b.Get(key); v != nil {
		if err := json.Unmarshal(v, &sum); err != nil {
			return fmt.Errorf("decode summary at %s: %w", start, err)
		}
	}
	sum.add(smp)
	value, err := json.Marshal(sum)
	if err != nil {
		return err
	}
	return b.Put(key, value)
}

// Hourly returns the hourly summaries of component id that start in
// [from, to), oldest first. Hours without samples are left out.
func (s *Store) Hourly(id string, from, to time.Time) ([]Summary, error) {
	return s.summaries(bucketHourly, id, from, to)
}

// Daily returns the daily summaries of component id that start in
// [from, to), oldest first. Days without samples are left out.
func (s *Store) Daily(id string, from, to time.Time) ([]Summary, error) {
	return s.summaries(bucketDaily, id, from, to)
}

func (s *Store) summaries(
	name []byte, id string, from, to time.Time,
) ([]Summary, error) {
	var sums []Summary
	err := s.db.View(func(tx *bolt.Tx) error {
		b, err := componentBucket(tx, name, id, false)
		if err != nil || b == nil {
			return err
		}
		return scan(b, from, to, func(_ time.Time, v []byte) error {
			var sum Summary
			if err := json.Unmarshal(v, &sum); err != nil {
				return err
			}
			sums = append(sums, sum)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("read %s history of %q: %w", name, id, err)
	}
	return sums, nil
}

// Days returns n daily summaries of component id, one per UTC day, the
// last one for the day of now. Days without samples have only Start
// set.
func (s *Store) Days(id string, now time.Time, n int) ([]Summary, error) {
	today := dayStart(now)
	first := today.AddDate(0, 0, 1-n)
	stored, err := s.Daily(id, first, today.AddDate(0, 0, 1))
	if err != nil {
		return nil, err
	}
	days := make([]Summary, n)
	for i := range days {
		days[i].Start = first.AddDate(0, 0, i)
	}
	for _, sum := range stored {
		i := int(sum.Start.Sub(first) / (24 * time.Hour))
		if i >= 0 && i < n {
			days[i] = sum
		}
	}
	return days, nil
}
