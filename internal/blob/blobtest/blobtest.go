// Package blobtest is the conformance suite that every blob.Store
// implementation must pass.
//
// It is meant for tests only: each implementation's test calls Run with a
// function that opens a fresh, empty store.
package blobtest

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/lifeline-backup/lifeline/internal/blob"
)

// Run runs the conformance suite against stores made by newStore, which
// must return a new, empty store for each call.
func Run(t *testing.T, newStore func(t *testing.T) blob.Store) {
	t.Helper()
	tests := []struct {
		name string
		run  func(t *testing.T, s blob.Store)
	}{
		{"PutGetEmpty", testPutGetEmpty},
		{"PutGetBinary", testPutGetBinary},
		{"PutGetLarge", testPutGetLarge},
		{"PutUnknownSize", testPutUnknownSize},
		{"PutExisting", testPutExisting},
		{"MissingObject", testMissingObject},
		{"Stat", testStat},
		{"List", testList},
		{"ListLexicalOrder", testListLexicalOrder},
		{"ListStopEarly", testListStopEarly},
		{"DeleteThenGet", testDeleteThenGet},
		{"ConcurrentPut", testConcurrentPut},
		{"FailingReader", testFailingReader},
		{"ShortReader", testShortReader},
		{"CanceledContext", testCanceledContext},
		{"String", testString},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, newStore(t))
		})
	}
}

// randomBytes returns n bytes from a generator seeded with seed, so a
// failing case can be reproduced.
func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func put(t *testing.T, s blob.Store, name string, data []byte) {
	t.Helper()
	r := bytes.NewReader(data)
	if err := s.Put(t.Context(), name, r, int64(len(data))); err != nil {
		t.Fatalf("Put(%q): %v", name, err)
	}
}

func checkContent(t *testing.T, s blob.Store, name string, want []byte) {
	t.Helper()
	got, err := blob.ReadAll(t.Context(), s, name)
	if err != nil {
		t.Fatalf("ReadAll(%q): %v", name, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("ReadAll(%q) = %d bytes, want %d bytes equal to the "+
			"stored content", name, len(got), len(want))
	}
}

func checkNotFound(t *testing.T, s blob.Store, name string) {
	t.Helper()
	_, err := s.Stat(t.Context(), name)
	if !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Stat(%q) error = %v, want blob.ErrNotFound", name, err)
	}
}

func testPutGetEmpty(t *testing.T, s blob.Store) {
	put(t, s, "empty", nil)
	checkContent(t, s, "empty", nil)
}

func testPutGetBinary(t *testing.T, s blob.Store) {
	data := []byte{0, 1, 2, 0xff, 0xfe, '\n', '\r', 0, 0x80}
	data = append(data, randomBytes(4096, 1)...)
	put(t, s, "keys/binary", data)
	checkContent(t, s, "keys/binary", data)
}

func testPutGetLarge(t *testing.T, s blob.Store) {
	data := randomBytes(5<<20+17, 2)
	put(t, s, "data/large", data)
	checkContent(t, s, "data/large", data)
}

// testPutUnknownSize stores an object whose size is given as -1.
func testPutUnknownSize(t *testing.T, s blob.Store) {
	data := randomBytes(100_000, 3)
	// The wrapper hides the size that bytes.Reader would reveal.
	r := struct{ io.Reader }{bytes.NewReader(data)}
	if err := s.Put(t.Context(), "unknown-size", r, -1); err != nil {
		t.Fatalf("Put with size -1: %v", err)
	}
	checkContent(t, s, "unknown-size", data)
}

func testPutExisting(t *testing.T, s blob.Store) {
	first := []byte("first content")
	put(t, s, "snapshots/one", first)

	second := []byte("second content, longer than the first")
	r := bytes.NewReader(second)
	err := s.Put(t.Context(), "snapshots/one", r, int64(len(second)))
	if !errors.Is(err, blob.ErrExists) {
		t.Fatalf("second Put error = %v, want blob.ErrExists", err)
	}
	checkContent(t, s, "snapshots/one", first)
}

func testMissingObject(t *testing.T, s blob.Store) {
	ctx := t.Context()
	put(t, s, "present", []byte("x"))

	_, err := s.Get(ctx, "missing")
	if !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Get error = %v, want blob.ErrNotFound", err)
	}
	_, err = s.Stat(ctx, "missing")
	if !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Stat error = %v, want blob.ErrNotFound", err)
	}
	err = s.Delete(ctx, "missing")
	if !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Delete error = %v, want blob.ErrNotFound", err)
	}
	_, err = s.Get(ctx, "dir/missing")
	if !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Get in a missing folder error = %v, "+
			"want blob.ErrNotFound", err)
	}
}

func testStat(t *testing.T, s blob.Store) {
	data := randomBytes(12345, 4)
	put(t, s, "data/ab/abcdef", data)

	info, err := s.Stat(t.Context(), "data/ab/abcdef")
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	if info.Name != "data/ab/abcdef" || info.Size != int64(len(data)) {
		t.Fatalf("Stat = %+v, want name data/ab/abcdef and size %d",
			info, len(data))
	}
	// Prune ages objects by ModTime, so it must be close to now.
	if age := time.Since(info.ModTime); age < -time.Hour || age > time.Hour {
		t.Errorf("Stat ModTime = %v, want about now", info.ModTime)
	}
}

func collect(t *testing.T, s blob.Store, prefix string) []blob.Info {
	t.Helper()
	var got []blob.Info
	for info, err := range s.List(t.Context(), prefix) {
		if err != nil {
			t.Fatalf("List(%q): %v", prefix, err)
		}
		got = append(got, info)
	}
	return got
}

func checkList(t *testing.T, s blob.Store, prefix string, want []blob.Info) {
	t.Helper()
	got := collect(t, s, prefix)
	if len(got) != len(want) {
		t.Fatalf("List(%q) = %+v, want %+v", prefix, got, want)
	}
	for i := range want {
		if got[i].ModTime.IsZero() {
			t.Errorf("List(%q)[%d] has no ModTime", prefix, i)
		}
		got[i].ModTime = time.Time{}
		if got[i] != want[i] {
			t.Fatalf("List(%q)[%d] = %+v, want %+v",
				prefix, i, got[i], want[i])
		}
	}
}

func testList(t *testing.T, s blob.Store) {
	objects := []blob.Info{
		{Name: "config", Size: 3},
		{Name: "data/ab/abcdef", Size: 10},
		{Name: "data/ab/ab0000", Size: 0},
		{Name: "data/cd/cd1234", Size: 7},
		{Name: "index/0001", Size: 5},
	}
	for i, o := range objects {
		put(t, s, o.Name, randomBytes(int(o.Size), uint64(10+i)))
	}

	all := []blob.Info{objects[0], objects[2], objects[1],
		objects[3], objects[4]}
	checkList(t, s, "", all)
	checkList(t, s, "data/", all[1:4])
	checkList(t, s, "data/ab/", all[1:3])
	checkList(t, s, "data/ab/abc", all[2:3])
	checkList(t, s, "data/a", all[1:3])
	checkList(t, s, "index/0001", all[4:5])
	checkList(t, s, "conf", all[0:1])
	checkList(t, s, "nothing/", nil)
	checkList(t, s, "data/ab/abcdefg", nil)
}

// testListLexicalOrder checks that names are ordered as strings, so "a-b"
// ('-' is 0x2d) comes before "a/b" ('/' is 0x2f) even though "a" is a
// folder in a file system.
func testListLexicalOrder(t *testing.T, s blob.Store) {
	names := []string{"a/b", "a-b", "a0", "a/a/z", "a.b", "b"}
	for _, name := range names {
		put(t, s, name, []byte(name))
	}
	want := []blob.Info{
		{Name: "a-b", Size: 3},
		{Name: "a.b", Size: 3},
		{Name: "a/a/z", Size: 5},
		{Name: "a/b", Size: 3},
		{Name: "a0", Size: 2},
		{Name: "b", Size: 1},
	}
	checkList(t, s, "", want)
	checkList(t, s, "a", want[:5])
}

func testListStopEarly(t *testing.T, s blob.Store) {
	for _, name := range []string{"p/1", "p/2", "p/3"} {
		put(t, s, name, []byte(name))
	}
	var got []string
	for info, err := range s.List(t.Context(), "p/") {
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		got = append(got, info.Name)
		break
	}
	if len(got) != 1 || got[0] != "p/1" {
		t.Fatalf("List stopped after one = %q, want [p/1]", got)
	}
}

func testDeleteThenGet(t *testing.T, s blob.Store) {
	put(t, s, "data/ab/abcdef", []byte("content"))
	put(t, s, "data/ab/abcdeg", []byte("neighbour"))

	if err := s.Delete(t.Context(), "data/ab/abcdef"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	_, err := s.Get(t.Context(), "data/ab/abcdef")
	if !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Get after Delete error = %v, want blob.ErrNotFound", err)
	}
	checkList(t, s, "data/", []blob.Info{{Name: "data/ab/abcdeg", Size: 9}})
	checkContent(t, s, "data/ab/abcdeg", []byte("neighbour"))

	// The name can be used again once the object is gone.
	put(t, s, "data/ab/abcdef", []byte("again"))
	checkContent(t, s, "data/ab/abcdef", []byte("again"))
}
