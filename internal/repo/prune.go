package repo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lifeline-backup/lifeline/internal/blob"
)

// Objects returns the names of every object that belongs to backup s:
// its chunks, index chunks, data key wraps and manifest, manifest last.
func (r *Repo) Objects(ctx context.Context, s *Snapshot) ([]blob.Info, error) {
	var out []blob.Info
	for _, e := range s.Entries {
		for _, c := range append(append([]Chunk{}, e.Chunks...), e.Index...) {
			out = append(out, blob.Info{Name: c.Name, Size: c.Size})
		}
	}
	for info, err := range r.store.List(ctx, "wraps/"+s.ID+"/") {
		if err != nil {
			return nil, fmt.Errorf("list data keys of backup %s: %w",
				s.ID, err)
		}
		out = append(out, info)
	}
	info, err := r.store.Stat(ctx, snapshotName(s.ID))
	if err != nil {
		return nil, fmt.Errorf("backup %s: %w", s.ID, err)
	}
	return append(out, info), nil
}

// DeleteSnapshot removes a backup: its manifest first, so it stops being
// a backup at once, then the rest of its objects. The lock is checked
// before the first deletion. An interruption leaves only objects that no
// manifest names, which Orphans finds later.
//
// When the store rejects deleting the manifest because of its
// retention date, nothing is deleted and the error is a
// *RetainedError naming the backup. Other objects whose deletion is
// rejected that way are skipped and returned in a *RetainedError after
// the rest is deleted.
func (r *Repo) DeleteSnapshot(ctx context.Context, s *Snapshot,
	l *Lock) (int64, error) {
	objs, err := r.Objects(ctx, s)
	if err != nil {
		return 0, err
	}
	if err := l.Check(ctx); err != nil {
		return 0, err
	}
	manifest := objs[len(objs)-1]
	err = r.delete(ctx, manifest.Name)
	if errors.Is(err, blob.ErrLocked) {
		return 0, r.retained(ctx, objs, objs[len(objs)-1:], s.ID)
	}
	if err != nil {
		return 0, err
	}
	r.forgetSnapshot(s.ID)
	freed := manifest.Size
	var kept []blob.Info
	for _, o := range objs[:len(objs)-1] {
		err := r.delete(ctx, o.Name)
		if errors.Is(err, blob.ErrLocked) {
			kept = append(kept, o)
			continue
		}
		if err != nil {
			return freed, err
		}
		freed += o.Size
	}
	if len(kept) > 0 {
		return freed, r.retained(ctx, kept, kept, "")
	}
	return freed, nil
}

func (r *Repo) delete(ctx context.Context, name string) error {
	err := r.store.Delete(ctx, name)
	if err != nil && !errors.Is(err, blob.ErrNotFound) {
		return fmt.Errorf("delete %s: %w", name, err)
	}
	return nil
}

// ErrUnreadableBackups is returned by Orphans when a manifest cannot be
// read: its objects cannot be told apart from orphans, so none are
// removed.
var ErrUnreadableBackups = errors.New("some backups cannot be read")

// Orphans lists the data, index and data key objects that no backup
// names and that were stored before olderThan. Objects of a backup being
// written are not named by any manifest yet, so the cut-off must leave
// them alone: callers pass now minus a grace period.
func (r *Repo) Orphans(ctx context.Context,
	olderThan time.Time) ([]blob.Info, error) {
	snaps, bad, err := r.Snapshots(ctx)
	if err != nil {
		return nil, err
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("%w (%w); run 'lifeline check' and remove "+
			"or repair them before unnamed objects can be collected",
			ErrUnreadableBackups, errors.Join(bad...))
	}
	named := map[string]bool{}
	ids := map[string]bool{}
	for _, s := range snaps {
		ids[s.ID] = true
		for _, e := range s.Entries {
			for _, c := range append(append([]Chunk{}, e.Chunks...), e.Index...) {
				named[c.Name] = true
			}
		}
	}
	var out []blob.Info
	for _, prefix := range []string{"data/", "index/", "wraps/"} {
		for info, err := range r.store.List(ctx, prefix) {
			if err != nil {
				return nil, fmt.Errorf("list %s: %w", prefix, err)
			}
			if named[info.Name] || !info.ModTime.Before(olderThan) {
				continue
			}
			if prefix == "wraps/" && ids[wrapSnapshot(info.Name)] {
				continue
			}
			out = append(out, info)
		}
	}
	return out, nil
}

func wrapSnapshot(name string) string {
	id, _, _ := strings.Cut(strings.TrimPrefix(name, "wraps/"), "/")
	return id
}

// DeleteObjects removes objects, checking the lock before each one.
// Objects whose deletion the store rejects because of their retention
// date are skipped and returned in a *RetainedError after the rest is
// deleted.
func (r *Repo) DeleteObjects(ctx context.Context, objs []blob.Info,
	l *Lock) (int64, error) {
	var freed int64
	var kept []blob.Info
	for _, o := range objs {
		if err := l.Check(ctx); err != nil {
			return freed, err
		}
		err := r.delete(ctx, o.Name)
		if errors.Is(err, blob.ErrLocked) {
			kept = append(kept, o)
			continue
		}
		if err != nil {
			return freed, err
		}
		freed += o.Size
	}
	if len(kept) > 0 {
		return freed, r.retained(ctx, kept, kept, "")
	}
	return freed, nil
}
