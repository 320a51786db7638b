package blobtest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
	"testing"

	"github.com/lifeline-backup/lifeline/internal/blob"
)

// testConcurrentPut races several writers on one name while a reader
// polls it: exactly one writer wins, and the reader sees either nothing or
// the winner's whole content.
func testConcurrentPut(t *testing.T, s blob.Store) {
	const writers = 6
	const name = "data/race"
	contents := make([][]byte, writers)
	for i := range contents {
		contents[i] = randomBytes(1<<20, uint64(100+i))
	}

	start := make(chan struct{})
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			<-start
			r := bytes.NewReader(contents[i])
			errs[i] = s.Put(t.Context(), name, r, int64(len(contents[i])))
		})
	}

	done := make(chan struct{})
	reads := make(chan []byte, 1024)
	readErrs := make(chan error, 1)
	go pollReads(t.Context(), s, name, done, reads, readErrs)

	close(start)
	wg.Wait()
	close(done)
	if err := <-readErrs; err != nil {
		t.Fatalf("concurrent Get: %v", err)
	}

	winner := checkOneWinner(t, errs)
	close(reads)
	for got := range reads {
		if !bytes.Equal(got, contents[winner]) {
			t.Fatalf("concurrent Get returned %d bytes that are not the "+
				"winning writer's content", len(got))
		}
	}
	checkContent(t, s, name, contents[winner])
}

// pollReads reads name until done is closed, sends every complete read to
// reads, and sends the first unexpected error, or nil, to errs.
func pollReads(ctx context.Context, s blob.Store, name string,
	done <-chan struct{}, reads chan<- []byte, errs chan<- error) {
	for {
		select {
		case <-done:
			errs <- nil
			return
		default:
		}
		got, err := blob.ReadAll(ctx, s, name)
		if errors.Is(err, blob.ErrNotFound) {
			continue
		}
		if err != nil {
			errs <- err
			return
		}
		select {
		case reads <- got:
		default:
			// The buffer is full, and enough reads were checked.
		}
	}
}

// checkOneWinner returns the index of the only nil error and checks that
// every other error is blob.ErrExists.
func checkOneWinner(t *testing.T, errs []error) int {
	t.Helper()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("writers %d and %d both succeeded", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, blob.ErrExists):
			t.Fatalf("writer %d error = %v, want blob.ErrExists", i, err)
		}
	}
	if winner < 0 {
		t.Fatalf("no writer succeeded, errors: %v", errs)
	}
	return winner
}

var errReader = errors.New("reader failed on purpose")

// failingReader returns n bytes of data and then errReader.
type failingReader struct {
	data []byte
}

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, errReader
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func testFailingReader(t *testing.T, s blob.Store) {
	sizes := []int64{1 << 20, 5<<20 + 17}
	for _, size := range sizes {
		r := &failingReader{data: randomBytes(int(size/2), 5)}
		err := s.Put(t.Context(), "data/failed", r, size)
		if err == nil {
			t.Fatalf("Put of %d bytes with a failing reader "+
				"returned nil, want an error", size)
		}
		checkNotFound(t, s, "data/failed")
		checkList(t, s, "", nil)
	}
}

// testShortReader gives Put fewer bytes than the size it announces.
func testShortReader(t *testing.T, s blob.Store) {
	data := randomBytes(1000, 6)
	err := s.Put(t.Context(), "short", bytes.NewReader(data), 2000)
	if err == nil {
		t.Fatal("Put of 1000 bytes announced as 2000 returned nil, " +
			"want an error")
	}
	checkNotFound(t, s, "short")
	checkList(t, s, "", nil)
}

func testCanceledContext(t *testing.T, s blob.Store) {
	put(t, s, "present", []byte("content"))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	data := []byte("never stored")
	err := s.Put(ctx, "canceled", bytes.NewReader(data), int64(len(data)))
	if err == nil {
		t.Error("Put with a canceled context returned nil")
	}
	checkNotFound(t, s, "canceled")

	if rc, err := s.Get(ctx, "present"); err == nil {
		// A store may open lazily, so the read must fail instead.
		_, err = io.ReadAll(rc)
		rc.Close()
		if err == nil {
			t.Error("Get and read with a canceled context succeeded")
		}
	}
	if _, err := s.Stat(ctx, "present"); err == nil {
		t.Error("Stat with a canceled context returned nil")
	}
	if err := s.Delete(ctx, "present"); err == nil {
		t.Error("Delete with a canceled context returned nil")
	}
	var listErr error
	for _, err := range s.List(ctx, "") {
		listErr = err
		break
	}
	if listErr == nil {
		t.Error("List with a canceled context yielded no error")
	}
	checkContent(t, s, "present", []byte("content"))
}

func testString(t *testing.T, s blob.Store) {
	if s.String() == "" {
		t.Fatal("String() is empty, want a name for messages")
	}
}
