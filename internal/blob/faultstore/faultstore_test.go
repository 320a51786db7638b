package faultstore_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lifeline-backup/lifeline/internal/blob"
	"github.com/lifeline-backup/lifeline/internal/blob/faultstore"
	"github.com/lifeline-backup/lifeline/internal/repo"
)

// TestTransientFaultsAreRetried injects S3-like 500 and 503 answers, a
// listing that breaks off, bodies cut short and slow calls: blob.Retry
// tries again and the backup succeeds with every record.
func TestTransientFaultsAreRetried(t *testing.T) {
	e := newEnv(t)
	src := boltSource(t, 3000)
	e.faults.Add(faultstore.Rule{Op: faultstore.Put, Prefix: "data/",
		Fault: faultstore.Fail, Times: 3,
		Err: &faultstore.ServerError{Code: 503, Name: "data"}})
	e.faults.Add(faultstore.Rule{Op: faultstore.Put, Prefix: "snapshots/",
		Fault: faultstore.Fail, Times: 2,
		Err: &faultstore.ServerError{Code: 500, Name: "snapshots"}})
	e.faults.Add(faultstore.Rule{Op: faultstore.Put, Prefix: "wraps/",
		Fault: faultstore.Slow, Delay: time.Millisecond})
	e.faults.Add(faultstore.Rule{Op: faultstore.List, Prefix: "locks/",
		Fault: faultstore.Fail, Times: 1,
		Err: &faultstore.ServerError{Code: 503, Name: "locks/"}})
	m, err := e.runBackup(t.Context(), "app", "bolt", src)
	if err != nil {
		t.Fatalf("backup with transient faults: %v", err)
	}
	if e.retries < 6 {
		t.Errorf("blob.Retry retried %d times, want at least 6", e.retries)
	}

	e.faults.Add(faultstore.Rule{Op: faultstore.Get, Prefix: "data/",
		Fault: faultstore.CutShort, Times: 2})
	e.faults.Add(faultstore.Rule{Op: faultstore.Get, Prefix: "snapshots/",
		Fault: faultstore.Fail, Times: 1,
		Err: &faultstore.ServerError{Code: 503, Name: "snapshots"}})
	for _, ns := range []string{"sessions", "users"} {
		sameState(t, ns, e.backedUp(t, m.ID, "app", ns),
			state(t, src, ns))
	}
	var cut int
	for _, in := range e.faults.Injected() {
		if in.Fault == faultstore.CutShort {
			cut++
		}
	}
	if cut != 2 {
		t.Errorf("%d bodies were cut short, want 2", cut)
	}
	res, err := e.repo.Check(t.Context(), repo.CheckOptions{ReadPercent: 100})
	if err != nil || len(res.Problems) > 0 {
		t.Fatalf("check after the faults: %v %v", err, res.Problems)
	}
}

// TestNoSpaceFailsBackup fills the disk while chunks are written: the
// backup fails with a message that says so, and no backup is visible.
func TestNoSpaceFailsBackup(t *testing.T) {
	e := newEnv(t)
	src := boltSource(t, 200)
	e.faults.Add(faultstore.Rule{Op: faultstore.Put, Prefix: "data/",
		Fault: faultstore.Fail, Err: faultstore.NoSpace("data/x")})
	m, err := e.runBackup(t.Context(), "app", "bolt", src)
	if err == nil {
		t.Fatalf("backup on a full disk succeeded: %v", m.ID)
	}
	if !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("error %v does not wrap ENOSPC", err)
	}
	for _, want := range []string{"no space left on device", "app/"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	if m != nil {
		t.Errorf("a manifest was returned: %s", m.ID)
	}
	if ids := e.snapshotIDs(t); len(ids) != 0 {
		t.Errorf("backups visible after the failure: %v", ids)
	}
	if e.retries != 0 {
		t.Errorf("a full disk was retried %d times", e.retries)
	}
	locks, err := e.repo.Locks(t.Context())
	if err != nil || len(locks) != 0 {
		t.Errorf("locks left after the failed backup: %v %v", locks, err)
	}
}

// TestLostWriteIsFound lets the store report success for a chunk it
// never stores: check names the missing object and its backup.
func TestLostWriteIsFound(t *testing.T) {
	e := newEnv(t)
	src := boltSource(t, 500)
	e.faults.Add(faultstore.Rule{Op: faultstore.Put, Prefix: "data/",
		Fault: faultstore.LoseWrite, Skip: 1, Times: 1})
	m, err := e.runBackup(t.Context(), "app", "bolt", src)
	if err != nil {
		t.Fatalf("backup: %v", err)
	}
	lost := e.faults.Lost()
	if len(lost) != 1 {
		t.Fatalf("lost writes = %v, want 1", lost)
	}
	res, err := e.repo.Check(t.Context(), repo.CheckOptions{})
	if err != nil {
		t.Fatalf("check: %v", err)
	}
	if len(res.Problems) != 1 {
		t.Fatalf("check found %d problems, want 1: %v",
			len(res.Problems), res.Problems)
	}
	p := res.Problems[0]
	if p.Object != lost[0] || !slices.Contains(p.Backups, m.ID) ||
		!strings.Contains(p.Err.Error(), "missing") {
		t.Errorf("problem = %v, want %s missing in backup %s", p,
			lost[0], m.ID)
	}
}

// TestStallHonoursContext stalls every chunk write: the backup ends
// when its context does and commits nothing.
func TestStallHonoursContext(t *testing.T) {
	e := newEnv(t)
	src := boltSource(t, 100)
	e.faults.Add(faultstore.Rule{Op: faultstore.Put, Prefix: "data/",
		Fault: faultstore.Stall})
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		for len(e.faults.Injected()) == 0 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	_, err := e.runBackup(ctx, "app", "bolt", src)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("stalled backup: err = %v, want context.Canceled", err)
	}
	if ids := e.snapshotIDs(t); len(ids) != 0 {
		t.Errorf("backups visible after the cancelled one: %v", ids)
	}
}

// TestPermanentServerErrorGivesUp keeps answering 503: the retries end
// and the error says how many tries were made.
func TestPermanentServerErrorGivesUp(t *testing.T) {
	e := newEnv(t)
	src := boltSource(t, 100)
	e.faults.Add(faultstore.Rule{Op: faultstore.Put, Prefix: "snapshots/",
		Fault: faultstore.Fail,
		Err:   &faultstore.ServerError{Code: 503, Name: "snapshots"}})
	_, err := e.runBackup(t.Context(), "app", "bolt", src)
	if err == nil || !strings.Contains(err.Error(), "after 5 tries") ||
		!blob.Transient(err) {
		t.Fatalf("err = %v, want a 503 after 5 tries", err)
	}
	if ids := e.snapshotIDs(t); len(ids) != 0 {
		t.Errorf("backups visible after the failure: %v", ids)
	}
}
