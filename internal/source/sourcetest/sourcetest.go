// Package sourcetest is the conformance suite that every source adapter
// must pass.
//
// An adapter's test calls Run with a Harness that opens a fresh, empty
// source for each subtest and says through Caps what the store supports.
// The suite writes records with the source's own Write (or with
// Caps.Seed for a read-only source), reads them back with Read and checks
// the Write contract of package source: KeepExisting, Replace,
// tombstones and expired records. It also checks that a large namespace
// is read completely, that a key deleted during a read does not break
// the read, that closing an iterator early releases the store, and that
// Describe and errors hold no secret.
//
// The package is for tests only and is not imported by lifeline itself.
package sourcetest

import (
	"testing"
	"time"

	"github.com/lifeline-backup/lifeline/internal/source"
)

// Harness describes one adapter under test.
type Harness struct {
	// New returns a fresh, empty source and the name of a namespace in it
	// that the suite writes into. Run calls it once per subtest and
	// closes the source when the subtest ends.
	New func(t *testing.T) (src source.Source, namespace string)
	// Delete removes the record key (as Read returns it) from namespace
	// directly in the store, behind the source's back, while the suite
	// holds an open iterator of that namespace. Delete must return
	// without waiting for that iterator. A store whose readers lock out
	// writers, as bbolt's file lock does, may apply the delete after the
	// read ends. Delete is required.
	Delete func(t *testing.T, namespace string, key []byte)
	// UnknownNamespace is a namespace name that the source does not
	// have. The empty string means "sourcetest-unknown".
	UnknownNamespace string
	// Secrets lists strings, such as passwords and tokens, that must
	// appear neither in Describe nor in the errors the suite provokes.
	Secrets []string
	// Caps describes what the store supports.
	Caps Caps
}

// Caps describes what a store supports, so the suite runs only the cases
// that apply and compares records as the store keeps them.
type Caps struct {
	// BinaryKeys means a key may hold any bytes. Otherwise the suite
	// uses printable ASCII keys only.
	BinaryKeys bool
	// BinaryValues means a value may hold any bytes.
	BinaryValues bool
	// EmptyValues means a value may be empty.
	EmptyValues bool
	// EmptyKeys means a key may be empty.
	EmptyKeys bool
	// Metadata means Record.Metadata round-trips verbatim. Otherwise the
	// suite writes nil Metadata and does not check it on read.
	Metadata bool
	// Expiry means Record.ExpiresAt round-trips. Otherwise the suite
	// writes no expiry, except to check that expired records are
	// skipped.
	Expiry bool
	// ExpiryGranularity is the largest difference the suite accepts
	// between a written expiry and the one read back: the store's
	// resolution plus, for a store that reports a relative TTL, the time
	// a read takes. Zero demands the exact time.
	ExpiryGranularity time.Duration
	// MaxKeyLen is the length in bytes of the longest key the suite
	// writes, in its own case. Zero leaves that case out.
	MaxKeyLen int
	// KeyFor maps a test key to the record key that stores it, for a
	// store whose record keys are encoded (bbolt paths). Nil keeps the
	// key as it is.
	KeyFor func(key []byte) []byte
	// ValueFor maps a test value to a value the store accepts, for a
	// store that keeps values in its own format (Redis DUMP payloads).
	// The suite expects Read to return the mapped value byte for byte.
	// Nil keeps the value as it is.
	ValueFor func(t *testing.T, value []byte) []byte
	// AdapterRecord reports whether rec is a record that the adapter
	// returns on its own, such as a bbolt bucket record, which the suite
	// ignores when it compares what it read with what it wrote. Nil
	// means every record counts.
	AdapterRecord func(rec *source.Record) bool
	// RepeatsKeys means one Read may return a key more than once, as
	// Redis SCAN may. The suite then removes the repeats before it
	// compares; otherwise a repeated key fails the suite.
	RepeatsKeys bool
	// LargeNamespace is the number of keys in the large-namespace case.
	// Zero means DefaultLargeNamespace. An adapter whose store has a
	// slow or rate-limited API may lower it, with a comment in its
	// test that gives the reason.
	LargeNamespace int
	// UnknownNamespaceAnyError means Read of an unknown namespace may
	// fail with any error, because the store cannot tell a missing
	// namespace from other failures. Otherwise the error must wrap
	// source.ErrUnknownNamespace.
	UnknownNamespaceAnyError bool
	// ReadOnly means the source rejects writes, such as a bucket
	// listing. The suite then checks reads only, fills namespaces with
	// Seed and expects Write to fail.
	ReadOnly bool
	// Seed writes records into namespace directly in the store. It is
	// required when ReadOnly is set and unused otherwise.
	Seed func(t *testing.T, namespace string, recs []source.Record)
}

// DefaultLargeNamespace is the number of keys in the large-namespace
// case when Caps.LargeNamespace is zero.
const DefaultLargeNamespace = 100_000

// defaultUnknownNamespace is the namespace that the unknown-namespace
// case reads when Harness.UnknownNamespace is empty.
const defaultUnknownNamespace = "sourcetest-unknown"

// testCase is one subtest. skip returns why the case does not apply to
// the harness, or the empty string when it does.
type testCase struct {
	name string
	run  func(e *env)
	skip func(h *Harness) string
}

// Run runs every case that applies to h, each as a subtest on a fresh
// source from h.New. Cases that do not apply are logged with the reason.
func Run(t *testing.T, h Harness) {
	t.Helper()
	checkHarness(t, &h)
	for _, tc := range cases() {
		if tc.skip != nil {
			if reason := tc.skip(&h); reason != "" {
				t.Logf("case %s does not apply: %s", tc.name, reason)
				continue
			}
		}
		t.Run(tc.name, func(t *testing.T) {
			src, ns := h.New(t)
			t.Cleanup(func() {
				if err := src.Close(); err != nil {
					t.Errorf("Close source: %v", err)
				}
			})
			tc.run(&env{t: t, h: &h, src: src, ns: ns})
		})
	}
}

// checkHarness fails the test for a harness without its required
// functions.
func checkHarness(t *testing.T, h *Harness) {
	t.Helper()
	switch {
	case h.New == nil:
		t.Fatal("invalid sourcetest harness: missing New")
	case h.Delete == nil:
		t.Fatal("invalid sourcetest harness: missing Delete")
	case h.Caps.ReadOnly && h.Caps.Seed == nil:
		t.Fatal("invalid sourcetest harness: ReadOnly without Seed")
	case h.Caps.LargeNamespace < 0:
		t.Fatalf("invalid sourcetest harness: LargeNamespace %d is "+
			"negative", h.Caps.LargeNamespace)
	}
}

func cases() []testCase {
	return []testCase{
		{name: "RoundTrip", run: testRoundTrip},
		{name: "BinaryKeys", run: testBinaryKeys,
			skip: unless(func(c Caps) bool { return c.BinaryKeys },
				"keys must be printable")},
		{name: "BinaryValues", run: testBinaryValues,
			skip: unless(func(c Caps) bool { return c.BinaryValues },
				"values must be printable")},
		{name: "EmptyValue", run: testEmptyValue,
			skip: unless(func(c Caps) bool { return c.EmptyValues },
				"values must not be empty")},
		{name: "EmptyKey", run: testEmptyKey,
			skip: unless(func(c Caps) bool { return c.EmptyKeys },
				"keys must not be empty")},
		{name: "LongKey", run: testLongKey,
			skip: unless(func(c Caps) bool { return c.MaxKeyLen > 0 },
				"MaxKeyLen is zero")},
		{name: "LargeValue", run: testLargeValue},
		{name: "KeepExisting", run: testKeepExisting, skip: writable},
		{name: "Replace", run: testReplace, skip: writable},
		{name: "Tombstones", run: testTombstones, skip: writable},
		{name: "ExpiredSkipped", run: testExpiredSkipped, skip: writable},
		{name: "WriteRejected", run: testWriteRejected, skip: readOnly},
		{name: "UnknownNamespace", run: testUnknownNamespace},
		{name: "Namespaces", run: testNamespaces},
		{name: "LargeNamespace", run: testLargeNamespace},
		{name: "DeleteDuringRead", run: testDeleteDuringRead},
		{name: "CloseEarly", run: testCloseEarly},
		{name: "ConcurrentWrite", run: testConcurrentWrite,
			skip: writable},
		{name: "Describe", run: testDescribe},
	}
}

// unless returns a skip function that gives reason when has reports
// false for the harness's Caps.
func unless(has func(Caps) bool, reason string) func(*Harness) string {
	return func(h *Harness) string {
		if has(h.Caps) {
			return ""
		}
		return reason
	}
}

func writable(h *Harness) string {
	if h.Caps.ReadOnly {
		return "the source is read-only"
	}
	return ""
}

func readOnly(h *Harness) string {
	if !h.Caps.ReadOnly {
		return "the source accepts writes"
	}
	return ""
}
