package backup

import (
	"context"

	"github.com/lifeline-backup/lifeline/internal/codec"
	"github.com/lifeline-backup/lifeline/internal/repo"
	"github.com/lifeline-backup/lifeline/internal/source"
)

// dropTombstone, when set, is called for each tombstone an incremental
// is about to store, and a true return leaves that tombstone out. It
// exists only so tests can prove that they notice a lost tombstone.
var dropTombstone func(src, ns string) bool

// delta compares a fresh read of a namespace with the change index of
// its newest backup, so an incremental stores only what changed.
type delta struct {
	chain []repo.Part
	index map[codec.Hash]*repo.IndexEntry
}

// loadDelta loads the change index of the namespace as of backup
// parent.
func (rn *run) loadDelta(ctx context.Context, j job,
	parent *repo.Snapshot) (*delta, error) {
	chain, err := rn.repo.Chain(ctx, parent, j.src.Name, j.ns)
	if err != nil {
		return nil, err
	}
	idx, err := rn.repo.LoadIndex(ctx, chain)
	if err != nil {
		return nil, err
	}
	return &delta{chain: chain, index: idx}, nil
}

// changed reports whether rec differs from the indexed state: a new key,
// or a key whose value, metadata or expiry changed. A key read twice is
// reported once.
func (d *delta) changed(rec *source.Record) bool {
	kh := codec.KeyHash(rec.Key)
	content := codec.ContentHash(rec)
	e, ok := d.index[kh]
	if !ok {
		d.index[kh] = &repo.IndexEntry{Content: content, Seen: true}
		return true
	}
	if e.Seen {
		return false
	}
	e.Seen = true
	if e.Content == content {
		return false
	}
	e.Content = content
	return true
}

// tombstones adds a tombstone for every indexed key the fresh read did
// not see, and returns how many.
func (d *delta) tombstones(ctx context.Context, r *repo.Repo,
	nw *repo.NamespaceWriter) (int64, error) {
	gone := map[codec.Hash]bool{}
	for kh, e := range d.index {
		if !e.Seen {
			gone[kh] = true
		}
	}
	return addTombstones(ctx, r, d.chain, gone, nw)
}

// addTombstones adds a tombstone for each key hash in want that the
// namespace contains as of the newest part of chain, and returns how
// many.
func addTombstones(ctx context.Context, r *repo.Repo, chain []repo.Part,
	want map[codec.Hash]bool, nw *repo.NamespaceWriter) (int64, error) {
	src, ns := chain[0].Entry.Source, chain[0].Entry.Namespace
	var n int64
	err := r.IndexKeys(ctx, chain, want, func(key []byte) error {
		if dropTombstone != nil && dropTombstone(src, ns) {
			return nil
		}
		n++
		_, err := nw.Add(ctx, &source.Record{Key: key, Deleted: true})
		return err
	})
	return n, err
}

// checkedTombstones adds a tombstone for each of the change feed's
// deleted keys that the change index of the namespace contains, and
// returns how many. The others were created and deleted between two
// backups, and no backup of the chain has them.
func (rn *run) checkedTombstones(ctx context.Context, j job, rd *reading,
	nw *repo.NamespaceWriter) (int64, error) {
	chain, err := rn.repo.Chain(ctx, rd.parent, j.src.Name, j.ns)
	if err != nil {
		return 0, err
	}
	return addTombstones(ctx, rn.repo, chain, rd.unchecked, nw)
}
