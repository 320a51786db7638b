package repo

import (
	"context"
	"fmt"
	"time"

	"github.com/lifeline-backup/lifeline/internal/codec"
	"github.com/lifeline-backup/lifeline/internal/source"
)

// Part is one backup's entry for a namespace within a chain.
type Part struct {
	Snapshot *Snapshot
	Entry    Namespace
}

// Chain returns the parts that build the state of one namespace as of
// backup s: s's own entry first, then each base it builds on, down to
// the full or complete backup that starts the chain.
func (r *Repo) Chain(ctx context.Context, s *Snapshot, src,
	ns string) ([]Part, error) {
	var parts []Part
	seen := map[string]bool{}
	for {
		e, ok := s.Entry(src, ns)
		if !ok {
			return nil, fmt.Errorf("backup %s has no namespace %s/%s",
				s.ID, src, ns)
		}
		parts = append(parts, Part{Snapshot: s, Entry: e})
		if e.Base == "" {
			return parts, nil
		}
		if seen[e.Base] {
			return nil, fmt.Errorf("backup %s: chain of %s/%s loops at "+
				"%s: %w", parts[0].Snapshot.ID, src, ns, e.Base, ErrDamaged)
		}
		seen[e.Base] = true
		base, err := r.LoadSnapshot(ctx, e.Base)
		if err != nil {
			return nil, fmt.Errorf("backup %s builds on %s, which cannot "+
				"be read: %w", parts[0].Snapshot.ID, e.Base, err)
		}
		s = base
	}
}

// IndexEntry is what a change index records of one key.
type IndexEntry struct {
	Content codec.Hash
	// Seen is for the caller's bookkeeping during a fresh read.
	Seen bool
}

// LoadIndex returns the change index of one namespace as of the newest
// part of chain: key hash to content hash, replaying each incremental's
// index over its base. Memory grows by about 80 bytes per key.
func (r *Repo) LoadIndex(ctx context.Context,
	chain []Part) (map[codec.Hash]*IndexEntry, error) {
	idx := map[codec.Hash]*IndexEntry{}
	for i := len(chain) - 1; i >= 0; i-- {
		p := chain[i]
		for _, c := range p.Entry.Index {
			err := r.ReadChunk(ctx, p.Snapshot, c, func(rec *source.Record) error {
				kh := codec.KeyHash(rec.Key)
				if rec.Deleted {
					delete(idx, kh)
					return nil
				}
				if len(rec.Value) != len(codec.Hash{}) {
					return fmt.Errorf("index %s: entry of %d bytes: %w",
						c.Name, len(rec.Value), ErrDamaged)
				}
				idx[kh] = &IndexEntry{Content: codec.Hash(rec.Value)}
				return nil
			})
			if err != nil {
				return nil, err
			}
		}
	}
	return idx, nil
}

// IndexKeys calls fn with the key of every key hash in want that the
// namespace holds as of the newest part of chain. It lets an incremental
// recover the keys of deleted records without holding every key in
// memory. It reads the newest part first, so a key deleted by a later
// part is not reported from an earlier one.
func (r *Repo) IndexKeys(ctx context.Context, chain []Part,
	want map[codec.Hash]bool, fn func(key []byte) error) error {
	for i := 0; i < len(chain) && len(want) > 0; i++ {
		p := chain[i]
		for _, c := range p.Entry.Index {
			err := r.ReadChunk(ctx, p.Snapshot, c, func(rec *source.Record) error {
				kh := codec.KeyHash(rec.Key)
				if !want[kh] {
					return nil
				}
				delete(want, kh)
				if rec.Deleted {
					return nil
				}
				return fn(append([]byte(nil), rec.Key...))
			})
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// Newest returns the newest backup that holds the namespace and started
// at or before at; a zero at means any time.
func Newest(snaps []*Snapshot, src, ns string, at time.Time) *Snapshot {
	for i := len(snaps) - 1; i >= 0; i-- {
		s := snaps[i]
		if !at.IsZero() && s.Time.After(at) {
			continue
		}
		if _, ok := s.Entry(src, ns); ok {
			return s
		}
	}
	return nil
}
