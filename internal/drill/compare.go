package drill

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/lifeline-backup/lifeline/internal/codec"
	"github.com/lifeline-backup/lifeline/internal/source"
)

// maxDifferences is how many differing keys a result names per
// namespace.
const maxDifferences = 10

// compareAll reads every target namespace back and compares each record
// with what the restore wrote: the same value and metadata, an expiry
// within the tolerance, and no key missing or extra.
func compareAll(ctx context.Context, spec Spec, exp map[string]expectation,
	res *Result) error {
	for i := range res.Namespaces {
		nr := &res.Namespaces[i]
		if err := compare(ctx, spec, exp[nr.Namespace], nr); err != nil {
			return err
		}
	}
	return nil
}

func compare(ctx context.Context, spec Spec, exp expectation,
	nr *NamespaceResult) error {
	ns := spec.TargetNamespace(nr.Namespace)
	it, err := spec.Target.Src.Read(ctx, ns)
	if err != nil {
		return fmt.Errorf("read back drill target %s/%s: %w",
			spec.Target.Name, ns, err)
	}
	defer it.Close()
	seen := map[codec.Hash]bool{}
	var sum codec.Sum
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
		nr.Checked++
		sum.Add(codec.RecordHash(rec.Key, valueHash(rec)))
		e, ok := exp[kh]
		switch {
		case !ok:
			nr.differ(rec.Key, "not in the backup")
		case e.value != valueHash(rec):
			nr.differ(rec.Key, "value differs from the backup")
		case !expiryClose(e, rec, spec):
			nr.differ(rec.Key, fmt.Sprintf("expiry %s, the backup has %s",
				fmtTime(rec.ExpiresAt), fmtTime(e.expires)))
		}
	}
	for kh, e := range exp {
		if !seen[kh] {
			nr.differ(e.key, "missing from the target")
		}
	}
	nr.Hash = sum.String()
	return nil
}

func expiryClose(e expected, rec *source.Record, spec Spec) bool {
	if e.expires.IsZero() || rec.ExpiresAt.IsZero() {
		return e.expires.IsZero() == rec.ExpiresAt.IsZero()
	}
	d := e.expires.Sub(rec.ExpiresAt)
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
