package repo

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"

	"github.com/lifeline-backup/lifeline/internal/blob"
	"github.com/lifeline-backup/lifeline/internal/codec"
	"github.com/lifeline-backup/lifeline/internal/source"
)

// CheckOptions sets how deeply Check reads.
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
	// Backups lists the ids of the backups the defect affects: the
	// backup that names the object and, unless the object is a change
	// index chunk, every incremental whose chain builds on it, because
	// none of them can be restored. A damaged index chunk leaves its
	// backup restorable but stops incrementals from building on it. It
	// is empty for an object that belongs to no backup, such as a key
	// check, a lock or a drill result.
	Backups []string
	Err     error

	// namespace is "source/namespace" when the defect touches only that
	// namespace of its backup; empty means every namespace.
	namespace string
	// index marks a change index chunk, which restores do not read.
	index bool
}

func (p Problem) Error() string {
	return fmt.Sprintf("%s (affects backup %v): %v", p.Object, p.Backups,
		p.Err)
}

// CheckResult is the outcome of Check.
type CheckResult struct {
	Backups       int
	ObjectsListed int
	ObjectsRead   int
	RecordsRead   int64
	Problems      []Problem
}

// Check verifies that every manifest decrypts, that every object it
// names exists with its recorded size, and that every backup an
// incremental builds on exists. It reads a share of the chunks in full,
// and also reads key checks, lock objects and drill results. A defect in
// a backup is reported with every incremental built on it. After
// SetRetention, on a store with retention dates, it also reports each
// backup whose objects are not locked as long as the retention requires,
// with ErrNotLocked.
func (r *Repo) Check(ctx context.Context, opt CheckOptions) (*CheckResult, error) {
	ids, err := r.SnapshotIDs(ctx)
	if err != nil {
		return nil, err
	}
	res := &CheckResult{Backups: len(ids)}
	res.Problems = append(res.Problems, r.keyCheckProblems...)
	var loaded []*Snapshot
	for _, id := range ids {
		// Check reads every manifest afresh: a cached copy would hide
		// damage done since it was loaded.
		s, err := r.loadSnapshot(ctx, id)
		if err != nil {
			res.Problems = append(res.Problems, Problem{
				Object: r.manifestObject(ctx, id), Backups: []string{id},
				Err: err,
			})
			continue
		}
		loaded = append(loaded, s)
		r.checkSnapshot(ctx, s, opt, res)
		r.checkRetention(ctx, s, res)
		if err := ctx.Err(); err != nil {
			return res, err
		}
	}
	res.Problems = append(res.Problems, missingBases(ids, loaded)...)
	addDependents(res.Problems, loaded)
	if err := r.checkPlain(ctx, res); err != nil {
		return res, err
	}
	return res, nil
}

// manifestObject names the object that keeps a backup's manifest from
// loading: a data key wrap when no wrap opens, else the manifest.
func (r *Repo) manifestObject(ctx context.Context, id string) string {
	if _, err := r.dataKey(ctx, id); err == nil {
		return snapshotName(id)
	}
	var wraps []string
	for info, err := range r.store.List(ctx, "wraps/"+id+"/") {
		if err != nil {
			break
		}
		keyID := info.Name[strings.LastIndex(info.Name, "/")+1:]
		if _, ok := r.keys.Get(keyID); ok {
			return info.Name
		}
		wraps = append(wraps, info.Name)
	}
	if len(wraps) == 1 {
		return wraps[0]
	}
	return "wraps/" + id + "/"
}

// missingBases reports each backup that an incremental builds on and
// that is not in the repository at all.
func missingBases(ids []string, loaded []*Snapshot) []Problem {
	var out []Problem
	reported := map[string]bool{}
	for _, s := range loaded {
		for _, e := range s.Entries {
			if e.Base == "" || slices.Contains(ids, e.Base) ||
				reported[e.Base] {
				continue
			}
			reported[e.Base] = true
			out = append(out, Problem{
				Object: snapshotName(e.Base), Backups: []string{e.Base},
				Err: fmt.Errorf("missing: backup %s builds on it",
					s.ID),
			})
		}
	}
	return out
}

// addDependents adds to each problem's backups every incremental whose
// chain builds on an affected backup, following the namespace when the
// problem touches only one.
func addDependents(problems []Problem, loaded []*Snapshot) {
	for i := range problems {
		p := &problems[i]
		if len(p.Backups) == 0 || p.index {
			continue
		}
		affected := map[string]bool{}
		for _, id := range p.Backups {
			affected[id] = true
		}
		for grew := true; grew; {
			grew = false
			for _, s := range loaded {
				if affected[s.ID] {
					continue
				}
				for _, e := range s.Entries {
					ns := e.Source + "/" + e.Namespace
					if e.Base != "" && affected[e.Base] &&
						(p.namespace == "" || p.namespace == ns) {
						affected[s.ID] = true
						p.Backups = append(p.Backups, s.ID)
						grew = true
						break
					}
				}
			}
		}
	}
}

func (r *Repo) checkSnapshot(ctx context.Context, s *Snapshot,
	opt CheckOptions, res *CheckResult) {
	for _, e := range s.Entries {
		ns := e.Source + "/" + e.Namespace
		fail := func(name string, err error) {
			res.Problems = append(res.Problems, Problem{
				Object: name, Backups: []string{s.ID}, Err: err,
				namespace: ns, index: contains(e.Index, name),
			})
		}
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

// checkPlain reads the objects that belong to no backup: lock objects,
// which every backup and prune reads, and drill results.
func (r *Repo) checkPlain(ctx context.Context, res *CheckResult) error {
	for info, err := range r.store.List(ctx, "locks/") {
		if err != nil {
			return fmt.Errorf("list locks: %w", err)
		}
		if _, err := r.readLock(ctx, info.Name); err != nil &&
			!errors.Is(err, blob.ErrNotFound) {
			res.Problems = append(res.Problems, Problem{Object: info.Name,
				Err: fmt.Errorf("%w; it blocks backups and prune until "+
					"'lifeline unlock --force' removes it", err)})
		}
	}
	for info, err := range r.store.List(ctx, "drills/") {
		if err != nil {
			return fmt.Errorf("list drill results: %w", err)
		}
		keyID := info.Name[strings.LastIndex(info.Name, "/")+1:]
		k, ok := r.keys.Get(keyID)
		if !ok {
			continue // sealed under a key the keyring lacks, not damaged
		}
		if _, err := r.getSealed(ctx, k.Bytes(), info.Name); err != nil {
			res.Problems = append(res.Problems, Problem{Object: info.Name,
				Err: err})
		}
	}
	return nil
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
