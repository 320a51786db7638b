// Package restore writes records from a repository back into sources.
//
// Restores stream: records flow chunk by chunk from the repository into
// batches of writes, so memory does not grow with the namespace. A
// restore never deletes and, unless the caller asks for Replace, never
// overwrites a key that already exists in the target.
package restore

import (
	"context"
	"fmt"
	"time"

	"github.com/lifeline-backup/lifeline/internal/codec"
	"github.com/lifeline-backup/lifeline/internal/repo"
	"github.com/lifeline-backup/lifeline/internal/source"
)

// Target is a configured source that records are written into.
type Target struct {
	Name string
	Type string
	Src  source.Source
}

// Item is one namespace of a backup and where it goes.
type Item struct {
	// Parts builds the namespace's state: the newest backup first, then
	// each base down to a full backup. A full backup has one part.
	Parts []repo.Part
	// To is the target source, and Namespace the namespace in it.
	To        Target
	Namespace string
}

// Options configures a restore.
type Options struct {
	Mode source.WriteMode
	// Now returns the current time; records that expire at or before it
	// are not written.
	Now func() time.Time
	// BatchRecords and BatchBytes bound one Write call.
	BatchRecords int
	BatchBytes   int
	// DryRun computes the diff and writes nothing.
	DryRun bool
	// Progress, if set, is called after every batch.
	Progress func(Result)
}

// SampleSize is how many keys of each kind a Result keeps.
const SampleSize = 10

// Result counts what a restore did to one namespace.
type Result struct {
	Source    string
	Namespace string
	Target    string
	ToNS      string
	// Records counts the records read from the backup.
	Records int64
	// Written counts the records the target accepted.
	Written int64
	// Diff classifies every record against what the target held.
	Diff    Diff
	Elapsed time.Duration
}

// Run restores the items, one namespace after another.
func Run(ctx context.Context, r *repo.Repo, items []Item,
	opt Options) ([]Result, error) {
	opt = withDefaults(opt)
	var results []Result
	for _, it := range items {
		res, err := restoreItem(ctx, r, it, opt)
		results = append(results, res)
		if err != nil {
			return results, err
		}
	}
	return results, nil
}

func withDefaults(opt Options) Options {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.BatchRecords <= 0 {
		opt.BatchRecords = 1000
	}
	if opt.BatchBytes <= 0 {
		opt.BatchBytes = 8 << 20
	}
	return opt
}

func restoreItem(ctx context.Context, r *repo.Repo, it Item,
	opt Options) (Result, error) {
	began := time.Now()
	entry := it.Parts[0].Entry
	res := Result{
		Source: entry.Source, Namespace: entry.Namespace,
		Target: it.To.Name, ToNS: it.Namespace,
	}
	idx, err := readTarget(ctx, it.To, it.Namespace)
	if err != nil {
		return res, err
	}
	now := opt.Now()
	var batch []source.Record
	var batchBytes int
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		wr, err := it.To.Src.Write(ctx, it.Namespace, batch, opt.Mode, now)
		if err != nil {
			return fmt.Errorf("restore %s/%s into %s/%s: %w",
				res.Source, res.Namespace, res.Target, res.ToNS, err)
		}
		res.add(wr)
		batch, batchBytes = batch[:0], 0
		res.Elapsed = time.Since(began)
		if opt.Progress != nil {
			opt.Progress(res)
		}
		return nil
	}

	// Parts are read newest first, so the first record of a key is its
	// state at the restored moment and older ones are skipped.
	var newer map[codec.Hash]struct{}
	if len(it.Parts) > 1 {
		newer = map[codec.Hash]struct{}{}
	}
	apply := func(rec *source.Record) error {
		if newer != nil {
			kh := codec.KeyHash(rec.Key)
			if _, ok := newer[kh]; ok {
				return nil
			}
			newer[kh] = struct{}{}
		}
		if !rec.Deleted {
			res.Records++
		}
		kind, counted := idx.classify(rec, opt.Mode, now)
		if !counted {
			return nil
		}
		res.Diff.note(kind, rec.Key)
		if opt.DryRun || (kind != Add && kind != Change && kind != Delete) {
			return nil
		}
		batch = append(batch, *rec)
		batchBytes += len(rec.Key) + len(rec.Value) + len(rec.Metadata)
		if len(batch) >= opt.BatchRecords || batchBytes >= opt.BatchBytes {
			return flush()
		}
		return nil
	}
	for _, p := range it.Parts {
		if err = r.ReadNamespace(ctx, p.Snapshot, p.Entry, apply); err != nil {
			break
		}
	}
	if err == nil {
		err = flush()
	}
	res.Elapsed = time.Since(began)
	return res, err
}

// add counts a write. Keys the target gained after readTarget indexed it
// come back as conflicts, so they move from Add to Conflict.
func (res *Result) add(wr source.WriteResult) {
	res.Written += wr.Written
	for _, k := range wr.Conflicts {
		res.Diff.Counts[Add]--
		res.Diff.note(Conflict, k)
	}
}
