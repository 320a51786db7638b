package s3_test

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/lifeline-backup/lifeline/internal/blob"
	"github.com/lifeline-backup/lifeline/internal/blob/blobtest"
	"github.com/lifeline-backup/lifeline/internal/blob/s3"
	"github.com/lifeline-backup/lifeline/internal/blob/s3/s3test"
)

// TestStore_LockedBucket runs the conformance suite in a bucket with
// Object Lock enabled: objects stored without a retention date behave
// as in any other bucket.
func TestStore_LockedBucket(t *testing.T) {
	base := s3test.StartLocked(t, "governance")
	count := 0
	blobtest.Run(t, func(t *testing.T) blob.Store {
		count++
		cfg := base
		cfg.Prefix = fmt.Sprintf("conformance-%d", count)
		return newStore(t, cfg)
	})
}

func TestStore_PutRetention(t *testing.T) {
	for _, mode := range []string{"governance", "compliance"} {
		t.Run(mode, func(t *testing.T) {
			s := newStore(t, s3test.StartLocked(t, mode))
			until := time.Now().Add(48 * time.Hour).Truncate(time.Second)
			ctx := blob.WithRetainUntil(t.Context(), until)
			body := []byte("locked object")
			err := s.Put(ctx, "data/ab/locked", bytes.NewReader(body),
				int64(len(body)))
			if err != nil {
				t.Fatalf("Put: %v", err)
			}

			gotMode, gotUntil, err := s.Retention(t.Context(),
				"data/ab/locked")
			if err != nil {
				t.Fatalf("Retention: %v", err)
			}
			if gotMode != mode {
				t.Errorf("Retention mode = %q, want %q", gotMode, mode)
			}
			if !gotUntil.Equal(until) {
				t.Errorf("Retention date = %v, want %v", gotUntil, until)
			}

			err = s.Delete(t.Context(), "data/ab/locked")
			if !errors.Is(err, blob.ErrLocked) {
				t.Fatalf("Delete error = %v, want blob.ErrLocked", err)
			}
			if _, err := s.Stat(t.Context(), "data/ab/locked"); err != nil {
				t.Fatalf("Stat after the refused Delete: %v", err)
			}
		})
	}
}

func TestStore_PutWithoutRetention(t *testing.T) {
	s := newStore(t, s3test.StartLocked(t, "compliance"))
	body := []byte("lock object of a running backup")
	err := s.Put(t.Context(), "locks/x", bytes.NewReader(body),
		int64(len(body)))
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	mode, until, err := s.Retention(t.Context(), "locks/x")
	if err != nil {
		t.Fatalf("Retention: %v", err)
	}
	if mode != "" || !until.IsZero() {
		t.Errorf("Retention = %q, %v, want none", mode, until)
	}
	if err := s.Delete(t.Context(), "locks/x"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
}

// TestStore_MultipartRetention checks that a multipart upload carries
// the retention date, set when the upload is created.
func TestStore_MultipartRetention(t *testing.T) {
	s := newStore(t, s3test.StartLocked(t, "governance"))
	s3.SetPartSize(s, 5<<20)
	until := time.Now().Add(time.Hour).Truncate(time.Second)
	ctx := blob.WithRetainUntil(t.Context(), until)
	body := randomBytes(11<<20, 3)
	if err := s.Put(ctx, "big", bytes.NewReader(body),
		int64(len(body))); err != nil {
		t.Fatalf("Put: %v", err)
	}
	mode, got, err := s.Retention(t.Context(), "big")
	if err != nil {
		t.Fatalf("Retention: %v", err)
	}
	if mode != "governance" || !got.Equal(until) {
		t.Errorf("Retention = %q, %v, want governance, %v", mode, got,
			until)
	}
	if err := s.Delete(t.Context(), "big"); !errors.Is(err,
		blob.ErrLocked) {
		t.Fatalf("Delete error = %v, want blob.ErrLocked", err)
	}
}

func TestNew_InvalidLockMode(t *testing.T) {
	cfg := s3.Config{Bucket: "b", Endpoint: "http://127.0.0.1:1",
		LockMode: "GOVERNANCE"}
	_, err := s3.New(t.Context(), cfg)
	if err == nil {
		t.Fatal("New accepted lock mode GOVERNANCE, want an error")
	}
}
