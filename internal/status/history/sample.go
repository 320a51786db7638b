package history

import (
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Statuses of a Sample. They match the statuses of package status.
const (
	StatusUp          = "up"
	StatusDegraded    = "degraded"
	StatusDown        = "down"
	StatusMaintenance = "maintenance"
)

// Sample is one check result as stored in history.
type Sample struct {
	// At is when the check ran.
	At time.Time `json:"at"`
	// Status is StatusUp, StatusDegraded, StatusDown or
	// StatusMaintenance. Samples in maintenance are kept as raw
	// samples but left out of the summaries, so they do not count
	// against uptime.
	Status string `json:"status"`
	// HTTPStatus is the response status code, 0 when there was none.
	HTTPStatus int `json:"http_status,omitempty"`
	// ResponseTime is how long the check took.
	ResponseTime time.Duration `json:"response_time"`
	// Error is the error text of the check, if any.
	Error string `json:"error,omitempty"`
}

// Add stores smp as a raw sample of component id and adds it to the
// hourly and daily summaries, all in one transaction.
func (s *Store) Add(id string, smp Sample) error {
	smp.At = smp.At.UTC()
	err := s.db.Update(func(tx *bolt.Tx) error {
		if err := putRaw(tx, id, smp); err != nil {
			return err
		}
		if smp.Status == StatusMaintenance {
			return nil
		}
		hour := smp.At.Truncate(time.Hour)
		if err := addSummary(tx, bucketHourly, id, hour, smp); err != nil {
			return err
		}
		return addSummary(tx, bucketDaily, id, dayStart(smp.At), smp)
	})
	if err != nil {
		return fmt.Errorf("add sample of %q to history: %w", id, err)
	}
	return nil
}

func putRaw(tx *bolt.Tx, id string, smp Sample) error {
	b, err := componentBucket(tx, bucketRaw, id, true)
	if err != nil {
		return err
	}
	value, err := json.Marshal(smp)
	if err != nil {
		return err
	}
	// Two samples in the same nanosecond get successive keys.
	at := smp.At
	for b.Get(timeKey(at)) != nil {
		at = at.Add(time.Nanosecond)
	}
	return b.Put(timeKey(at), value)
}

// Raw returns the raw samples of component id with from <= At < to,
// oldest first.
func (s *Store) Raw(id string, from, to time.Time) ([]Sample, error) {
	var samples []Sample
	err := s.db.View(func(tx *bolt.Tx) error {
		b, err := componentBucket(tx, bucketRaw, id, false)
		if err != nil || b == nil {
			return err
		}
		return scan(b, from, to, func(_ time.Time, v []byte) error {
			var smp Sample
			if err := json.Unmarshal(v, &smp); err != nil {
				return err
			}
			samples = append(samples, smp)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("read raw history of %q: %w", id, err)
	}
	return samples, nil
}

// scan calls fn for each key of b in [from, to).
func scan(
	b *bolt.Bucket, from, to time.Time,
	fn func(at time.Time, v []byte) error,
) error {
	c := b.Cursor()
	end := to.UnixNano()
	for k, v := c.Seek(timeKey(from)); k != nil; k, v = c.Next() {
		at := keyTime(k)
		if at.UnixNano() >= end {
			return nil
		}
		if err := fn(at, v); err != nil {
			return err
		}
	}
	return nil
}

// dayStart returns midnight UTC of the day of t.
func dayStart(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
