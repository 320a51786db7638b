package sourcetest

import (
	"errors"
	"io"
	"slices"
	"time"

	"github.com/lifeline-backup/lifeline/internal/source"
)

// testUnknownNamespace reads a namespace that the source does not have.
func testUnknownNamespace(e *env) {
	e.put([]source.Record{e.record("a", []byte("value a"))})
	name := e.h.UnknownNamespace
	if name == "" {
		name = defaultUnknownNamespace
	}

	it, err := e.src.Read(e.t.Context(), name)
	if err == nil {
		it.Close()
		e.t.Fatalf("Read(%q) of an unknown namespace returned no error",
			name)
	}
	if !e.h.Caps.UnknownNamespaceAnyError &&
		!errors.Is(err, source.ErrUnknownNamespace) {
		e.t.Errorf("Read(%q) error = %v, want source.ErrUnknownNamespace",
			name, err)
	}
	e.checkNoSecret("Read error", err.Error())
}

// testNamespaces checks that Namespaces lists the namespace once it
// holds a record.
func testNamespaces(e *env) {
	e.put([]source.Record{e.record("a", []byte("value a"))})
	names, err := e.src.Namespaces(e.t.Context())
	if err != nil {
		e.t.Fatalf("Namespaces: %v", err)
	}
	if !slices.Contains(names, e.ns) {
		e.t.Errorf("Namespaces() = %q, want it to contain %q", names, e.ns)
	}
}

// testLargeNamespace reads a namespace of Caps.LargeNamespace keys and
// checks that each key is read once. Memory use is not measured.
func testLargeNamespace(e *env) {
	n := e.h.Caps.LargeNamespace
	if n == 0 {
		n = DefaultLargeNamespace
	}
	recs := e.numbered("key", n)
	e.put(recs)
	e.check(recs)
}

// testDeleteDuringRead deletes a key that a read has not returned yet,
// behind the source's back. The read may or may not return the deleted
// key, but it must not fail, must return it at most once and must
// return every other key.
func testDeleteDuringRead(e *env) {
	const n, before = 3000, 10
	recs := e.numbered("key", n)
	e.put(recs)
	it, err := e.src.Read(e.t.Context(), e.ns)
	if err != nil {
		e.t.Fatalf("Read(%q): %v", e.ns, err)
	}
	defer it.Close()

	r := &reader{e: e, it: it, seen: map[string]int{}}
	for range before {
		if !r.next() {
			e.t.Fatalf("Read(%q) ended after %d of %d records",
				e.ns, r.count, n)
		}
	}
	var victim []byte
	for _, rec := range recs {
		if r.seen[string(rec.Key)] == 0 {
			victim = rec.Key
			break
		}
	}
	e.h.Delete(e.t, e.ns, victim)
	for r.next() {
	}
	if err := it.Close(); err != nil {
		e.t.Errorf("Close iterator of %q: %v", e.ns, err)
	}
	checkSeen(e, r.seen, recs, victim)
}

// checkSeen checks the key counts of a read during which victim was
// deleted.
func checkSeen(e *env, seen map[string]int, recs []source.Record,
	victim []byte) {
	e.t.Helper()
	if seen[string(victim)] > 1 {
		e.t.Errorf("deleted key %q returned %d times",
			short(victim), seen[string(victim)])
	}
	written := make(map[string]bool, len(recs))
	for _, rec := range recs {
		written[string(rec.Key)] = true
		if string(rec.Key) == string(victim) {
			continue
		}
		got := seen[string(rec.Key)]
		switch {
		case got == 0:
			e.t.Errorf("key %q missing from the read", short(rec.Key))
		case got > 1 && !e.h.Caps.RepeatsKeys:
			e.t.Errorf("key %q returned %d times", short(rec.Key), got)
		}
	}
	for k := range seen {
		if !written[k] {
			e.t.Errorf("read returned key %q, which was never written",
				short([]byte(k)))
		}
	}
}

// testCloseEarly closes an iterator after a few records and checks that
// the store is free again: a Write succeeds, or for a read-only source,
// a new Read does.
func testCloseEarly(e *env) {
	const n, before = 3000, 5
	recs := e.numbered("key", n)
	e.put(recs)
	it, err := e.src.Read(e.t.Context(), e.ns)
	if err != nil {
		e.t.Fatalf("Read(%q): %v", e.ns, err)
	}
	r := &reader{e: e, it: it, seen: map[string]int{}}
	for range before {
		if !r.next() {
			e.t.Fatalf("Read(%q) ended after %d of %d records",
				e.ns, r.count, n)
		}
	}
	if err := it.Close(); err != nil {
		e.t.Fatalf("Close iterator of %q after %d records: %v",
			e.ns, before, err)
	}

	if !e.h.Caps.ReadOnly {
		extra := e.record("after-close", []byte("written after Close"))
		res := e.write([]source.Record{extra}, source.Replace, time.Now())
		checkCounts(e, res, counts{written: 1})
		recs = append(recs, extra)
	}
	e.check(recs)
}

// testDescribe checks that Describe names the source without a secret.
func testDescribe(e *env) {
	d, ok := e.src.(source.Describer)
	if !ok {
		e.t.Skipf("source %T does not implement source.Describer", e.src)
	}
	text := d.Describe()
	if text == "" {
		e.t.Error("Describe() returned the empty string")
	}
	e.checkNoSecret("Describe()", text)
}

// reader reads an iterator record by record and counts the keys.
type reader struct {
	e     *env
	it    source.Iterator
	seen  map[string]int
	count int
}

// next reads one record that Caps.AdapterRecord does not mark. It
// returns false at the end and fails the test on an error.
func (r *reader) next() bool {
	r.e.t.Helper()
	for {
		rec, err := r.it.Next(r.e.t.Context())
		if errors.Is(err, io.EOF) {
			return false
		}
		if err != nil {
			r.e.t.Fatalf("Next after %d records of %q: %v",
				r.count, r.e.ns, err)
		}
		if r.e.adapterRecord(rec) {
			continue
		}
		r.seen[string(rec.Key)]++
		r.count++
		return true
	}
}
