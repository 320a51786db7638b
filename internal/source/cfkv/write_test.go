package cfkv

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lifeline-backup/lifeline/internal/source"
	"github.com/lifeline-backup/lifeline/internal/source/cfkv/cftest"
)

func TestWrite_SkipsWhatCloudflareRejects(t *testing.T) {
	srv := newServer(t)
	id := srv.CreateNamespace("ns")
	s, _ := newSource(t, srv, nil)
	now := time.Now()
	tooLong := strings.Repeat("é", 256) + "x" // 513 bytes
	records := []source.Record{
		{Key: []byte("soon"), Value: []byte("v"),
			ExpiresAt: now.Add(30 * time.Second)},
		{Key: []byte(tooLong), Value: []byte("v")},
		{Key: []byte("."), Value: []byte("v")},
		{Key: []byte{0xff, 'k'}, Value: []byte("v")},
		{Key: []byte("bad-metadata"), Value: []byte("v"),
			Metadata: []byte("not json")},
		{Key: []byte("big-metadata"), Value: []byte("v"),
			Metadata: []byte(`"` + strings.Repeat("m", 1023) + `"`)},
		{Key: []byte("later"), Value: []byte("v"),
			ExpiresAt: now.Add(2 * time.Minute)},
		{Key: []byte("gone"), Value: []byte("v"),
			ExpiresAt: now.Add(-time.Second)},
	}

	res, err := s.Write(t.Context(), "ns", records, source.Replace, now)
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	if res.Written != 1 {
		t.Errorf("Written = %d, want 1", res.Written)
	}
	if res.Expired != 1 {
		t.Errorf("Expired = %d, want 1", res.Expired)
	}
	want := map[string]SkipReason{
		"soon":         SkipTooSoon,
		tooLong:        SkipKeyTooLong,
		".":            SkipInvalidKey,
		"\xffk":        SkipInvalidKey,
		"bad-metadata": SkipInvalidMetadata,
		"big-metadata": SkipInvalidMetadata,
	}
	skipped := s.Skipped()
	for _, sk := range skipped {
		if sk.Namespace != "ns" {
			t.Errorf("skip of %q names namespace %q, want ns", sk.Key,
				sk.Namespace)
		}
		if want[string(sk.Key)] != sk.Reason {
			t.Errorf("key %q skipped for %q, want %q", sk.Key, sk.Reason,
				want[string(sk.Key)])
		}
	}
	if len(skipped) != len(want) {
		t.Errorf("Skipped() returned %d records, want %d", len(skipped),
			len(want))
	}
	if again := s.Skipped(); len(again) != 0 {
		t.Errorf("second Skipped() returned %d records, want 0",
			len(again))
	}
	got := srv.Entries(id)
	if _, ok := got["later"]; !ok || len(got) != 1 {
		t.Errorf("server holds %d keys, want only \"later\"", len(got))
	}
}

func TestWrite_KeepExistingConflicts(t *testing.T) {
	srv := newServer(t)
	id := srv.CreateNamespace("ns")
	srv.Put(id, "taken", cftest.Entry{Value: []byte("old")})
	s, _ := newSource(t, srv, nil)
	now := time.Now()
	records := []source.Record{
		{Key: []byte("taken"), Value: []byte("new")},
		{Key: []byte("free"), Value: []byte("new")},
	}

	res, err := s.Write(t.Context(), "ns", records, source.KeepExisting, now)
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	if res.Written != 1 {
		t.Errorf("Written = %d, want 1", res.Written)
	}
	if len(res.Conflicts) != 1 || string(res.Conflicts[0]) != "taken" {
		t.Errorf("Conflicts = %q, want [taken]", res.Conflicts)
	}
	if v := srv.Entries(id)["taken"].Value; string(v) != "old" {
		t.Errorf("existing key holds %q, want old", v)
	}

	// The index built for now also contains the key written just before.
	res, err = s.Write(t.Context(), "ns", records[1:], source.KeepExisting,
		now)
	if err != nil {
		t.Fatalf("second Write: %v", err)
	}
	if res.Written != 0 || len(res.Conflicts) != 1 {
		t.Errorf("second Write: Written = %d, Conflicts = %q, want 0 "+
			"and [free]", res.Written, res.Conflicts)
	}
}

func TestWrite_ReplaceAndTombstones(t *testing.T) {
	srv := newServer(t)
	id := srv.CreateNamespace("ns")
	srv.Put(id, "a", cftest.Entry{Value: []byte("old")})
	srv.Put(id, "b", cftest.Entry{Value: []byte("old")})
	s, _ := newSource(t, srv, nil)
	now := time.Now()
	tomb := []source.Record{{Key: []byte("b"), Deleted: true}}

	res, err := s.Write(t.Context(), "ns", tomb, source.KeepExisting, now)
	if err != nil {
		t.Fatalf("Write of a tombstone with KeepExisting: %v", err)
	}
	if res.Deleted != 0 || len(srv.Entries(id)) != 2 {
		t.Errorf("KeepExisting applied a tombstone: Deleted = %d",
			res.Deleted)
	}

	records := append([]source.Record{
		{Key: []byte("a"), Value: []byte("new")}}, tomb...)
	res, err = s.Write(t.Context(), "ns", records, source.Replace, now)
	if err != nil {
		t.Fatalf("Write with Replace: %v", err)
	}
	if res.Written != 1 || res.Deleted != 1 {
		t.Errorf("Written = %d, Deleted = %d, want 1 and 1", res.Written,
			res.Deleted)
	}
	got := srv.Entries(id)
	if string(got["a"].Value) != "new" {
		t.Errorf("a holds %q, want new", got["a"].Value)
	}
	if _, ok := got["b"]; ok {
		t.Error("b still exists after its tombstone")
	}
}

func TestWrite_SplitsBulkRequests(t *testing.T) {
	srv := newServer(t)
	id := srv.CreateNamespace("ns")
	s, _ := newSource(t, srv, nil)
	const n = 2*cftest.MaxBulkPairs + 5
	records := make([]source.Record, n)
	for i := range records {
		records[i] = source.Record{Key: fmt.Appendf(nil, "k%06d", i),
			Value: []byte("v")}
	}

	res, err := s.Write(t.Context(), "ns", records, source.Replace,
		time.Now())
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	if res.Written != n {
		t.Errorf("Written = %d, want %d", res.Written, n)
	}
	if got := srv.Stats().BulkWrites; got != 3 {
		t.Errorf("bulk writes = %d, want 3", got)
	}
	if got := len(srv.Entries(id)); got != n {
		t.Errorf("server holds %d keys, want %d", got, n)
	}
}

func TestWrite_RetriesUnsuccessfulKeys(t *testing.T) {
	srv := newServer(t)
	id := srv.CreateNamespace("ns")
	s, sl := newSource(t, srv, nil)
	records := make([]source.Record, 20)
	for i := range records {
		records[i] = source.Record{Key: fmt.Appendf(nil, "k%02d", i),
			Value: []byte("v")}
	}
	srv.SetFaults(cftest.Faults{Unsuccessful: 5})

	res, err := s.Write(t.Context(), "ns", records, source.Replace,
		time.Now())
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	if res.Written != 20 {
		t.Errorf("Written = %d, want 20", res.Written)
	}
	if got := srv.Stats().BulkWrites; got != 2 {
		t.Errorf("bulk writes = %d, want 2", got)
	}
	if got := len(srv.Entries(id)); got != 20 {
		t.Errorf("server holds %d keys, want 20", got)
	}
	if w := sl.recorded(); len(w) != 1 || w[0] != firstBackoff {
		t.Errorf("waits = %v, want one of %v", w, firstBackoff)
	}
}

func TestWrite_UnknownNamespace(t *testing.T) {
	srv := newServer(t)
	s, _ := newSource(t, srv, nil)
	_, err := s.Write(t.Context(), "missing",
		[]source.Record{{Key: []byte("k"), Value: []byte("v")}},
		source.Replace, time.Now())
	if err == nil || !strings.Contains(err.Error(), `"missing"`) {
		t.Fatalf("Write to a missing namespace: error %v, want one "+
			"naming it", err)
	}
}
