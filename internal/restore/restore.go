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
	"sync"
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
	// Written, if set, is called with every record the restore sends
	// to the target (added, changed or deleted), before it is sent.
	// Drills use it to learn what the target must hold afterwards.
	Written func(it *Item, rec *source.Record)
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
	w := newWriters(ctx, it, opt, now, &res, began)
	var batch []source.Record
	var batchBytes int

	// Parts are read newest first, so the first record of a key is its
	// state at the restored moment and older ones are skipped.
	// Every restored key is remembered, to skip older records of a chain
	// and to count the target's extra keys at the end.
	newer := map[codec.Hash]struct{}{}
	apply := func(rec *source.Record) error {
		kh := codec.KeyHash(rec.Key)
		if _, ok := newer[kh]; ok {
			return nil
		}
		newer[kh] = struct{}{}
		kind, counted, err := w.classify(idx, rec)
		if err != nil {
			return err
		}
		if !counted || opt.DryRun ||
			(kind != Add && kind != Change && kind != Delete) {
			return nil
		}
		if opt.Written != nil {
			opt.Written(&it, rec)
		}
		batch = append(batch, *rec)
		batchBytes += len(rec.Key) + len(rec.Value) + len(rec.Metadata)
		if len(batch) >= opt.BatchRecords || batchBytes >= opt.BatchBytes {
			err := w.send(batch)
			batch, batchBytes = nil, 0
			return err
		}
		return nil
	}
	for _, p := range it.Parts {
		if err = r.ReadNamespace(ctx, p.Snapshot, p.Entry, apply); err != nil {
			break
		}
	}
	if err == nil && len(batch) > 0 {
		err = w.send(batch)
	}
	if werr := w.wait(); werr != nil {
		// A write error explains a cancelled read, so it comes first.
		err = werr
	}
	if err == nil {
		err = noteExtras(ctx, it.To, it.Namespace, idx, newer, &res.Diff)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	res.Elapsed = time.Since(began)
	return res, err
}

// writeWorkers returns how many batches are written at once: more than
// one only for targets that allow it, so decoding the next batch overlaps
// with the target storing the last. A restore holds at most one record of
// each key, so batches never race on a key.
func writeWorkers(t source.Source) int {
	if c, ok := t.(source.ConcurrentWriter); ok && c.WriteConcurrency() > 1 {
		return c.WriteConcurrency()
	}
	return 1
}

// writers sends batches to the target from its worker goroutines and
// folds their results into one Result.
type writers struct {
	target    Target
	namespace string
	workers   int
	batches   chan []source.Record
	errs      chan error
	ctx       context.Context
	cancel    context.CancelFunc
	mode      source.WriteMode
	now       time.Time

	mu  sync.Mutex
	res *Result
}

func newWriters(ctx context.Context, it Item, opt Options, now time.Time,
	res *Result, began time.Time) *writers {
	ctx, cancel := context.WithCancel(ctx)
	n := writeWorkers(it.To.Src)
	w := &writers{
		target:    it.To,
		namespace: it.Namespace,
		workers:   n,
		batches:   make(chan []source.Record, n),
		errs:      make(chan error, n),
		ctx:       ctx,
		cancel:    cancel,
		mode:      opt.Mode,
		now:       now,
		res:       res,
	}
	for range n {
		go func() {
			var failed error
			for b := range w.batches {
				if failed != nil {
					continue // keep receiving until close, so no send waits forever
				}
				wr, err := it.To.Src.Write(ctx, it.Namespace, b, opt.Mode, now)
				if err != nil {
					failed = fmt.Errorf("restore %s/%s into %s/%s: %w",
						res.Source, res.Namespace, res.Target, res.ToNS, err)
					cancel()
					continue
				}
				w.mu.Lock()
				res.add(wr)
				res.Elapsed = time.Since(began)
				if opt.Progress != nil {
					opt.Progress(*res)
				}
				w.mu.Unlock()
			}
			w.errs <- failed
		}()
	}
	return w
}

// classify notes what restoring rec does, under the result's lock.
func (w *writers) classify(idx targetIndex, rec *source.Record) (Kind,
	bool, error) {
	kind, counted, bytesOnly := idx.classify(rec, w.mode, w.now)
	if bytesOnly {
		same, err := w.sameValue(rec)
		if err != nil {
			return kind, false, err
		}
		if same {
			kind = Unchanged
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if !rec.Deleted {
		w.res.Records++
	}
	if counted {
		w.res.Diff.note(kind, rec.Key)
	}
	return kind, counted, nil
}

// sameValue reports whether a target whose value bytes can differ for
// equal data (Redis) already contains rec's data. For other targets it
// returns false.
func (w *writers) sameValue(rec *source.Record) (bool, error) {
	cmp, ok := w.target.Src.(source.ValueComparer)
	if !ok {
		return false, nil
	}
	same, err := cmp.SameValue(w.ctx, w.namespace, rec.Key, rec.Value)
	if err != nil {
		return false, fmt.Errorf("compare key %+q with the target: %w",
			rec.Key, err)
	}
	return same, nil
}

// send queues a batch; it fails once a worker has failed, so the reading
// stops early.
func (w *writers) send(b []source.Record) error {
	select {
	case w.batches <- b:
		return nil
	case <-w.ctx.Done():
		return w.ctx.Err()
	}
}

// wait closes the queue and returns the first write error.
func (w *writers) wait() error {
	close(w.batches)
	var first error
	for range w.workers {
		if err := <-w.errs; err != nil && first == nil {
			first = err
		}
	}
	w.cancel()
	return first
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
