// Package backup reads namespaces from sources and writes them into a
// repository as one backup.
//
// It decides what to read and in what order; the repository format lives
// in package repo and the sources in the adapters under package source.
package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/lifeline-backup/lifeline/internal/codec"
	"github.com/lifeline-backup/lifeline/internal/repo"
	"github.com/lifeline-backup/lifeline/internal/source"
)

// Source is one configured source to back up.
type Source struct {
	Name string
	Type string
	Src  source.Source
	// Namespaces limits the backup to these namespaces; nil means all.
	Namespaces []string
}

// Progress reports the state of one namespace during a backup.
type Progress struct {
	Source    string
	Namespace string
	Records   int64
	// Tombstones counts deleted keys an incremental recorded.
	Tombstones int64
	Bytes      int64
	// Full is set when an incremental found no earlier backup of the
	// namespace and took a full one.
	Full bool
	// FeedErr is the error, such as an expired cursor, that made an
	// incremental compare a full read with the change index instead of
	// asking the source's change feed.
	FeedErr error
	Done    bool
	Err     error
	Elapsed time.Duration
}

// Options configures a backup run.
type Options struct {
	Tier        repo.Tier
	Compression codec.Compression
	// Now returns the current time; it sets the backup's time.
	Now func() time.Time
	// Parallel is how many namespaces are read at once; default 4.
	Parallel int
	// Progress, if set, receives progress from several goroutines.
	Progress func(Progress)
}

// SourceError is the failure of one source or namespace in a backup.
type SourceError struct {
	Source    string
	Namespace string
	Err       error
}

func (e *SourceError) Error() string {
	if e.Namespace == "" {
		return fmt.Sprintf("back up source %q: %v", e.Source, e.Err)
	}
	return fmt.Sprintf("back up %s/%s: %v", e.Source, e.Namespace, e.Err)
}

func (e *SourceError) Unwrap() error { return e.Err }

// ErrNothingBackedUp is returned when no namespace could be backed up, so
// no backup was committed.
var ErrNothingBackedUp = errors.New("no namespace was backed up")

// Run backs up the sources into one backup. Namespaces that fail are left
// out and reported in the returned error; the others are committed, so one
// unreachable source does not cost the backups of the rest. The manifest
// is nil only when nothing was committed.
func Run(ctx context.Context, r *repo.Repo, sources []Source,
	opt Options) (*repo.Manifest, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Parallel <= 0 {
		opt.Parallel = 4
	}
	// A shared lock lets backups run together but keeps prune and key
	// rewrap, which take exclusive locks, away while objects are written.
	lock, err := r.Lock(ctx, "backup", false, opt.Now)
	if err != nil {
		return nil, err
	}
	defer lock.Unlock(context.WithoutCancel(ctx))
	start := opt.Now()
	w, err := r.NewWriter(opt.Tier, start, opt.Compression)
	if err != nil {
		return nil, err
	}

	jobs, errs := plan(ctx, sources)
	var earlier []*repo.Snapshot
	if opt.Tier == repo.Incremental {
		// A damaged manifest only means its namespaces get a full
		// backup here, so the errors of the bad ones are not fatal.
		earlier, _, err = r.Snapshots(ctx)
		if err != nil {
			return nil, err
		}
	}
	done, jobErrs := runJobs(ctx, &run{repo: r, w: w, opt: opt,
		earlier: earlier}, jobs)
	errs = append(errs, jobErrs...)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("backup interrupted, nothing committed: %w",
			err)
	}
	if done == 0 {
		return nil, fmt.Errorf("%w: %w", ErrNothingBackedUp,
			errors.Join(errs...))
	}
	if err := lock.Check(ctx); err != nil {
		return nil, fmt.Errorf("backup not committed: %w", err)
	}
	m, err := w.Commit(ctx, opt.Now())
	if err != nil {
		return nil, err
	}
	return m, errors.Join(errs...)
}

type job struct {
	src Source
	ns  string
}

// plan lists the namespaces to read. A source that cannot list its
// namespaces, or lacks a requested one, becomes an error.
func plan(ctx context.Context, sources []Source) ([]job, []error) {
	var jobs []job
	var errs []error
	for _, s := range sources {
		all, err := s.Src.Namespaces(ctx)
		if err != nil {
			errs = append(errs, &SourceError{Source: s.Name, Err: err})
			continue
		}
		want := s.Namespaces
		if want == nil {
			want = all
		}
		for _, ns := range want {
			if !containsString(all, ns) {
				errs = append(errs, &SourceError{Source: s.Name,
					Namespace: ns, Err: source.ErrUnknownNamespace})
				continue
			}
			jobs = append(jobs, job{src: s, ns: ns})
		}
	}
	return jobs, errs
}

// run is the state one backup run shares between its namespaces.
type run struct {
	repo    *repo.Repo
	w       *repo.Writer
	opt     Options
	earlier []*repo.Snapshot
}

// runJobs reads the namespaces, at most opt.Parallel at once, and returns
// how many succeeded and the failures.
func runJobs(ctx context.Context, rn *run, jobs []job) (int, []error) {
	opt := rn.opt
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		done int
		errs []error
		sem  = make(chan struct{}, opt.Parallel)
	)
	for _, j := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			err := rn.namespace(ctx, j)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, &SourceError{Source: j.src.Name,
					Namespace: j.ns, Err: err})
				return
			}
			done++
		}()
	}
	wg.Wait()
	return done, errs
}

func (rn *run) namespace(ctx context.Context, j job) error {
	began := time.Now()
	p := Progress{Source: j.src.Name, Namespace: j.ns}
	report := func() {
		if rn.opt.Progress != nil {
			p.Elapsed = time.Since(began)
			rn.opt.Progress(p)
		}
	}

	rd, err := rn.openRead(ctx, j)
	if err != nil {
		return err
	}
	defer rd.it.Close()
	p.Full = rn.opt.Tier == repo.Incremental && rd.base == ""
	p.FeedErr = rd.feedErr
	nw := rn.w.Namespace(j.src.Name, j.src.Type, j.ns, rd.base)
	for {
		rec, err := rd.it.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			p.Err = err
			report()
			return err
		}
		if rd.delta != nil && !rd.delta.changed(rec) {
			continue
		}
		if rec.Deleted && rd.unchecked != nil {
			rd.unchecked[codec.KeyHash(rec.Key)] = true
			continue
		}
		added, err := nw.Add(ctx, rec)
		if err != nil {
			return err
		}
		if added {
			p.Records++
			p.Bytes += int64(len(rec.Key) + len(rec.Value))
			if p.Records%10000 == 0 {
				report()
			}
		}
	}
	if c, ok := rd.it.(source.Cursored); ok {
		nw.SetCursor(c.Cursor())
	}
	if len(rd.unchecked) > 0 {
		n, err := rn.checkedTombstones(ctx, j, rd, nw)
		if err != nil {
			return err
		}
		p.Tombstones = n
	}
	if rd.delta != nil {
		n, err := rd.delta.tombstones(ctx, rn.repo, nw)
		if err != nil {
			return err
		}
		p.Tombstones = n
	}
	if _, err := nw.Close(ctx); err != nil {
		return err
	}
	p.Done = true
	report()
	return nil
}

// reading is the plan for reading one namespace: the iterator, the
// backup an incremental builds on, and the change index to compare
// against when the source has no change feed.
type reading struct {
	it    source.Iterator
	base  string
	delta *delta
	// parent is the backup an incremental builds on.
	parent *repo.Snapshot
	// unchecked collects the key hashes of a change feed's tombstones
	// that may name keys the namespace never held.
	unchecked map[codec.Hash]bool
	// feedErr is the error that kept the change feed from being used.
	feedErr error
}

// openRead picks how to read a namespace. A full backup reads it whole.
// An incremental asks a source with a change feed for the changes after
// the cursor of the namespace's newest backup; otherwise, or when that
// cursor has expired, it reads the namespace whole and compares it with
// the change index.
func (rn *run) openRead(ctx context.Context, j job) (*reading, error) {
	var parent *repo.Snapshot
	if rn.opt.Tier == repo.Incremental {
		parent = repo.Newest(rn.earlier, j.src.Name, j.ns, rn.w.Start())
	}
	if parent == nil {
		it, err := j.src.Src.Read(ctx, j.ns)
		return &reading{it: it}, err
	}
	rd := &reading{base: parent.ID, parent: parent}
	entry, _ := parent.Entry(j.src.Name, j.ns)
	if feed, ok := j.src.Src.(source.ChangeFeed); ok && entry.Cursor != nil {
		it, err := feed.Changes(ctx, j.ns, entry.Cursor)
		if err == nil {
			rd.it = it
			if u, ok := it.(source.UncheckedTombstones); ok &&
				u.UncheckedTombstones() {
				rd.unchecked = map[codec.Hash]bool{}
			}
			return rd, nil
		}
		if !errors.Is(err, source.ErrCursorExpired) {
			return nil, err
		}
		rd.feedErr = err
	}
	d, err := rn.loadDelta(ctx, j, parent)
	if err != nil {
		return nil, err
	}
	rd.delta = d
	rd.it, err = j.src.Src.Read(ctx, j.ns)
	return rd, err
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
