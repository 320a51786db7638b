package repo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lifeline-backup/lifeline/internal/blob"
)

// ErrNotLocked is the error of a Check problem for a backup whose
// objects lack the retention date that SetRetention requires.
var ErrNotLocked = errors.New("objects are not locked")

// SetRetention makes the repository store every object of a backup
// (chunks, index chunks, data key wraps and manifest) with a retention
// date: the backup's start plus retain(tier). Copy does the same for
// the backups it stores in r, by each backup's tier and start. Only
// stores that support retention dates (S3 Object Lock) apply them.
//
// Lock objects, key checks, the config and drill results get no
// retention date, because lock objects must stay deletable and the
// others belong to no backup. A nil retain turns retention off.
func (r *Repo) SetRetention(retain func(Tier) time.Duration) {
	r.retain = retain
}

// retainContext returns ctx carrying the retention date of the objects
// of a backup of the tier that started at start.
func (r *Repo) retainContext(ctx context.Context, tier Tier,
	start time.Time) context.Context {
	if r.retain == nil {
		return ctx
	}
	return blob.WithRetainUntil(ctx, start.Add(r.retain(tier)))
}

// RetainedError is returned by DeleteSnapshot and DeleteObjects when
// the store rejected deleting some objects because their retention
// date (S3 Object Lock) has not passed. Every other object was deleted.
// errors.Is(err, blob.ErrLocked) reports true.
type RetainedError struct {
	// Kept lists the objects left in place.
	Kept []blob.Info
	// Until is the latest retention date of Kept, or zero when the
	// store does not report retention dates.
	Until time.Time
	// Backup is the id of a backup kept whole because its manifest is
	// locked. It is empty when the backup was deleted and only some of
	// its objects were kept: a later prune removes those as unnamed
	// objects.
	Backup string
}

func (e *RetainedError) Error() string {
	until := ""
	if !e.Until.IsZero() {
		until = " until " + e.Until.UTC().Format(time.RFC3339)
	}
	if e.Backup != "" {
		return fmt.Sprintf("backup %s kept: its manifest is locked%s",
			e.Backup, until)
	}
	return fmt.Sprintf("%d objects kept: locked%s", len(e.Kept), until)
}

// Unwrap returns blob.ErrLocked.
func (e *RetainedError) Unwrap() error { return blob.ErrLocked }

// retained builds the error for objects whose deletion the store
// rejected. probe lists the objects whose retention dates are read to
// find the latest.
func (r *Repo) retained(ctx context.Context, kept, probe []blob.Info,
	backup string) *RetainedError {
	e := &RetainedError{Kept: kept, Backup: backup}
	rr, ok := blob.AsRetentionReader(r.store)
	if !ok {
		return e
	}
	for _, o := range probe {
		// A failed read leaves Until at an earlier date, which only
		// shortens a message.
		_, until, err := rr.Retention(ctx, o.Name)
		if err == nil && until.After(e.Until) {
			e.Until = until
		}
	}
	return e
}

// checkRetention reports, as one problem, a backup with objects that
// have no retention date or one earlier than SetRetention requires.
// It does nothing without SetRetention or on a store without retention
// dates.
func (r *Repo) checkRetention(ctx context.Context, s *Snapshot,
	res *CheckResult) {
	rr, ok := blob.AsRetentionReader(r.store)
	if r.retain == nil || !ok {
		return
	}
	objs, err := r.Objects(ctx, s)
	if err != nil {
		// The object checks already report what is missing.
		return
	}
	// Retention dates travel in whole seconds (RFC 3339).
	want := s.Time.Add(r.retain(s.Tier)).Truncate(time.Second)
	var short []string
	for _, o := range objs {
		_, until, err := rr.Retention(ctx, o.Name)
		if err != nil || until.Before(want) {
			short = append(short, o.Name)
		}
	}
	if len(short) == 0 {
		return
	}
	res.Problems = append(res.Problems, Problem{
		Object:  short[0],
		Backups: []string{s.ID},
		Err: fmt.Errorf("%w: %d of %d objects of the backup, such as "+
			"this one, have no retention date or one before %s",
			ErrNotLocked, len(short), len(objs),
			want.UTC().Format(time.RFC3339)),
	})
}
