package bolt

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/lifeline-backup/lifeline/internal/source"
)

// seedFile writes bucket "ns" with key a=old, nested bucket "n"
// (sequence 3) holding x=old, and value "v" where a record may want a
// bucket.
func seedFile(t *testing.T) string {
	t.Helper()
	path := tempFile(t, "target.db")
	update(t, path, func(tx *bbolt.Tx) error {
		b, _ := tx.CreateBucket([]byte("ns"))
		b.SetSequence(9)
		b.Put([]byte("a"), []byte("old"))
		b.Put([]byte("v"), []byte("old"))
		n, _ := b.CreateBucket([]byte("n"))
		n.SetSequence(3)
		return n.Put([]byte("x"), []byte("old"))
	})
	return path
}

// getValue returns the value at the nested path in bucket "ns", or nil
// if there is none.
func getValue(t *testing.T, path string, keys ...string) []byte {
	t.Helper()
	for _, e := range dumpFile(t, path)["ns"] {
		if e.path == string(EncodeKey(toPath(keys))) && !e.bucket {
			return e.value
		}
	}
	return nil
}

func toPath(keys []string) [][]byte {
	path := make([][]byte, len(keys))
	for i, k := range keys {
		path[i] = []byte(k)
	}
	return path
}

func TestWrite_KeepExistingConflicts(t *testing.T) {
	path := seedFile(t)
	before := dumpFile(t, path)
	s := newSource(t, Config{Path: path})
	records := []source.Record{
		bucketRec("", 1),            // other sequence: conflict
		valueRec("a", "new"),        // existing key: conflict
		bucketRec("n", 3),           // same sequence: nothing to do
		valueRec("n\x00x", "new"),   // existing nested key: conflict
		valueRec("v\x00y", "new"),   // value "v" in the way: conflict
		bucketRec("a", 0),           // value "a" in the way: conflict
		valueRec("n", "new"),        // bucket "n" in the way: conflict
		valueRec("b", "added"),      // new key: written
		valueRec("n\x00z", "added"), // new nested key: written
	}
	res, err := s.Write(context.Background(), "ns", records,
		source.KeepExisting, time.Now())
	if err != nil {
		t.Fatalf("Write: %v", err)
	}

	wantConflicts := []string{"", "a", "n\x00x", "v\x00y", "a", "n"}
	if len(res.Conflicts) != len(wantConflicts) {
		t.Fatalf("Conflicts = %q, want %q", res.Conflicts, wantConflicts)
	}
	for i, want := range wantConflicts {
		if string(res.Conflicts[i]) != want {
			t.Errorf("Conflicts[%d] = %q, want %q",
				i, res.Conflicts[i], want)
		}
	}
	if res.Written != 2 {
		t.Errorf("Written = %d, want 2", res.Written)
	}

	// Everything seeded is unchanged, and only the two new keys differ.
	after := dumpFile(t, path)
	for _, e := range after["ns"] {
		if e.path == "b" || e.path == "n\x00z" {
			if string(e.value) != "added" {
				t.Errorf("value at %q = %q, want added", e.path, e.value)
			}
		}
	}
	after["ns"] = removeEntries(after["ns"], "b", "n\x00z")
	compareDumps(t, after, before)
}

func removeEntries(entries []entry, paths ...string) []entry {
	return slices.DeleteFunc(entries, func(e entry) bool {
		return slices.Contains(paths, e.path)
	})
}

func TestWrite_ReplaceOverwrites(t *testing.T) {
	path := seedFile(t)
	s := newSource(t, Config{Path: path})
	records := []source.Record{
		bucketRec("", 1),
		valueRec("a", "new"),
		bucketRec("n", 4),
		valueRec("n\x00x", "new"),
		valueRec("v\x00y", "new"), // replaces value "v" with a bucket
	}
	res, err := s.Write(context.Background(), "ns", records,
		source.Replace, time.Now())
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	if res.Written != 5 || len(res.Conflicts) != 0 {
		t.Fatalf("Write = %+v, want 5 written and no conflicts", res)
	}

	want := []entry{
		{path: "", bucket: true, sequence: 1},
		{path: "a", value: []byte("new")},
		{path: "n", bucket: true, sequence: 4},
		{path: "n\x00x", value: []byte("new")},
		{path: "v", bucket: true},
		{path: "v\x00y", value: []byte("new")},
	}
	compareDumps(t, dumpFile(t, path), map[string][]entry{"ns": want})
}

func TestWrite_ReplaceBucketWithValue(t *testing.T) {
	path := seedFile(t)
	s := newSource(t, Config{Path: path})
	_, err := s.Write(context.Background(), "ns",
		[]source.Record{valueRec("n", "flat")}, source.Replace, time.Now())
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	if got := getValue(t, path, "n"); string(got) != "flat" {
		t.Fatalf("value at n = %q, want flat", got)
	}
	if got := getValue(t, path, "n", "x"); got != nil {
		t.Fatalf("value at n/x = %q, want the old bucket gone", got)
	}
}

func TestWrite_Tombstones(t *testing.T) {
	tombstones := []source.Record{
		{Key: []byte("a"), Deleted: true},
		{Key: []byte("n"), Deleted: true},
		{Key: []byte("missing"), Deleted: true},
		{Key: []byte("missing\x00deeper"), Deleted: true},
		{Key: []byte(""), Deleted: true, Metadata: bucketMetadata(0)},
	}

	t.Run("keep existing ignores them", func(t *testing.T) {
		path := seedFile(t)
		before := dumpFile(t, path)
		res, err := newSource(t, Config{Path: path}).Write(
			context.Background(), "ns", tombstones, source.KeepExisting,
			time.Now())
		if err != nil {
			t.Fatalf("Write: %v", err)
		}
		if res.Deleted != 0 || res.Written != 0 {
			t.Fatalf("Write = %+v, want nothing deleted or written", res)
		}
		compareDumps(t, dumpFile(t, path), before)
	})

	t.Run("replace deletes keys and buckets", func(t *testing.T) {
		path := seedFile(t)
		res, err := newSource(t, Config{Path: path}).Write(
			context.Background(), "ns", tombstones, source.Replace,
			time.Now())
		if err != nil {
			t.Fatalf("Write: %v", err)
		}
		if res.Deleted != 2 {
			t.Fatalf("Deleted = %d, want 2", res.Deleted)
		}
		want := []entry{
			{path: "", bucket: true, sequence: 9},
			{path: "v", value: []byte("old")},
		}
		compareDumps(t, dumpFile(t, path),
			map[string][]entry{"ns": want})
	})
}

func TestWrite_SkipsExpired(t *testing.T) {
	path := seedFile(t)
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	records := []source.Record{
		{Key: []byte("gone"), Value: []byte("x"), ExpiresAt: now},
		{Key: []byte("old"), Value: []byte("x"),
			ExpiresAt: now.Add(-time.Hour)},
		{Key: []byte("live"), Value: []byte("x"),
			ExpiresAt: now.Add(time.Nanosecond)},
	}
	res, err := newSource(t, Config{Path: path}).Write(
		context.Background(), "ns", records, source.Replace, now)
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	if res.Expired != 2 || res.Written != 1 {
		t.Fatalf("Write = %+v, want 2 expired and 1 written", res)
	}
	if getValue(t, path, "gone") != nil || getValue(t, path, "old") != nil {
		t.Fatal("expired records were written")
	}
	if string(getValue(t, path, "live")) != "x" {
		t.Fatal("live record missing")
	}
}

func TestWrite_InvalidRecordWritesNothing(t *testing.T) {
	tests := []struct {
		name   string
		record source.Record
		want   error
	}{
		{"bad escape", valueRec("k\x01\x09", "secret-value"), ErrInvalidKey},
		{"empty value key", valueRec("", "secret-value"), ErrInvalidKey},
		{"bad metadata", source.Record{Key: []byte("k"),
			Value: []byte("secret-value"), Metadata: []byte("ttl")},
			ErrInvalidMetadata},
		{"key too large", source.Record{
			Key: bytes.Repeat([]byte("k"), bbolt.MaxKeySize+1)},
			berrors.ErrKeyTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := seedFile(t)
			before := dumpFile(t, path)
			records := []source.Record{valueRec("first", "x"), tt.record}
			_, err := newSource(t, Config{Path: path}).Write(
				context.Background(), "ns", records, source.Replace,
				time.Now())
			if !errors.Is(err, tt.want) {
				t.Fatalf("Write error = %v, want %v", err, tt.want)
			}
			msg := err.Error()
			if !strings.Contains(msg, path) ||
				!strings.Contains(msg, `"ns"`) {
				t.Errorf("error %q does not name the path and namespace",
					msg)
			}
			if strings.Contains(msg, "secret-value") {
				t.Errorf("error %q contains the record value", msg)
			}
			compareDumps(t, dumpFile(t, path), before)
		})
	}
}

func TestWrite_CanceledContext(t *testing.T) {
	path := seedFile(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := newSource(t, Config{Path: path}).Write(ctx, "ns",
		[]source.Record{valueRec("k", "v")}, source.Replace, time.Now())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Write error = %v, want context.Canceled", err)
	}
}

func TestWrite_NewTopLevelBucket(t *testing.T) {
	path := seedFile(t)
	s := newSource(t, Config{Path: path})
	res, err := s.Write(context.Background(), "fresh",
		[]source.Record{bucketRec("", 42), valueRec("k", "v")},
		source.KeepExisting, time.Now())
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	if res.Written != 2 {
		t.Fatalf("Written = %d, want 2", res.Written)
	}
	want := []entry{
		{path: "", bucket: true, sequence: 42},
		{path: "k", value: []byte("v")},
	}
	got := dumpFile(t, path)["fresh"]
	compareDumps(t, map[string][]entry{"fresh": got},
		map[string][]entry{"fresh": want})
}
