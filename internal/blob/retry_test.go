package blob_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"syscall"
	"testing"
	"time"

	"github.com/lifeline-backup/lifeline/internal/blob"
	"github.com/lifeline-backup/lifeline/internal/blob/blobtest"
	"github.com/lifeline-backup/lifeline/internal/blob/local"
)

// flaky fails the next n calls of each operation with err, and can lose
// the answer of a Put after storing it.
type flaky struct {
	blob.Store
	failPuts, failGets int
	err                error
	// storeThenFail makes the next Put store the object and then report
	// a failure, as a connection reset after the upload does.
	storeThenFail bool
}

func (f *flaky) Put(ctx context.Context, name string, r io.Reader,
	size int64) error {
	if f.storeThenFail {
		f.storeThenFail = false
		if err := f.Store.Put(ctx, name, r, size); err != nil {
			return err
		}
		return f.err
	}
	if f.failPuts > 0 {
		f.failPuts--
		return f.err
	}
	return f.Store.Put(ctx, name, r, size)
}

func (f *flaky) Get(ctx context.Context, name string) (io.ReadCloser,
	error) {
	if f.failGets > 0 {
		f.failGets--
		return nil, f.err
	}
	return f.Store.Get(ctx, name)
}

func newLocal(t *testing.T) blob.Store {
	t.Helper()
	s, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func noSleep(waits *[]time.Duration) func(context.Context, time.Duration) error {
	return func(_ context.Context, d time.Duration) error {
		*waits = append(*waits, d)
		return nil
	}
}

func TestRetry_Conformance(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Store {
		return blob.Retry(newLocal(t), blob.RetryOptions{})
	})
}

func TestRetry_TransientThenSuccess(t *testing.T) {
	f := &flaky{Store: newLocal(t), failPuts: 2, failGets: 2,
		err: syscall.ECONNRESET}
	var waits []time.Duration
	s := blob.Retry(f, blob.RetryOptions{Sleep: noSleep(&waits)})
	ctx := context.Background()
	if err := s.Put(ctx, "a", bytes.NewReader([]byte("x")), 1); err != nil {
		t.Fatalf("Put: %v", err)
	}
	got, err := blob.ReadAll(ctx, s, "a")
	if err != nil || string(got) != "x" {
		t.Fatalf("ReadAll = %q, %v; want x", got, err)
	}
	if len(waits) != 4 {
		t.Errorf("waited %d times, want 4 (two failed puts, two gets)",
			len(waits))
	}
}

func TestRetry_LostAnswerOfStoredPut(t *testing.T) {
	f := &flaky{Store: newLocal(t), storeThenFail: true,
		err: syscall.ECONNRESET}
	var waits []time.Duration
	s := blob.Retry(f, blob.RetryOptions{Sleep: noSleep(&waits)})
	err := s.Put(context.Background(), "a", bytes.NewReader([]byte("x")), 1)
	if err != nil {
		t.Fatalf("Put after a lost answer = %v, want nil (same bytes "+
			"stored)", err)
	}
}

func TestRetry_PermanentErrorsNotRetried(t *testing.T) {
	for _, err := range []error{syscall.ENOSPC, blob.ErrExists,
		errors.New("access denied")} {
		f := &flaky{Store: newLocal(t), failPuts: 1, err: err}
		var waits []time.Duration
		s := blob.Retry(f, blob.RetryOptions{Sleep: noSleep(&waits)})
		got := s.Put(context.Background(), "a",
			bytes.NewReader([]byte("x")), 1)
		if !errors.Is(got, err) {
			t.Errorf("Put error = %v, want %v", got, err)
		}
		if len(waits) != 0 {
			t.Errorf("%v was retried %d times, want none", err, len(waits))
		}
	}
}

func TestRetry_GivesUp(t *testing.T) {
	f := &flaky{Store: newLocal(t), failGets: 100, err: syscall.ECONNRESET}
	var waits []time.Duration
	s := blob.Retry(f, blob.RetryOptions{Attempts: 3,
		Sleep: noSleep(&waits)})
	_, err := s.Get(context.Background(), "a")
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("Get error = %v, want ECONNRESET", err)
	}
	if len(waits) != 2 {
		t.Errorf("waited %d times, want 2 for 3 attempts", len(waits))
	}
}
