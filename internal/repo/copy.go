package repo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/lifeline-backup/lifeline/internal/blob"
	"github.com/lifeline-backup/lifeline/internal/seal"
)

// CopyResult counts what Copy did.
type CopyResult struct {
	Copied  []string
	Skipped []string
	// Objects and Bytes count the objects stored in the destination.
	Objects int
	Bytes   int64
}

// Copy copies backups, with every backup their chains build on, from r
// to dst. Each copied backup gets a new data key wrapped under dst's
// first key, and every object is re-sealed under it, so no key of r
// opens anything in dst. A backup dst already has is skipped, so
// repeated copies transfer only new backups.
//
// The wrap is stored first and the manifest last: an interrupted copy
// leaves objects that the next run finds and keeps, because it reuses
// the wrapped data key.
func (r *Repo) Copy(ctx context.Context, dst *Repo, ids []string,
	progress func(id string)) (CopyResult, error) {
	var res CopyResult
	order, err := r.withBases(ctx, ids)
	if err != nil {
		return res, err
	}
	for _, s := range order {
		if _, err := dst.store.Stat(ctx, snapshotName(s.ID)); err == nil {
			res.Skipped = append(res.Skipped, s.ID)
			continue
		}
		if err := r.copyOne(ctx, dst, s, &res); err != nil {
			return res, fmt.Errorf("copy backup %s to %s: %w", s.ID,
				dst.store, err)
		}
		res.Copied = append(res.Copied, s.ID)
		if progress != nil {
			progress(s.ID)
		}
	}
	return res, nil
}

// withBases returns the backups and every backup their chains build on,
// oldest first, so a base is always copied before what builds on it.
func (r *Repo) withBases(ctx context.Context, ids []string) ([]*Snapshot,
	error) {
	seen := map[string]*Snapshot{}
	stack := append([]string(nil), ids...)
	for len(stack) > 0 {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[id] != nil {
			continue
		}
		s, err := r.LoadSnapshot(ctx, id)
		if err != nil {
			return nil, err
		}
		seen[id] = s
		for _, e := range s.Entries {
			if e.Base != "" {
				stack = append(stack, e.Base)
			}
		}
	}
	out := make([]*Snapshot, 0, len(seen))
	for _, s := range seen {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out, nil
}

func (r *Repo) copyOne(ctx context.Context, dst *Repo, s *Snapshot,
	res *CopyResult) error {
	ctx = dst.retainContext(ctx, s.Tier, s.Time)
	dk, err := dst.copyDataKey(ctx, s.ID)
	if err != nil {
		return err
	}
	for _, e := range s.Entries {
		for _, c := range append(append([]Chunk{}, e.Chunks...), e.Index...) {
			n, err := r.copyObject(ctx, dst, s.dataKey, dk, c.Name)
			if err != nil {
				return err
			}
			if n > 0 {
				res.Objects++
				res.Bytes += n
			}
		}
	}
	n, err := r.copyObject(ctx, dst, s.dataKey, dk, snapshotName(s.ID))
	if err != nil {
		return err
	}
	res.Objects++
	res.Bytes += n
	return nil
}

// copyDataKey returns the data key of a backup being copied into r: the
// one a wrap left by an interrupted copy holds, or a new one, wrapped
// and stored before any object.
func (r *Repo) copyDataKey(ctx context.Context, id string) ([]byte, error) {
	dk, err := r.dataKey(ctx, id)
	if err == nil {
		return dk, nil
	}
	if !errors.Is(err, ErrNoKey) {
		return nil, err
	}
	if dk, err = seal.NewDataKey(); err != nil {
		return nil, err
	}
	k := r.keys.Primary()
	name := wrapName(id, k.ID)
	body, err := seal.Seal(k.Bytes(), name, dk)
	if err != nil {
		return nil, err
	}
	err = r.store.Put(ctx, name, bytes.NewReader(body), int64(len(body)))
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", name, err)
	}
	return dk, nil
}

// copyObject re-seals one object under the destination's data key,
// without decompressing it. It returns 0 for an object the destination
// already holds under that key.
func (r *Repo) copyObject(ctx context.Context, dst *Repo, from, to []byte,
	name string) (int64, error) {
	if have, err := blob.ReadAll(ctx, dst.store, name); err == nil {
		if _, err := seal.Open(to, name, have); err == nil {
			return 0, nil
		}
		return 0, fmt.Errorf("%s exists in the destination under another "+
			"key, left by an interrupted copy; run 'lifeline prune' there "+
			"after the grace period, then copy again", name)
	}
	body, err := blob.ReadAll(ctx, r.store, name)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", name, err)
	}
	payload, err := seal.Open(from, name, body)
	if err != nil {
		return 0, fmt.Errorf("open %s: %w (%w)", name, ErrDamaged, err)
	}
	sealed, err := seal.Seal(to, name, payload)
	if err != nil {
		return 0, err
	}
	err = dst.store.Put(ctx, name, bytes.NewReader(sealed),
		int64(len(sealed)))
	if err != nil {
		return 0, fmt.Errorf("store %s: %w", name, err)
	}
	return int64(len(sealed)), nil
}

// SnapshotsSince returns the ids of backups that started at or after
// since, oldest first.
func (r *Repo) SnapshotsSince(ctx context.Context,
	since time.Time) ([]string, error) {
	snaps, _, err := r.Snapshots(ctx)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, s := range snaps {
		if !s.Time.Before(since) {
			ids = append(ids, s.ID)
		}
	}
	return ids, nil
}
