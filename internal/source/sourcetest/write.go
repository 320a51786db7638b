package sourcetest

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/lifeline-backup/lifeline/internal/source"
)

// testKeepExisting writes over two existing keys in KeepExisting mode
// and checks that they keep their values and are reported as conflicts.
func testKeepExisting(e *env) {
	old := []source.Record{
		e.record("a", []byte("old a")),
		e.record("b", []byte("old b")),
	}
	e.put(old)

	newer := []source.Record{
		e.record("a", []byte("new a")),
		e.record("b", []byte("new b")),
		e.record("c", []byte("new c")),
	}
	res := e.write(newer, source.KeepExisting, time.Now())
	checkCounts(e, res, counts{written: 1})
	checkConflicts(e, res.Conflicts, "a", "b")
	e.check([]source.Record{old[0], old[1], newer[2]})
}

// testReplace overwrites an existing key in Replace mode.
func testReplace(e *env) {
	old := []source.Record{
		e.record("a", []byte("old a")),
		e.record("b", []byte("old b")),
	}
	e.put(old)

	newer := []source.Record{
		e.record("a", []byte("new a")),
		e.record("c", []byte("new c")),
	}
	res := e.write(newer, source.Replace, time.Now())
	checkCounts(e, res, counts{written: 2})
	checkConflicts(e, res.Conflicts)
	e.check([]source.Record{newer[0], old[1], newer[1]})
}

// testTombstones checks that a tombstone is ignored in KeepExisting mode
// and deletes its key in Replace mode, and that a tombstone for a
// missing key is no error.
func testTombstones(e *env) {
	recs := []source.Record{
		e.record("a", []byte("value a")),
		e.record("b", []byte("value b")),
		e.record("c", []byte("value c")),
	}
	e.put(recs)
	tomb := source.Record{Key: e.key("a"), Deleted: true}

	res := e.write([]source.Record{tomb}, source.KeepExisting, time.Now())
	checkCounts(e, res, counts{})
	checkConflicts(e, res.Conflicts)
	e.check(recs)

	res = e.write([]source.Record{tomb}, source.Replace, time.Now())
	checkCounts(e, res, counts{deleted: 1})
	checkConflicts(e, res.Conflicts)
	e.check(recs[1:])

	// Whether a tombstone for a missing key counts in Deleted is up to
	// the adapter, so only the error and the contents are checked.
	missing := source.Record{Key: e.key("missing"), Deleted: true}
	e.write([]source.Record{missing}, source.Replace, time.Now())
	e.check(recs[1:])
}

// testExpiredSkipped writes records that expire before now and at now,
// which must be skipped and counted, next to a live record.
func testExpiredSkipped(e *env) {
	now := time.Now().Truncate(time.Second)
	past := e.record("past", []byte("expired an hour ago"))
	past.ExpiresAt = now.Add(-time.Hour)
	atNow := e.record("at-now", []byte("expires at now"))
	atNow.ExpiresAt = now
	live := e.record("live", []byte("live value"))
	if e.h.Caps.Expiry {
		live.ExpiresAt = now.Add(time.Hour)
	}
	recs := []source.Record{past, atNow, live}

	res := e.write(recs, source.Replace, now)
	checkCounts(e, res, counts{written: 1, expired: 2})
	e.check([]source.Record{live})

	res = e.write(recs[:2], source.KeepExisting, now)
	checkCounts(e, res, counts{expired: 2})
	e.check([]source.Record{live})
}

// testWriteRejected checks that a read-only source reports itself as
// read-only and rejects a Write.
func testWriteRejected(e *env) {
	ro, ok := e.src.(source.ReadOnly)
	if !ok || !ro.ReadOnly() {
		e.t.Errorf("source %T does not implement source.ReadOnly "+
			"returning true, but Caps.ReadOnly is set", e.src)
	}
	recs := []source.Record{e.record("a", []byte("value a"))}
	_, err := e.src.Write(e.t.Context(), e.ns, recs, source.Replace,
		time.Now())
	if err == nil {
		e.t.Fatal("Write to a read-only source returned no error")
	}
	e.checkNoSecret("Write error", err.Error())
}

// testConcurrentWrite runs as many Write calls at once as the source's
// WriteConcurrency allows, each with its own keys.
func testConcurrentWrite(e *env) {
	cw, ok := e.src.(source.ConcurrentWriter)
	if !ok {
		e.t.Skipf("source %T does not implement source.ConcurrentWriter",
			e.src)
	}
	n := cw.WriteConcurrency()
	if n < 1 {
		e.t.Fatalf("WriteConcurrency() = %d, want at least 1", n)
	}

	const perWriter = 3 * writeBatch / 2
	all := e.numbered("key", n*perWriter)
	var wg sync.WaitGroup
	errs := make([]error, n)
	results := make([]source.WriteResult, n)
	for w := range n {
		wg.Go(func() {
			results[w], errs[w] = writeAll(e,
				all[w*perWriter:(w+1)*perWriter])
		})
	}
	wg.Wait()

	for w := range n {
		if errs[w] != nil {
			e.t.Errorf("writer %d of %d: %v", w, n, errs[w])
		}
		if results[w].Written != perWriter {
			e.t.Errorf("writer %d of %d: Written = %d, want %d",
				w, n, results[w].Written, perWriter)
		}
	}
	e.check(all)
}

// writeAll writes recs in KeepExisting mode, writeBatch records per
// call. It returns errors instead of failing the test, because it runs
// outside the test's goroutine.
func writeAll(e *env, recs []source.Record) (source.WriteResult, error) {
	var total source.WriteResult
	for start := 0; start < len(recs); start += writeBatch {
		batch := recs[start:min(start+writeBatch, len(recs))]
		res, err := e.src.Write(e.t.Context(), e.ns, batch,
			source.KeepExisting, time.Now())
		total.Add(res)
		if err != nil {
			return total, fmt.Errorf("write records %d to %d: %w",
				start, start+len(batch), err)
		}
	}
	return total, nil
}

// counts is the expected outcome of one Write call.
type counts struct {
	written, expired, deleted int64
}

func checkCounts(e *env, res source.WriteResult, want counts) {
	e.t.Helper()
	if res.Written != want.written {
		e.t.Errorf("Written = %d, want %d", res.Written, want.written)
	}
	if res.Expired != want.expired {
		e.t.Errorf("Expired = %d, want %d", res.Expired, want.expired)
	}
	if res.Deleted != want.deleted {
		e.t.Errorf("Deleted = %d, want %d", res.Deleted, want.deleted)
	}
}

// checkConflicts compares the reported conflicts with the test keys
// want, in any order.
func checkConflicts(e *env, got [][]byte, want ...string) {
	e.t.Helper()
	gotKeys := make([]string, len(got))
	for i, k := range got {
		gotKeys[i] = string(k)
	}
	wantKeys := make([]string, len(want))
	for i, k := range want {
		wantKeys[i] = string(e.key(k))
	}
	slices.Sort(gotKeys)
	slices.Sort(wantKeys)
	if !slices.Equal(gotKeys, wantKeys) {
		e.t.Errorf("Conflicts = %q, want %q", gotKeys, wantKeys)
	}
}
