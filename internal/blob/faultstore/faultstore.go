// Package faultstore wraps a blob.Store and injects faults by rule: S3-like
// server errors, a full disk, slow and stalled calls, bodies cut short,
// and writes that report success but store nothing. It is for tests
// only and is not imported by lifeline itself.
package faultstore

import (
	"context"
	"fmt"
	"io"
	"iter"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/lifeline-backup/lifeline/internal/blob"
)

// Op names a store operation that a rule applies to.
type Op string

// The operations of blob.Store.
const (
	Put    Op = "put"
	Get    Op = "get"
	Stat   Op = "stat"
	List   Op = "list"
	Delete Op = "delete"
)

// Fault is what a rule does to a call it matches.
type Fault int

// The faults a rule can inject.
const (
	// Fail returns Rule.Err without calling the wrapped store.
	Fail Fault = iota
	// Slow waits Rule.Delay, or until the context ends, and then calls
	// the wrapped store.
	Slow
	// Stall blocks until the context ends and returns its error.
	Stall
	// CutShort makes Get return a body that fails with
	// io.ErrUnexpectedEOF after half of the object.
	CutShort
	// LoseWrite makes Put read its input and report success while
	// storing nothing.
	LoseWrite
)

// Rule selects the calls that get a fault and the fault they get.
type Rule struct {
	Op Op
	// Prefix limits the rule to object names (or list prefixes) that
	// start with it; empty matches every name.
	Prefix string
	Fault  Fault
	// Err is the error of a Fail rule.
	Err error
	// Delay is the wait of a Slow rule.
	Delay time.Duration
	// Skip lets the first Skip matching calls pass unharmed.
	Skip int
	// Times is how many matching calls, after the skipped ones, get the
	// fault; 0 means every one.
	Times int
}

// ServerError is an S3-like 5xx response. Its Transient method tells
// blob.Retry that another try may succeed.
type ServerError struct {
	Code int
	Name string
}

func (e *ServerError) Error() string {
	return fmt.Sprintf("%s: server answered %d %s", e.Name, e.Code,
		statusText(e.Code))
}

// Transient reports true because a 5xx response is worth another try.
func (e *ServerError) Transient() bool { return true }

func statusText(code int) string {
	switch code {
	case 500:
		return "Internal Server Error"
	case 503:
		return "Service Unavailable (SlowDown)"
	}
	return "Server Error"
}

// NoSpace returns the error a local store gives when the disk is full.
func NoSpace(name string) error {
	return &os.PathError{Op: "write", Path: name, Err: syscall.ENOSPC}
}

// Injection is one fault injected, for a test's report.
type Injection struct {
	Op    Op
	Name  string
	Fault Fault
}

// Store is a blob.Store that injects the faults of its rules into the
// calls it passes to the wrapped store. It is safe for concurrent use.
type Store struct {
	s blob.Store

	mu       sync.Mutex
	rules    []*rule
	injected []Injection
}

type rule struct {
	Rule
	seen int
}

// New wraps s with rules.
func New(s blob.Store, rules ...Rule) *Store {
	f := &Store{s: s}
	for _, r := range rules {
		f.Add(r)
	}
	return f
}

// Add adds a rule after the existing ones; the first matching rule with
// faults left applies.
func (f *Store) Add(r Rule) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = append(f.rules, &rule{Rule: r})
}

// Clear removes every rule.
func (f *Store) Clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = nil
}

// Injected returns the faults injected so far, in order.
func (f *Store) Injected() []Injection {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Injection(nil), f.injected...)
}

// Lost returns the names of the objects whose Put was lost.
func (f *Store) Lost() []string {
	var out []string
	for _, in := range f.Injected() {
		if in.Fault == LoseWrite {
			out = append(out, in.Name)
		}
	}
	return out
}

// match returns the rule that applies to one call, or nil.
func (f *Store) match(op Op, name string) *Rule {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.rules {
		if r.Op != op || !strings.HasPrefix(name, r.Prefix) {
			continue
		}
		r.seen++
		if r.seen <= r.Skip {
			return nil
		}
		if r.Times > 0 && r.seen > r.Skip+r.Times {
			continue
		}
		f.injected = append(f.injected, Injection{Op: op, Name: name,
			Fault: r.Fault})
		rr := r.Rule
		return &rr
	}
	return nil
}

// before applies the faults that act before the wrapped call: it
// returns a non-nil error to return instead of calling through.
func before(ctx context.Context, r *Rule) error {
	if r == nil {
		return nil
	}
	switch r.Fault {
	case Fail:
		return r.Err
	case Slow:
		t := time.NewTimer(r.Delay)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	case Stall:
		<-ctx.Done()
		return ctx.Err()
	}
	return nil
}

// Put implements blob.Store.
func (f *Store) Put(ctx context.Context, name string, r io.Reader,
	size int64) error {
	rule := f.match(Put, name)
	if err := before(ctx, rule); err != nil {
		return err
	}
	if rule != nil && rule.Fault == LoseWrite {
		_, err := io.Copy(io.Discard, r)
		return err
	}
	return f.s.Put(ctx, name, r, size)
}

// Get implements blob.Store.
func (f *Store) Get(ctx context.Context, name string) (io.ReadCloser,
	error) {
	rule := f.match(Get, name)
	if err := before(ctx, rule); err != nil {
		return nil, err
	}
	rc, err := f.s.Get(ctx, name)
	if err != nil || rule == nil || rule.Fault != CutShort {
		return rc, err
	}
	body, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return nil, err
	}
	return &cutReader{data: body[:len(body)/2]}, nil
}

// cutReader yields its data and then io.ErrUnexpectedEOF, like a
// connection that dropped midway through a body.
type cutReader struct{ data []byte }

func (c *cutReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.ErrUnexpectedEOF
	}
	n := copy(p, c.data)
	c.data = c.data[n:]
	return n, nil
}

func (c *cutReader) Close() error { return nil }

// Stat implements blob.Store.
func (f *Store) Stat(ctx context.Context, name string) (blob.Info, error) {
	if err := before(ctx, f.match(Stat, name)); err != nil {
		return blob.Info{}, err
	}
	return f.s.Stat(ctx, name)
}

// List implements blob.Store. A Fail rule yields its error after the
// first object, as a listing that breaks off between pages.
func (f *Store) List(ctx context.Context, prefix string) iter.Seq2[blob.Info,
	error] {
	return func(yield func(blob.Info, error) bool) {
		rule := f.match(List, prefix)
		if rule != nil && rule.Fault != Fail {
			if err := before(ctx, rule); err != nil {
				yield(blob.Info{}, err)
				return
			}
			rule = nil
		}
		n := 0
		for info, err := range f.s.List(ctx, prefix) {
			if rule != nil && n == 1 {
				yield(blob.Info{}, rule.Err)
				return
			}
			n++
			if !yield(info, err) || err != nil {
				return
			}
		}
		if rule != nil && n <= 1 {
			yield(blob.Info{}, rule.Err)
		}
	}
}

// Delete implements blob.Store.
func (f *Store) Delete(ctx context.Context, name string) error {
	if err := before(ctx, f.match(Delete, name)); err != nil {
		return err
	}
	return f.s.Delete(ctx, name)
}

// String implements blob.Store.
func (f *Store) String() string { return f.s.String() + " (fault injection)" }
