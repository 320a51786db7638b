package history

import (
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Prune deletes raw samples older than the raw retention and summaries
// whose hour or day ended before the summary retention, both counted
// back from now. It returns the number of deleted entries.
func (s *Store) Prune(now time.Time) (int, error) {
	rawCutoff := now.Add(-s.opts.RawRetention)
	summaryCutoff := now.Add(-s.opts.SummaryRetention)
	deleted := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		cuts := []struct {
			name   []byte
			before time.Time
		}{
			{bucketRaw, rawCutoff},
			// A summary is deleted once its whole span is older
			// than the cutoff.
			{bucketHourly, summaryCutoff.Add(-time.Hour)},
			{bucketDaily, summaryCutoff.Add(-24 * time.Hour)},
		}
		for _, cut := range cuts {
			n, err := pruneBucket(tx.Bucket(cut.name), cut.before)
			if err != nil {
				return err
			}
			deleted += n
		}
		return nil
	})
	if err != nil {
		return deleted, fmt.Errorf("prune history: %w", err)
	}
	return deleted, nil
}

// pruneBucket deletes the keys before the time before in each nested
// bucket of top.
func pruneBucket(top *bolt.Bucket, before time.Time) (int, error) {
	deleted := 0
	err := top.ForEachBucket(func(name []byte) error {
		b := top.Bucket(name)
		var old [][]byte
		c := b.Cursor()
		limit := timeKey(before)
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if string(k) >= string(limit) {
				break
			}
			old = append(old, append([]byte(nil), k...))
		}
		for _, k := range old {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		deleted += len(old)
		return nil
	})
	return deleted, err
}
