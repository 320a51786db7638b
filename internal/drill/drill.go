// Package drill runs restore drills: it restores a backup into a scratch
// target, checks every record against what was backed up, measures the
// recovery time (RTO) and the age of the data (RPO), empties the target
// again and keeps the result in the repository.
//
// The package does not pick targets or read configuration; the command
// passes both in.
package drill

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"

	"github.com/lifeline-backup/lifeline/internal/codec"
	"github.com/lifeline-backup/lifeline/internal/repo"
	"github.com/lifeline-backup/lifeline/internal/restore"
	"github.com/lifeline-backup/lifeline/internal/source"
)

// Objectives are the RPO and RTO a drill is measured against; zero means
// no objective.
type Objectives struct {
	RPO time.Duration `json:"rpo_ms"`
	RTO time.Duration `json:"rto_ms"`
}

// Spec is one drill of one source.
type Spec struct {
	Source     string
	Objectives Objectives
	// Target is the scratch target, with the namespace each backed-up
	// namespace is restored into.
	Target restore.Target
	// TargetNamespace maps a backed-up namespace to the target's.
	TargetNamespace func(ns string) string
	// Chains restore the source's namespaces, newest backup first.
	Chains [][]repo.Part
	// ExpiryTolerance is how far a restored expiry may be from the
	// backed-up one.
	ExpiryTolerance time.Duration
	// Now is the clock; Started is taken from it.
	Now func() time.Time
	// AfterRestore, if set, runs between the restore and the comparison.
	// Tests use it to tamper with the target.
	AfterRestore func(ctx context.Context) error
}

// ErrTargetNotEmpty is returned when the scratch target holds data
// before the drill: a drill empties its target afterwards, so it must
// never start on data it did not write.
var ErrTargetNotEmpty = errors.New("drill target is not empty")

// Run performs one drill. A drill that ran but found a difference or
// missed an objective returns a Result with Passed false and a nil
// error. An error means the drill could not run.
func Run(ctx context.Context, r *repo.Repo, spec Spec) (*Result, error) {
	if spec.Now == nil {
		spec.Now = time.Now
	}
	res := &Result{Source: spec.Source, Objectives: spec.Objectives,
		Started: spec.Now().UTC(), Target: spec.Target.Name}
	for _, ch := range spec.Chains {
		if err := checkEmpty(ctx, spec.Target, spec.TargetNamespace(
			ch[0].Entry.Namespace)); err != nil {
			return nil, err
		}
	}
	expected, err := restoreAll(ctx, r, spec, res)
	if err != nil {
		cleanErr := clean(context.WithoutCancel(ctx), spec)
		return nil, errors.Join(err, cleanErr)
	}
	if spec.AfterRestore != nil {
		if err := spec.AfterRestore(ctx); err != nil {
			return nil, err
		}
	}
	compareErr := compareAll(ctx, r, spec, expected, res)
	cleanErr := clean(context.WithoutCancel(ctx), spec)
	if err := errors.Join(compareErr, cleanErr); err != nil {
		return nil, err
	}
	res.judge()
	res.Finished = spec.Now().UTC()
	res.ID = repo.NewDrillID(res.Started)
	if err := r.PutDrill(ctx, res.ID, res); err != nil {
		return res, fmt.Errorf("drill %s ran but its result was not "+
			"stored: %w", spec.Source, err)
	}
	return res, nil
}

// List returns every stored drill result, oldest first, and the errors
// of results that could not be read.
func List(ctx context.Context, r *repo.Repo) ([]Result, []error, error) {
	var out []Result
	bad, err := r.Drills(ctx, func(id string, data []byte) error {
		var res Result
		if err := json.Unmarshal(data, &res); err != nil {
			return fmt.Errorf("drill result %s: %w", id, err)
		}
		out = append(out, res)
		return nil
	})
	return out, bad, err
}

// expectation is what one target namespace must hold: key hash to the
// record's value hash and expiry.
type expectation map[codec.Hash]expected

type expected struct {
	key     []byte
	value   codec.Hash
	expires time.Time
	// ns indexes the backed-up namespace in Result.Namespaces.
	ns int
}

func restoreAll(ctx context.Context, r *repo.Repo, spec Spec,
	res *Result) (map[string]expectation, error) {
	// Several backed-up namespaces may land in one target namespace (a
	// Redis target with one database), so what the target must hold is
	// collected per target namespace.
	out := map[string]expectation{}
	nsIndex := map[string]int{}
	var items []restore.Item
	for i, ch := range spec.Chains {
		ns := ch[0].Entry.Namespace
		nsIndex[ns] = i
		target := spec.TargetNamespace(ns)
		if out[target] == nil {
			out[target] = expectation{}
		}
		items = append(items, restore.Item{Parts: ch, To: spec.Target,
			Namespace: target})
		res.notePoint(ch)
		res.Namespaces = append(res.Namespaces, NamespaceResult{
			Namespace: ns})
	}
	began := time.Now()
	results, err := restore.Run(ctx, r, items, restore.Options{
		Mode: source.KeepExisting,
		Now:  spec.Now,
		Written: func(it *restore.Item, rec *source.Record) {
			if rec.Deleted {
				return
			}
			out[it.Namespace][codec.KeyHash(rec.Key)] = expected{
				key:     append([]byte(nil), rec.Key...),
				value:   valueHash(rec),
				expires: rec.ExpiresAt,
				ns:      nsIndex[it.Parts[0].Entry.Namespace],
			}
		},
	})
	res.RTO = time.Since(began)
	for _, rr := range results {
		nr := &res.Namespaces[nsIndex[rr.Namespace]]
		nr.Restored = rr.Written
		nr.Expired = rr.Diff.Counts[restore.Expired]
	}
	if err != nil {
		return nil, fmt.Errorf("drill %s: restore: %w", spec.Source, err)
	}
	return out, nil
}

// valueHash hashes what a record holds besides its key and expiry.
func valueHash(rec *source.Record) codec.Hash {
	r := *rec
	r.ExpiresAt = time.Time{}
	return codec.ContentHash(&r)
}

func checkEmpty(ctx context.Context, t restore.Target, ns string) error {
	it, err := t.Src.Read(ctx, ns)
	if absent(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read drill target %s/%s: %w", t.Name, ns, err)
	}
	defer it.Close()
	rec, err := it.Next(ctx)
	if errors.Is(err, io.EOF) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read drill target %s/%s: %w", t.Name, ns, err)
	}
	if len(rec.Key) == 0 && len(rec.Value) == 0 {
		// A bbolt bucket's own record: an empty bucket is empty.
		if _, err := it.Next(ctx); errors.Is(err, io.EOF) {
			return nil
		}
	}
	return fmt.Errorf("%w: %s/%s holds keys; empty it or choose another "+
		"target", ErrTargetNotEmpty, t.Name, ns)
}

// absent reports whether a read failed because the namespace or file does
// not exist yet, which for a scratch target means empty.
func absent(err error) bool {
	return errors.Is(err, source.ErrUnknownNamespace) ||
		errors.Is(err, fs.ErrNotExist)
}
