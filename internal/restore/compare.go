package restore

import (
	"context"

	"github.com/lifeline-backup/lifeline/internal/codec"
	"github.com/lifeline-backup/lifeline/internal/repo"
)

// Compare returns what changed in one namespace from the state that chain
// from builds to the state that chain to builds: records added, changed,
// deleted and unchanged. It reads only the change indexes, never the
// data. Either chain may be nil, for a namespace that did not exist yet.
func Compare(ctx context.Context, r *repo.Repo, from,
	to []repo.Part) (Diff, error) {
	var d Diff
	before, err := r.LoadIndex(ctx, from)
	if err != nil {
		return d, err
	}
	after, err := r.LoadIndex(ctx, to)
	if err != nil {
		return d, err
	}
	wantAfter := map[codec.Hash]Kind{}
	wantBefore := map[codec.Hash]Kind{}
	sample := func(want map[codec.Hash]Kind, kh codec.Hash, k Kind) {
		d.Counts[k]++
		if d.Counts[k] <= SampleSize {
			want[kh] = k
		}
	}
	for kh, e := range after {
		b, ok := before[kh]
		switch {
		case !ok:
			sample(wantAfter, kh, Add)
		case b.Content != e.Content:
			sample(wantAfter, kh, Change)
		default:
			sample(wantAfter, kh, Unchanged)
		}
	}
	for kh := range before {
		if _, ok := after[kh]; !ok {
			sample(wantBefore, kh, Delete)
		}
	}
	if err := collectSamples(ctx, r, to, wantAfter, &d); err != nil {
		return d, err
	}
	return d, collectSamples(ctx, r, from, wantBefore, &d)
}

// collectSamples looks up the keys of the sampled hashes in a chain's
// index and adds them to d.
func collectSamples(ctx context.Context, r *repo.Repo, chain []repo.Part,
	want map[codec.Hash]Kind, d *Diff) error {
	hashes := map[codec.Hash]bool{}
	for kh := range want {
		hashes[kh] = true
	}
	return r.IndexKeys(ctx, chain, hashes, func(key []byte) error {
		k := want[codec.KeyHash(key)]
		d.Samples[k] = append(d.Samples[k], key)
		return nil
	})
}
