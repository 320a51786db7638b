package repo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/lifeline-backup/lifeline/internal/codec"
	"github.com/lifeline-backup/lifeline/internal/seal"
)

// Drill results live as drills/<drill-id>/<key-id>: JSON sealed directly
// under a key of the keyring, which the name's last part names. They
// are small and few, so they need no data key of their own.

// NewDrillID returns a drill id that sorts by its start time.
func NewDrillID(start time.Time) string { return NewSnapshotID(start) }

// PutDrill stores one drill result, encoded as JSON, under the first key
// of the keyring.
func (r *Repo) PutDrill(ctx context.Context, id string, v any) error {
	plain, err := json.Marshal(v)
	if err != nil {
		return err
	}
	k := r.keys.Primary()
	name := "drills/" + id + "/" + k.ID
	payload, err := codec.Compress(codec.Zstd, plain)
	if err != nil {
		return err
	}
	body, err := seal.Seal(k.Bytes(), name, payload)
	if err != nil {
		return err
	}
	err = r.store.Put(ctx, name, bytes.NewReader(body), int64(len(body)))
	if err != nil {
		return fmt.Errorf("store drill result %s: %w", name, err)
	}
	return nil
}

// Drills calls fn with the JSON of every drill result, oldest first.
// Results that cannot be read are returned as errors, after the others.
func (r *Repo) Drills(ctx context.Context,
	fn func(id string, data []byte) error) ([]error, error) {
	var bad []error
	for info, err := range r.store.List(ctx, "drills/") {
		if err != nil {
			return nil, fmt.Errorf("list drill results: %w", err)
		}
		rest := strings.TrimPrefix(info.Name, "drills/")
		id, keyID, _ := strings.Cut(rest, "/")
		k, ok := r.keys.Get(keyID)
		if !ok {
			bad = append(bad, fmt.Errorf("drill result %s is sealed under "+
				"key %s, which is not in the keyring", id, keyID))
			continue
		}
		plain, err := r.getSealed(ctx, k.Bytes(), info.Name)
		if err != nil {
			bad = append(bad, fmt.Errorf("drill result %s: %w", id, err))
			continue
		}
		if err := fn(id, plain); err != nil {
			return bad, err
		}
	}
	return bad, nil
}
