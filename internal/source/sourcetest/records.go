package sourcetest

import (
	"bytes"
	"fmt"
	"time"

	"github.com/lifeline-backup/lifeline/internal/source"
)

// testRoundTrip writes records with distinct values and, where the store
// keeps them, metadata and expiries, and reads them back.
func testRoundTrip(e *env) {
	// The odd nanoseconds check that a store with a coarser resolution
	// stays within its granularity.
	base := time.Now().Add(time.Hour).Add(123_456_789 * time.Nanosecond)
	var recs []source.Record
	for i := range 20 {
		rec := e.record(fmt.Sprintf("user:%03d", i),
			fmt.Appendf(nil, "value of user %d", i))
		if e.h.Caps.Metadata && i%2 == 0 {
			rec.Metadata = fmt.Appendf(nil, "metadata %d", i)
		}
		if e.h.Caps.Expiry && i%3 != 0 {
			rec.ExpiresAt = base.Add(time.Duration(i) * time.Second)
		}
		recs = append(recs, rec)
	}
	e.put(recs)
	e.check(recs)
}

// testBinaryKeys stores keys that hold every byte value, zero bytes and
// invalid UTF-8.
func testBinaryKeys(e *env) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	keys := [][]byte{all, {0}, {0, 0}, {0xff, 0xfe, 0xfd}, {'a', 0, 'b'},
		{1}, {1, 1}, {'\r', '\n'}, {0xc3, 0x28}}
	for i := range 256 {
		keys = append(keys, []byte{'k', byte(i), 0xff, byte(i)})
	}
	recs := make([]source.Record, len(keys))
	for i, k := range keys {
		recs[i] = e.record(string(k), fmt.Appendf(nil, "value %d", i))
	}
	e.put(recs)
	e.check(recs)
}

// testBinaryValues stores values that hold every byte value, zero bytes
// and invalid UTF-8.
func testBinaryValues(e *env) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(255 - i)
	}
	values := [][]byte{all, {0}, {0, 0, 0}, {0xc3, 0x28},
		randomBytes(4096, 1), bytes.Repeat([]byte{0xff}, 100)}
	recs := make([]source.Record, len(values))
	for i, v := range values {
		recs[i] = e.record(fmt.Sprintf("binary:%d", i), v)
	}
	e.put(recs)
	e.check(recs)
}

// testEmptyValue stores an empty value next to a non-empty one.
func testEmptyValue(e *env) {
	recs := []source.Record{
		e.record("empty", nil),
		e.record("full", []byte("not empty")),
	}
	e.put(recs)
	e.check(recs)
}

// testEmptyKey stores a record whose key is empty.
func testEmptyKey(e *env) {
	recs := []source.Record{
		e.record("", []byte("value of the empty key")),
		e.record("other", []byte("other value")),
	}
	e.put(recs)
	e.check(recs)
}

// testLongKey stores a key of Caps.MaxKeyLen bytes.
func testLongKey(e *env) {
	long := bytes.Repeat([]byte("k"), e.h.Caps.MaxKeyLen)
	recs := []source.Record{
		e.record(string(long), []byte("value of the long key")),
		e.record("short", []byte("value of the short key")),
	}
	e.put(recs)
	e.check(recs)
}

// testLargeValue stores a value of 1 MiB.
func testLargeValue(e *env) {
	recs := []source.Record{
		e.record("large", randomBytes(1<<20, 2)),
		e.record("small", []byte("small value")),
	}
	e.put(recs)
	e.check(recs)
}
