package drill

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/lifeline-backup/lifeline/internal/codec"
	"github.com/lifeline-backup/lifeline/internal/repo"
	"github.com/lifeline-backup/lifeline/internal/source"
)

// maxDifferences is how many differing keys a result names per
// namespace.
const maxDifferences = 10

// compareAll reads every target namespace back and compares each record
// with what the restore wrote: the same value and metadata, an expiry
// within the tolerance, and no key missing or extra.
func compareAll(ctx context.Context, r *repo.Repo, spec Spec,
	exp map[string]expectation, res *Result) error {
	suspects := map[codec.Hash]suspect{}
	first := map[string]int{}
	for i := len(spec.Chains) - 1; i >= 0; i-- {
		first[spec.TargetNamespace(spec.Chains[i][0].Entry.Namespace)] = i
	}
	for target, e := range exp {
		err := compare(ctx, spec, target, e, res, first[target], suspects)
		if err != nil {
			return err
		}
	}
	return resolveSuspects(ctx, r, spec, suspects, res)
}

// suspect is a restored key whose value bytes differ from the backup's.
// Stores such as Redis can give other bytes for equal data, so the
// target is asked to compare by meaning before it counts as different.
type suspect struct {
	expected
	target  string
	expires time.Time
}

func compare(ctx context.Context, spec Spec, ns string, exp expectation,
	res *Result, first int, suspects map[codec.Hash]suspect) error {
	it, err := spec.Target.Src.Read(ctx, ns)
	if err != nil {
		return fmt.Errorf("read back drill target %s/%s: %w",
			spec.Target.Name, ns, err)
	}
	defer it.Close()
	seen := map[codec.Hash]bool{}
	for {
		rec, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read back drill target %s/%s: %w",
				spec.Target.Name, ns, err)
		}
		kh := codec.KeyHash(rec.Key)
		if seen[kh] {
			continue // Redis SCAN may repeat a key
		}
		seen[kh] = true
		e, ok := exp[kh]
		if !ok {
			res.Namespaces[first].Checked++
			res.Namespaces[first].differ(rec.Key, "not in the backup")
			continue
		}
		nr := &res.Namespaces[e.ns]
		nr.Checked++
		switch {
		case e.value != valueHash(rec):
			suspects[kh] = suspect{expected: e, target: ns,
				expires: rec.ExpiresAt}
		case !expiryClose(e, rec.ExpiresAt, spec):
			nr.differ(rec.Key, expiryReason(rec.ExpiresAt, e.expires))
		}
	}
	for kh, e := range exp {
		if !seen[kh] {
			res.Namespaces[e.ns].differ(e.key, "missing from the target")
		}
	}
	return nil
}

// resolveSuspects reads the backup's records of the suspect keys again
// and asks a target that can compare values by meaning; without one,
// every suspect is a difference.
func resolveSuspects(ctx context.Context, r *repo.Repo, spec Spec,
	suspects map[codec.Hash]suspect, res *Result) error {
	if len(suspects) == 0 {
		return nil
	}
	cmp, ok := spec.Target.Src.(source.ValueComparer)
	for kh, sp := range suspects {
		if !ok {
			res.Namespaces[sp.ns].differ(sp.key,
				"value differs from the backup")
			delete(suspects, kh)
		}
	}
	for _, ch := range spec.Chains {
		if len(suspects) == 0 {
			return nil
		}
		err := readChain(ctx, r, ch, func(rec *source.Record) error {
			kh := codec.KeyHash(rec.Key)
			sp, ok := suspects[kh]
			if !ok {
				return nil
			}
			delete(suspects, kh)
			same, err := cmp.SameValue(ctx, sp.target, rec.Key, rec.Value)
			switch {
			case err != nil:
				return fmt.Errorf("compare key %+q: %w", rec.Key, err)
			case !same:
				res.Namespaces[sp.ns].differ(rec.Key,
					"value differs from the backup")
			case !expiryClose(sp.expected, sp.expires, spec):
				res.Namespaces[sp.ns].differ(rec.Key,
					expiryReason(sp.expires, sp.expected.expires))
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	for _, sp := range suspects {
		res.Namespaces[sp.ns].differ(sp.key, "value differs from the backup")
	}
	return nil
}

// readChain calls fn with the newest record of every key of a chain.
func readChain(ctx context.Context, r *repo.Repo, chain []repo.Part,
	fn func(*source.Record) error) error {
	seen := map[codec.Hash]bool{}
	for _, p := range chain {
		err := r.ReadNamespace(ctx, p.Snapshot, p.Entry,
			func(rec *source.Record) error {
				kh := codec.KeyHash(rec.Key)
				if seen[kh] {
					return nil
				}
				seen[kh] = true
				if rec.Deleted {
					return nil
				}
				return fn(rec)
			})
		if err != nil {
			return err
		}
	}
	return nil
}

func expiryReason(got, want time.Time) string {
	return fmt.Sprintf("expiry %s, the backup has %s", fmtTime(got),
		fmtTime(want))
}

func expiryClose(e expected, got time.Time, spec Spec) bool {
	if e.expires.IsZero() || got.IsZero() {
		return e.expires.IsZero() == got.IsZero()
	}
	d := e.expires.Sub(got)
	return d <= spec.ExpiryTolerance && -d <= spec.ExpiryTolerance
}

// clean empties the target namespaces the drill wrote into, by writing a
// tombstone for every key it holds.
func clean(ctx context.Context, spec Spec) error {
	var errs []error
	for _, ch := range spec.Chains {
		ns := spec.TargetNamespace(ch[0].Entry.Namespace)
		if err := cleanNamespace(ctx, spec, ns); err != nil {
			errs = append(errs, fmt.Errorf("empty drill target %s/%s: %w",
				spec.Target.Name, ns, err))
		}
	}
	return errors.Join(errs...)
}

func cleanNamespace(ctx context.Context, spec Spec, ns string) error {
	for {
		batch, err := readKeys(ctx, spec, ns, 1000)
		if err != nil || len(batch) == 0 {
			return err
		}
		_, err = spec.Target.Src.Write(ctx, ns, batch, source.Replace,
			spec.Now())
		if err != nil {
			return err
		}
		if len(batch) < 1000 {
			return nil
		}
	}
}

// readKeys returns tombstones for up to n keys of the namespace. The
// empty key of a bbolt bucket's own record is left out: it is the
// bucket itself.
func readKeys(ctx context.Context, spec Spec, ns string,
	n int) ([]source.Record, error) {
	it, err := spec.Target.Src.Read(ctx, ns)
	if absent(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []source.Record
	for len(out) < n {
		rec, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if len(rec.Key) == 0 {
			continue
		}
		out = append(out, source.Record{Key: append([]byte(nil),
			rec.Key...), Deleted: true})
	}
	return out, nil
}
