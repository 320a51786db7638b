package repo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/lifeline-backup/lifeline/internal/blob"
)

// LockTTL is how long a lock object stays valid unless its holder renews
// it. A lock whose holder died expires after at most this long.
const LockTTL = 10 * time.Minute

// lockRenewEvery is how often a holder writes a fresh lock object.
const lockRenewEvery = LockTTL / 4

// ErrLocked is returned by Lock when another process holds a lock that
// conflicts with the one requested.
var ErrLocked = errors.New("repository is locked")

// ErrLockLost is returned by Lock.Check once the holder could not renew
// its lock in time, or found it removed: a lock that may have expired no
// longer protects anything, so its holder must stop.
var ErrLockLost = errors.New("repository lock lost")

// LockInfo is the content of a lock object.
type LockInfo struct {
	// Name is the lock object's name; it is not stored.
	Name      string    `json:"-"`
	Exclusive bool      `json:"exclusive"`
	Operation string    `json:"operation"`
	Host      string    `json:"host"`
	PID       int       `json:"pid"`
	Created   time.Time `json:"created"`
	Expires   time.Time `json:"expires"`
}

// Holder names who holds a lock, for messages.
func (l LockInfo) Holder() string {
	if l.Operation == "" && l.PID == 0 {
		return "damaged lock object " + l.Name
	}
	kind := "shared"
	if l.Exclusive {
		kind = "exclusive"
	}
	return fmt.Sprintf("%s lock for %s by pid %d on %s since %s", kind,
		l.Operation, l.PID, l.Host, l.Created.UTC().Format(time.RFC3339))
}

// Lock is a held lock. Shared locks (backups) may coexist; an exclusive
// lock (prune, key rewrap) excludes every other lock.
type Lock struct {
	repo *Repo
	info LockInfo
	now  func() time.Time

	// appendOnly marks the lock of a backup in an append-only
	// repository, which writes no lock object.
	appendOnly bool

	mu      sync.Mutex
	name    string
	expires time.Time
	lost    error
	stop    chan struct{}
	done    chan struct{}
}

// Locks lists the lock objects in the repository, expired ones included.
// A lock object that is not valid JSON is an error, because nobody can
// tell whose it is or when it expires.
func (r *Repo) Locks(ctx context.Context) ([]LockInfo, error) {
	var out []LockInfo
	for info, err := range r.store.List(ctx, "locks/") {
		if err != nil {
			return nil, fmt.Errorf("list locks: %w", err)
		}
		l, err := r.readLock(ctx, info.Name)
		if errors.Is(err, blob.ErrNotFound) {
			continue // released meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

// readLock reads and decodes one lock object.
func (r *Repo) readLock(ctx context.Context, name string) (LockInfo, error) {
	body, err := blob.ReadAll(ctx, r.store, name)
	if err != nil {
		return LockInfo{}, fmt.Errorf("read %s: %w", name, err)
	}
	var l LockInfo
	if err := json.Unmarshal(body, &l); err != nil {
		return LockInfo{}, fmt.Errorf("read lock %s: %w (%w); remove it "+
			"with 'lifeline unlock --force' once no other lifeline runs",
			name, ErrDamaged, err)
	}
	l.Name = name
	return l, nil
}

// Lock takes a lock for operation. It writes its lock object first and
// then looks for conflicting live locks, so two processes that start
// together both see each other: of two exclusive requests the older lock
// object (by creation time, then name) wins and the other backs off. The
// lock renews itself in the background until Unlock.
func (r *Repo) Lock(ctx context.Context, operation string, exclusive bool,
	now func() time.Time) (*Lock, error) {
	if now == nil {
		now = time.Now
	}
	if blob.IsAppendOnly(r.store) {
		// Nothing that deletes can run, so backups need no lock, and a
		// lock object could never be removed again.
		if exclusive {
			return nil, blob.ErrAppendOnly
		}
		return &Lock{repo: r, now: now, appendOnly: true}, nil
	}
	host, _ := os.Hostname()
	l := &Lock{repo: r, now: now, info: LockInfo{
		Exclusive: exclusive, Operation: operation, Host: host,
		PID: os.Getpid(), Created: now().UTC(),
	}}
	if err := l.write(ctx); err != nil {
		return nil, err
	}
	if err := l.checkConflicts(ctx); err != nil {
		l.remove(context.WithoutCancel(ctx), l.name)
		return nil, err
	}
	l.stop = make(chan struct{})
	l.done = make(chan struct{})
	go l.renew()
	return l, nil
}

func (l *Lock) write(ctx context.Context) error {
	info := l.info
	info.Expires = l.now().Add(LockTTL).UTC()
	body, err := json.Marshal(info)
	if err != nil {
		return err
	}
	name := "locks/" + info.Created.Format("20060102T150405.000000000Z") +
		"-" + newID()[:16]
	err = l.repo.store.Put(ctx, name, bytes.NewReader(body),
		int64(len(body)))
	if err != nil {
		return fmt.Errorf("write lock %s: %w", name, err)
	}
	l.mu.Lock()
	old := l.name
	l.name, l.expires = name, info.Expires
	l.mu.Unlock()
	if old != "" {
		l.remove(ctx, old)
	}
	return nil
}

func (l *Lock) remove(ctx context.Context, name string) {
	err := l.repo.store.Delete(ctx, name)
	if err != nil && !errors.Is(err, blob.ErrNotFound) {
		// A lock object left behind expires on its own.
		return
	}
}

func (l *Lock) checkConflicts(ctx context.Context) error {
	locks, err := l.repo.Locks(ctx)
	if err != nil {
		return err
	}
	now := l.now()
	var blockers []string
	for _, o := range locks {
		if o.Name == l.name || !o.Expires.After(now) {
			continue
		}
		if !o.Exclusive && !l.info.Exclusive {
			continue
		}
		if l.info.Exclusive && o.Exclusive && l.older(o) {
			continue // both exclusive: the older one wins
		}
		blockers = append(blockers, o.Holder())
	}
	if len(blockers) == 0 {
		return nil
	}
	sort.Strings(blockers)
	return fmt.Errorf("%w: %s; try again when it is done, or run "+
		"'lifeline unlock' if that process is gone", ErrLocked,
		strings.Join(blockers, "; "))
}

// older reports whether l was created before o, ties broken by name.
func (l *Lock) older(o LockInfo) bool {
	if !l.info.Created.Equal(o.Created) {
		return l.info.Created.Before(o.Created)
	}
	return l.name < o.Name
}

func (l *Lock) renew() {
	defer close(l.done)
	t := time.NewTicker(lockRenewEvery)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(),
			lockRenewEvery)
		err := l.write(ctx)
		cancel()
		if err != nil && l.now().After(l.expiry()) {
			l.mu.Lock()
			l.lost = fmt.Errorf("%w: renewing it failed until it expired: "+
				"%w", ErrLockLost, err)
			l.mu.Unlock()
		}
	}
}

func (l *Lock) expiry() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.expires
}

// Check returns ErrLockLost once the lock may have expired or was
// removed. A holder calls it before every destructive step.
func (l *Lock) Check(ctx context.Context) error {
	if l.appendOnly {
		return nil
	}
	l.mu.Lock()
	lost, name, expires := l.lost, l.name, l.expires
	l.mu.Unlock()
	if lost != nil {
		return lost
	}
	// Leave a margin for the time the next step may take.
	if !l.now().Add(lockRenewEvery).Before(expires) {
		return fmt.Errorf("%w: it expires at %s", ErrLockLost,
			expires.Format(time.RFC3339))
	}
	if _, err := l.repo.store.Stat(ctx, name); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrLockLost, name, err)
	}
	return nil
}

// Unlock stops renewing and removes the lock object.
func (l *Lock) Unlock(ctx context.Context) {
	if l.appendOnly {
		return
	}
	close(l.stop)
	<-l.done
	l.mu.Lock()
	name := l.name
	l.mu.Unlock()
	l.remove(ctx, name)
}

// RemoveLocks deletes lock objects: only expired ones, or all when force
// is set, damaged ones included. It returns the locks it removed; a
// damaged one has only its Name set.
func (r *Repo) RemoveLocks(ctx context.Context, now time.Time,
	force bool) ([]LockInfo, error) {
	var removed []LockInfo
	for info, err := range r.store.List(ctx, "locks/") {
		if err != nil {
			return removed, fmt.Errorf("list locks: %w", err)
		}
		l, err := r.readLock(ctx, info.Name)
		if errors.Is(err, blob.ErrNotFound) {
			continue
		}
		if err != nil && !(force && errors.Is(err, ErrDamaged)) {
			return removed, err
		}
		if err == nil && !force && l.Expires.After(now) {
			continue
		}
		err = r.store.Delete(ctx, info.Name)
		if err != nil && !errors.Is(err, blob.ErrNotFound) {
			return removed, fmt.Errorf("remove %s: %w", info.Name, err)
		}
		l.Name = info.Name
		removed = append(removed, l)
	}
	return removed, nil
}
