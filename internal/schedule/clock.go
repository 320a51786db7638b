package schedule

import (
	"context"
	"sync"
	"time"
)

// Clock is the source of time for a Scheduler, so that tests can
// replace the wall clock with a FakeClock.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// After returns a channel that receives once d has passed on this
	// clock.
	After(d time.Duration) <-chan time.Time
}

// RealClock returns a Clock backed by the system clock, in UTC.
func RealClock() Clock { return realClock{} }

type realClock struct{}

func (realClock) Now() time.Time { return time.Now().UTC() }

func (realClock) After(d time.Duration) <-chan time.Time {
	return time.After(d)
}

// FakeClock is a Clock whose time moves only when a test calls Advance
// or Set. It is safe for concurrent use.
type FakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []fakeWaiter
	// changed is closed and replaced whenever the number of waiters
	// changes, to wake BlockUntilContext.
	changed chan struct{}
}

type fakeWaiter struct {
	deadline time.Time
	ch       chan time.Time
}

// NewFakeClock returns a FakeClock set to start, converted to UTC.
func NewFakeClock(start time.Time) *FakeClock {
	return &FakeClock{now: start.UTC(), changed: make(chan struct{})}
}

// Now returns the fake time.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// After returns a channel that receives the fake time once the fake time
// reaches now+d. A d of zero or less fires at once.
func (c *FakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	w := fakeWaiter{deadline: c.now.Add(d), ch: ch}
	c.waiters = append(c.waiters, w)
	c.notify()
	return ch
}

// Advance moves the fake time forward by d and fires every After
// channel whose deadline has been reached.
func (c *FakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.setLocked(c.now.Add(d))
}

// Set moves the fake time to t, converted to UTC, and fires every After
// channel whose deadline has been reached. Setting an earlier time fires
// nothing.
func (c *FakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.setLocked(t.UTC())
}

func (c *FakeClock) setLocked(t time.Time) {
	c.now = t
	pending := c.waiters[:0]
	for _, w := range c.waiters {
		if w.deadline.After(t) {
			pending = append(pending, w)
			continue
		}
		w.ch <- t
	}
	if len(pending) != len(c.waiters) {
		c.notify()
	}
	clear(c.waiters[len(pending):])
	c.waiters = pending
}

// notify wakes BlockUntilContext callers. The caller holds c.mu.
func (c *FakeClock) notify() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// BlockUntil waits until at least n channels returned by After are
// waiting for their deadline, which means the goroutines that called
// After are (or are about to be) blocked on them. A channel that fired
// no longer counts, but one that its caller abandoned still does.
func (c *FakeClock) BlockUntil(n int) {
	_ = c.BlockUntilContext(context.Background(), n)
}

// BlockUntilContext is BlockUntil that gives up when ctx is done, and
// then returns the context's error.
func (c *FakeClock) BlockUntilContext(ctx context.Context, n int) error {
	for {
		c.mu.Lock()
		count, changed := len(c.waiters), c.changed
		c.mu.Unlock()
		if count >= n {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
