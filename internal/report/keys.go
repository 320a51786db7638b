package report

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/lifeline-backup/lifeline/internal/repo"
)

// KeyReport describes one key id that the repository stores or the
// keyring contains.
type KeyReport struct {
	ID string
	// Primary reports whether new backups are sealed under this key.
	Primary   bool
	InKeyring bool
	// Backups counts backups with a data key wrapped under this key;
	// Only counts those that no other key opens.
	Backups int
	Only    int
	// Added is when the key came into use, and AddedFrom names the
	// evidence for it: AddedKeyCheck or AddedOldestBackup. Added is
	// zero when there is neither.
	Added     time.Time
	AddedFrom string
	// Age is the time from Added to the report; zero when Added is.
	Age time.Duration
}

// How KeyReport.Added is known.
const (
	// AddedKeyCheck is the time the store gives for the key's check
	// object, written when the repository first saw the key (at init
	// or at the first open with the key in the keyring). It is the
	// best measure because a rewrap gives old backups wraps under
	// a new key.
	AddedKeyCheck = "key_check"
	// AddedOldestBackup is the start of the oldest backup wrapped under
	// the key, used when the store gives no time for the key check or
	// the check is gone.
	AddedOldestBackup = "oldest_backup"
)

func buildKeys(ctx context.Context, r *repo.Repo, snaps []*repo.Snapshot,
	now time.Time) ([]KeyReport, error) {
	uses, err := r.KeyUses(ctx)
	if err != nil {
		return nil, err
	}
	checked, err := keyCheckTimes(ctx, r)
	if err != nil {
		return nil, err
	}
	oldest, err := oldestWraps(ctx, r, snaps)
	if err != nil {
		return nil, err
	}
	primary := r.Keyring().Primary().ID
	var out []KeyReport
	for _, u := range uses {
		k := KeyReport{ID: u.ID, Primary: u.ID == primary,
			InKeyring: u.InKeyring, Backups: u.Backups, Only: u.Only}
		switch {
		case !checked[u.ID].IsZero():
			k.Added, k.AddedFrom = checked[u.ID].UTC(), AddedKeyCheck
		case !oldest[u.ID].IsZero():
			k.Added, k.AddedFrom = oldest[u.ID], AddedOldestBackup
		}
		if !k.Added.IsZero() && now.After(k.Added) {
			k.Age = now.Sub(k.Added)
		}
		out = append(out, k)
	}
	return out, nil
}

// keyCheckTimes maps key ids to the store time of their key checks.
func keyCheckTimes(ctx context.Context,
	r *repo.Repo) (map[string]time.Time, error) {
	out := map[string]time.Time{}
	for info, err := range r.Store().List(ctx, "keys/") {
		if err != nil {
			return nil, fmt.Errorf("list key checks: %w", err)
		}
		out[strings.TrimPrefix(info.Name, "keys/")] = info.ModTime
	}
	return out, nil
}

// oldestWraps maps key ids to the start of the oldest committed backup
// whose data key is wrapped under them.
func oldestWraps(ctx context.Context, r *repo.Repo,
	snaps []*repo.Snapshot) (map[string]time.Time, error) {
	start := map[string]time.Time{}
	for _, s := range snaps {
		start[s.ID] = s.Time.UTC()
	}
	out := map[string]time.Time{}
	for info, err := range r.Store().List(ctx, "wraps/") {
		if err != nil {
			return nil, fmt.Errorf("list data keys: %w", err)
		}
		// wraps/<backup-id>/<key-id>
		parts := strings.Split(info.Name, "/")
		if len(parts) != 3 {
			continue
		}
		t, ok := start[parts[1]]
		if !ok {
			continue // a wrap of an uncommitted or deleted backup
		}
		if old := out[parts[2]]; old.IsZero() || t.Before(old) {
			out[parts[2]] = t
		}
	}
	return out, nil
}
