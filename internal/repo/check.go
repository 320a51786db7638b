package repo

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"

	"github.com/lifeline-backup/lifeline/internal/blob"
	"github.com/lifeline-backup/lifeline/internal/codec"
	"github.com/lifeline-backup/lifeline/internal/source"
)

// CheckOptions says how deeply Check reads.
type CheckOptions struct {
	// ReadPercent is the share of chunk objects, from 0 to 100, that are
	// decrypted and decoded. 0 only checks that every object exists with
	// its recorded size. The subset is chosen by object name, so
	// repeated runs with the same percentage read the same objects.
	ReadPercent float64
}

// Problem is one defect found by Check.
type Problem struct {
	// Object is the name of the missing or damaged object.
	Object string
	// Backups lists the ids of the backups that the defect makes
	// unrestorable.
	Backups []string
	Err     error
}

func (p Problem) Error() string {
	return fmt.Sprintf("%s (affects backup %v): %v", p.Object, p.Backups,
		p.Err)
}

// CheckResult is what Check found.
type CheckResult struct {
	Backups       int
	ObjectsListed int
	ObjectsRead   int
	RecordsRead   int64
	Problems      []Problem
}

// Check verifies that every manifest decrypts and every object it names
// exists with its recorded size, and reads a share of the chunks in full.
// After SetRetention, on a store with retention dates, it also reports
// each backup whose objects are not locked as long as the retention
// asks, with ErrNotLocked.
func (r *Repo) Check(ctx context.Context, opt CheckOptions) (*CheckResult, error) {
	ids, err := r.SnapshotIDs(ctx)
	if err != nil {
		return nil, err
	}
	res := &CheckResult{Backups: len(ids)}
	for _, id := range ids {
		// Check reads every manifest afresh: a cached copy would hide
		// damage done since it was loaded.
		s, err := r.loadSnapshot(ctx, id)
		if err != nil {
			res.Problems = append(res.Problems, Problem{
				Object: snapshotName(id), Backups: []string{id}, Err: err,
			})
			continue
		}
		r.checkSnapshot(ctx, s, opt, res)
		r.checkRetention(ctx, s, res)
		if err := ctx.Err(); err != nil {
			return res, err
		}
	}
	return res, nil
}

func (r *Repo) checkSnapshot(ctx context.Context, s *Snapshot,
	opt CheckOptions, res *CheckResult) {
	fail := func(name string, err error) {
		res.Problems = append(res.Problems, Problem{
			Object: name, Backups: []string{s.ID}, Err: err,
		})
	}
	for _, e := range s.Entries {
		readAll := opt.ReadPercent >= 100
		var sum codec.Sum
		for _, c := range append(append([]Chunk{}, e.Chunks...), e.Index...) {
			res.ObjectsListed++
			info, err := r.store.Stat(ctx, c.Name)
			if errors.Is(err, blob.ErrNotFound) {
				fail(c.Name, fmt.Errorf("missing"))
				readAll = false
				continue
			}
			if err != nil {
				fail(c.Name, err)
				readAll = false
				continue
			}
			if info.Size != c.Size {
				fail(c.Name, fmt.Errorf("size is %d bytes, the manifest "+
					"says %d: %w", info.Size, c.Size, ErrDamaged))
				readAll = false
				continue
			}
			if !selected(c.Name, opt.ReadPercent) {
				continue
			}
			res.ObjectsRead++
			isData := contains(e.Chunks, c.Name)
			err = r.ReadChunk(ctx, s, c, func(rec *source.Record) error {
				res.RecordsRead++
				if isData {
					sum.Add(codec.RecordHash(rec.Key, codec.ContentHash(rec)))
				}
				return nil
			})
			if err != nil {
				fail(c.Name, err)
				readAll = false
			}
		}
		if readAll && sum.String() != e.Hash {
			fail(snapshotName(s.ID), fmt.Errorf("records of %s/%s do not "+
				"match the manifest's content hash: %w", e.Source,
				e.Namespace, ErrDamaged))
		}
	}
}

func contains(chunks []Chunk, name string) bool {
	for _, c := range chunks {
		if c.Name == name {
			return true
		}
	}
	return false
}

// selected reports whether an object falls in the read subset.
func selected(name string, percent float64) bool {
	if percent >= 100 {
		return true
	}
	if percent <= 0 {
		return false
	}
	h := fnv.New32a()
	h.Write([]byte(name))
	return float64(h.Sum32()%10000) < percent*100
}
