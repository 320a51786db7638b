package history

import (
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// State is the last confirmed, and so alerted, state of a component.
type State struct {
	// Status is the confirmed status, such as StatusDown.
	Status string `json:"status"`
	// Since is when the status was confirmed.
	Since time.Time `json:"since"`
}

// SaveState stores st as the state of component id.
func (s *Store) SaveState(id string, st State) error {
	value, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("save state of %q: %w", id, err)
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketState).Put([]byte(id), value)
	})
	if err != nil {
		return fmt.Errorf("save state of %q: %w", id, err)
	}
	return nil
}

// States returns the stored state of every component, by id.
func (s *Store) States() (map[string]State, error) {
	states := make(map[string]State)
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketState).ForEach(func(k, v []byte) error {
			var st State
			if err := json.Unmarshal(v, &st); err != nil {
				return fmt.Errorf("decode state of %q: %w", k, err)
			}
			states[string(k)] = st
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("read states: %w", err)
	}
	return states, nil
}
