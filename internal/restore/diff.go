package restore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"

	"github.com/lifeline-backup/lifeline/internal/codec"
	"github.com/lifeline-backup/lifeline/internal/source"
)

// Kind classifies one record of a restore against the target.
type Kind int

// The kinds of change a restore makes to a target.
const (
	// Add is a record whose key the target lacks.
	Add Kind = iota
	// Change is a record whose key the target holds with other content,
	// overwritten only in Replace mode.
	Change
	// Conflict is a Change left alone because the mode is KeepExisting.
	Conflict
	// Unchanged is a record the target already holds as it is.
	Unchanged
	// Expired is a record whose expiry has passed; it is never written.
	Expired
	// Delete is a tombstone for a key the target holds, applied only in
	// Replace mode.
	Delete
	// Extra is a key the target holds and the restored state lacks. A
	// restore leaves it alone; previews count it.
	Extra
	kinds
)

// Kinds is the number of kinds, for loops over them.
const Kinds = int(kinds)

var kindNames = [kinds]string{"add", "change", "conflict", "unchanged",
	"expired", "delete", "extra"}

// String returns the kind's name as used in reports.
func (k Kind) String() string { return kindNames[k] }

// Diff counts, per kind, the records a restore of one namespace would
// write, with a sample of keys of each kind.
type Diff struct {
	Counts  [kinds]int64
	Samples [kinds][][]byte
}

func (d *Diff) note(k Kind, key []byte) {
	d.Counts[k]++
	if len(d.Samples[k]) < SampleSize {
		d.Samples[k] = append(d.Samples[k], append([]byte(nil), key...))
	}
}

// targetIndex maps the key hashes of a target namespace to content hashes.
type targetIndex map[codec.Hash]targetEntry

// targetEntry is what the index keeps of one key of the target: hashes
// of its content with and without the expiry, and the expiry in seconds.
type targetEntry struct {
	content, value codec.Hash
	expires        int64
}

func newTargetEntry(rec *source.Record) targetEntry {
	return targetEntry{content: codec.ContentHash(rec),
		value: valueHash(rec), expires: expirySeconds(rec)}
}

// valueHash hashes a record's value and metadata, not its expiry.
func valueHash(rec *source.Record) codec.Hash {
	r := *rec
	r.ExpiresAt = time.Time{}
	return codec.ContentHash(&r)
}

func expirySeconds(rec *source.Record) int64 {
	if rec.ExpiresAt.IsZero() {
		return 0
	}
	return rec.ExpiresAt.Unix()
}

// readTarget indexes what the target namespace holds now. Memory grows by
// about 100 bytes per key of the target, never with the values.
func readTarget(ctx context.Context, t Target, ns string) (targetIndex, error) {
	it, err := t.Src.Read(ctx, ns)
	if errors.Is(err, source.ErrUnknownNamespace) ||
		errors.Is(err, fs.ErrNotExist) {
		// A namespace or file that does not exist yet is empty.
		return targetIndex{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read target %s/%s: %w", t.Name, ns, err)
	}
	defer it.Close()
	idx := targetIndex{}
	for {
		rec, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			return idx, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read target %s/%s: %w", t.Name, ns, err)
		}
		idx[codec.KeyHash(rec.Key)] = newTargetEntry(rec)
	}
}

// classify decides what restoring rec does to the target. counted is
// false for a tombstone that changes nothing: its key is not in the
// target, or the mode keeps existing keys. bytesOnly is true when only
// the value bytes differ, with the same expiry: a store such as Redis may
// then hold the same data all the same.
func (idx targetIndex) classify(rec *source.Record, mode source.WriteMode,
	now time.Time) (kind Kind, counted, bytesOnly bool) {
	have, ok := idx[codec.KeyHash(rec.Key)]
	switch {
	case rec.Deleted:
		return Delete, ok && mode == source.Replace, false
	case rec.Expired(now):
		return Expired, true, false
	case !ok:
		return Add, true, false
	case have.content == codec.ContentHash(rec):
		return Unchanged, true, false
	}
	bytesOnly = have.value != valueHash(rec) &&
		have.expires == expirySeconds(rec)
	if mode == source.Replace {
		return Change, true, bytesOnly
	}
	return Conflict, true, bytesOnly
}

// Summary is the record count and content hash of a namespace as a
// source holds it now, in the form a backup manifest records them.
type Summary struct {
	Records int64
	Hash    string
}

// Summarize reads a namespace of a source and sums it like a backup does,
// so the result can be compared with a manifest entry.
func Summarize(ctx context.Context, src source.Source,
	ns string) (Summary, error) {
	it, err := src.Read(ctx, ns)
	if err != nil {
		return Summary{}, err
	}
	defer it.Close()
	var sum codec.Sum
	var n int64
	for {
		rec, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			return Summary{Records: n, Hash: sum.String()}, nil
		}
		if err != nil {
			return Summary{}, err
		}
		n++
		sum.Add(codec.RecordHash(rec.Key, codec.ContentHash(rec)))
	}
}

// noteExtras counts the keys of the target that the restored state did
// not hold, and reads the target once more for sample keys.
func noteExtras(ctx context.Context, t Target, ns string, idx targetIndex,
	restored map[codec.Hash]struct{}, d *Diff) error {
	for kh := range idx {
		if _, ok := restored[kh]; !ok {
			d.Counts[Extra]++
		}
	}
	if d.Counts[Extra] == 0 {
		return nil
	}
	it, err := t.Src.Read(ctx, ns)
	if err != nil {
		return fmt.Errorf("read target %s/%s: %w", t.Name, ns, err)
	}
	defer it.Close()
	for len(d.Samples[Extra]) < SampleSize {
		rec, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read target %s/%s: %w", t.Name, ns, err)
		}
		if _, ok := restored[codec.KeyHash(rec.Key)]; !ok {
			d.Samples[Extra] = append(d.Samples[Extra],
				append([]byte(nil), rec.Key...))
		}
	}
	return nil
}
