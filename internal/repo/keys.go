package repo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/lifeline-backup/lifeline/internal/blob"
	"github.com/lifeline-backup/lifeline/internal/codec"
	"github.com/lifeline-backup/lifeline/internal/seal"
)

// KeyUse is how many backups one key id protects.
type KeyUse struct {
	ID string
	// Backups counts backups with a data key wrapped under this key.
	Backups int
	// Only counts backups that no other key opens.
	Only int
	// InKeyring reports whether the configured keyring has this key.
	InKeyring bool
	// Checked reports whether the repository holds a key check for it.
	Checked bool
}

// KeyUses lists every key id the repository or the keyring knows, with
// the backups each protects.
func (r *Repo) KeyUses(ctx context.Context) ([]KeyUse, error) {
	uses := map[string]*KeyUse{}
	get := func(id string) *KeyUse {
		if uses[id] == nil {
			uses[id] = &KeyUse{ID: id}
		}
		return uses[id]
	}
	for _, k := range r.keys.Keys() {
		get(k.ID).InKeyring = true
	}
	for info, err := range r.store.List(ctx, "keys/") {
		if err != nil {
			return nil, fmt.Errorf("list key checks: %w", err)
		}
		get(strings.TrimPrefix(info.Name, "keys/")).Checked = true
	}
	wraps, err := r.wrapsBySnapshot(ctx)
	if err != nil {
		return nil, err
	}
	for _, keyIDs := range wraps {
		for _, id := range keyIDs {
			u := get(id)
			u.Backups++
			if len(keyIDs) == 1 {
				u.Only++
			}
		}
	}
	var out []KeyUse
	for _, u := range uses {
		out = append(out, *u)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// wrapsBySnapshot maps each committed backup id to the key ids its data
// key is wrapped under.
func (r *Repo) wrapsBySnapshot(ctx context.Context) (map[string][]string,
	error) {
	ids, err := r.SnapshotIDs(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, id := range ids {
		out[id] = nil
	}
	for info, err := range r.store.List(ctx, "wraps/") {
		if err != nil {
			return nil, fmt.Errorf("list data keys: %w", err)
		}
		snap := wrapSnapshot(info.Name)
		if _, ok := out[snap]; !ok {
			continue // a wrap of an uncommitted or deleted backup
		}
		out[snap] = append(out[snap], info.Name[strings.LastIndex(info.Name, "/")+1:])
	}
	return out, nil
}

// RewrapResult counts what Rewrap did.
type RewrapResult struct {
	Rewrapped int
	// Removed counts wraps under other keys that were deleted.
	Removed int
}

// Rewrap makes the first key of the keyring open every backup: it
// unwraps each backup's data key with any key of the keyring and stores
// it wrapped under the first key, then deletes the wraps under the other
// keys. No data object is read or written. A backup that no key of the
// keyring opens is reported and left alone. The caller holds an
// exclusive lock.
func (r *Repo) Rewrap(ctx context.Context, l *Lock) (RewrapResult, error) {
	var res RewrapResult
	primary := r.keys.Primary()
	wraps, err := r.wrapsBySnapshot(ctx)
	if err != nil {
		return res, err
	}
	var errs []error
	for id, keyIDs := range wraps {
		if err := l.Check(ctx); err != nil {
			return res, err
		}
		if !slices.Contains(keyIDs, primary.ID) {
			if err := r.addWrap(ctx, id, primary); err != nil {
				errs = append(errs, err)
				continue
			}
			res.Rewrapped++
		}
		for _, k := range keyIDs {
			if k == primary.ID {
				continue
			}
			if err := r.delete(ctx, wrapName(id, k)); err != nil {
				return res, err
			}
			res.Removed++
		}
		r.forgetSnapshot(id)
	}
	if err := r.resealDrills(ctx, l); err != nil {
		errs = append(errs, err)
	}
	return res, errors.Join(errs...)
}

// resealDrills moves drill results sealed under other keys to the first
// key of the keyring. Drill results are small, so they are re-sealed
// whole rather than wrapped.
func (r *Repo) resealDrills(ctx context.Context, l *Lock) error {
	primary := r.keys.Primary()
	var errs []error
	for info, err := range r.store.List(ctx, "drills/") {
		if err != nil {
			return fmt.Errorf("list drill results: %w", err)
		}
		rest := strings.TrimPrefix(info.Name, "drills/")
		id, keyID, _ := strings.Cut(rest, "/")
		k, ok := r.keys.Get(keyID)
		if keyID == primary.ID || !ok {
			continue
		}
		if err := l.Check(ctx); err != nil {
			return err
		}
		plain, err := r.getSealed(ctx, k.Bytes(), info.Name)
		if err != nil {
			errs = append(errs, fmt.Errorf("drill result %s: %w", id, err))
			continue
		}
		name := "drills/" + id + "/" + primary.ID
		_, err = r.putSealed(ctx, primary.Bytes(), name, codec.Zstd, plain)
		if err != nil && !errors.Is(err, blob.ErrExists) {
			errs = append(errs, err)
			continue
		}
		if err := r.delete(ctx, info.Name); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (r *Repo) addWrap(ctx context.Context, snapID string, k seal.Key) error {
	dk, err := r.dataKey(ctx, snapID)
	if err != nil {
		return err
	}
	name := wrapName(snapID, k.ID)
	body, err := seal.Seal(k.Bytes(), name, dk)
	if err != nil {
		return err
	}
	err = r.store.Put(ctx, name, bytes.NewReader(body), int64(len(body)))
	if err != nil && !errors.Is(err, blob.ErrExists) {
		return fmt.Errorf("store %s: %w", name, err)
	}
	return nil
}

// ErrKeyInUse is returned by RetireKey for a key that is the only one
// opening some backups, unless forced.
var ErrKeyInUse = errors.New("key still protects backups")

// RetireKey deletes every wrap under the key id and its key check. The
// backups that only this key opened become unreadable for good
// (crypto-erasure), so that needs force. The caller holds an exclusive
// lock.
func (r *Repo) RetireKey(ctx context.Context, id string, force bool,
	l *Lock) (int, error) {
	uses, err := r.KeyUses(ctx)
	if err != nil {
		return 0, err
	}
	var use *KeyUse
	for i := range uses {
		if uses[i].ID == id {
			use = &uses[i]
		}
	}
	if use == nil || (!use.Checked && use.Backups == 0) {
		return 0, fmt.Errorf("key %q is not known to the repository", id)
	}
	if use.Only > 0 && !force {
		return 0, fmt.Errorf("key %q: %w: %d backups open with no other "+
			"key; run 'lifeline keys rewrap' first, or retire with --force "+
			"to make them unreadable for good", id, ErrKeyInUse, use.Only)
	}
	if err := l.Check(ctx); err != nil {
		return 0, err
	}
	wraps, err := r.wrapsBySnapshot(ctx)
	if err != nil {
		return 0, err
	}
	erased := 0
	for snap, keyIDs := range wraps {
		if !slices.Contains(keyIDs, id) {
			continue
		}
		if err := r.delete(ctx, wrapName(snap, id)); err != nil {
			return erased, err
		}
		r.forgetSnapshot(snap)
		if len(keyIDs) == 1 {
			erased++
		}
	}
	return erased, r.delete(ctx, keyCheckName(id))
}
