package blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"math/rand/v2"
	"net"
	"syscall"
	"time"
)

// RetryOptions configures Retry.
type RetryOptions struct {
	// Attempts is the most tries of one operation; default 5.
	Attempts int
	// MinBackoff and MaxBackoff bound the wait between tries; defaults
	// 200ms and 10s. The wait doubles each try, with jitter.
	MinBackoff, MaxBackoff time.Duration
	// Sleep waits; tests inject one that does not.
	Sleep func(ctx context.Context, d time.Duration) error
	// OnRetry, if set, is told of each failed try that will be retried.
	OnRetry func(op, name string, attempt int, err error)
}

// Transient reports whether err is worth another try: a network error, a
// connection reset or refused, a body cut short, or an error that says
// so itself through a Transient method (S3 5xx and 429 answers). A full
// disk, a missing object or an existing one are not.
func Transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) ||
		errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, ErrNotFound) || errors.Is(err, ErrExists) ||
		errors.Is(err, ErrAppendOnly) || errors.Is(err, syscall.ENOSPC) {
		return false
	}
	var t interface{ Transient() bool }
	if errors.As(err, &t) {
		return t.Transient()
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.ErrUnexpectedEOF)
}

// Retry wraps a store so that operations failing with a transient error
// are tried again, with backoff, a bounded number of times. Get reads
// the whole object before it returns, so a body cut short is retried
// too. A Put whose retry finds the object already there compares it
// with what it meant to write: equal bytes mean an earlier try stored it.
func Retry(s Store, opt RetryOptions) Store {
	if opt.Attempts <= 0 {
		opt.Attempts = 5
	}
	if opt.MinBackoff <= 0 {
		opt.MinBackoff = 200 * time.Millisecond
	}
	if opt.MaxBackoff <= 0 {
		opt.MaxBackoff = 10 * time.Second
	}
	if opt.Sleep == nil {
		opt.Sleep = sleep
	}
	return &retrying{s: s, opt: opt}
}

type retrying struct {
	s   Store
	opt RetryOptions
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// do runs fn until it succeeds, fails for good, or runs out of tries.
func (r *retrying) do(ctx context.Context, op, name string,
	fn func() error) error {
	wait := r.opt.MinBackoff
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil || !Transient(err) || attempt >= r.opt.Attempts {
			if err != nil && attempt > 1 {
				return fmt.Errorf("%w (after %d tries)", err, attempt)
			}
			return err
		}
		if r.opt.OnRetry != nil {
			r.opt.OnRetry(op, name, attempt, err)
		}
		jitter := time.Duration(rand.Int64N(int64(wait)/2 + 1))
		if err := r.opt.Sleep(ctx, wait/2+jitter); err != nil {
			return err
		}
		wait = min(2*wait, r.opt.MaxBackoff)
	}
}

func (r *retrying) Put(ctx context.Context, name string, rd io.Reader,
	size int64) error {
	seeker, ok := rd.(io.ReadSeeker)
	if !ok {
		return r.s.Put(ctx, name, rd, size)
	}
	tries := 0
	return r.do(ctx, "put", name, func() error {
		tries++
		if _, err := seeker.Seek(0, io.SeekStart); err != nil {
			return err
		}
		err := r.s.Put(ctx, name, seeker, size)
		if tries > 1 && errors.Is(err, ErrExists) {
			return r.sameContent(ctx, name, seeker, err)
		}
		return err
	})
}

// sameContent decides whether an object found by a retried Put is the
// one an earlier try stored.
func (r *retrying) sameContent(ctx context.Context, name string,
	want io.ReadSeeker, existsErr error) error {
	have, err := ReadAll(ctx, r.s, name)
	if err != nil {
		return err
	}
	if _, err := want.Seek(0, io.SeekStart); err != nil {
		return err
	}
	mine, err := io.ReadAll(want)
	if err != nil {
		return err
	}
	if bytes.Equal(have, mine) {
		return nil
	}
	return existsErr
}

func (r *retrying) Get(ctx context.Context, name string) (io.ReadCloser,
	error) {
	var body []byte
	err := r.do(ctx, "get", name, func() error {
		rc, err := r.s.Get(ctx, name)
		if err != nil {
			return err
		}
		defer rc.Close()
		body, err = io.ReadAll(rc)
		return err
	})
	if err != nil {
		return nil, err
	}
	return io.NopCloser(bytes.NewReader(body)), nil
}

func (r *retrying) Stat(ctx context.Context, name string) (Info, error) {
	var info Info
	err := r.do(ctx, "stat", name, func() error {
		var err error
		info, err = r.s.Stat(ctx, name)
		return err
	})
	return info, err
}

// List restarts a listing that fails midway and skips the names it has
// already yielded, which works because names come in lexical order.
func (r *retrying) List(ctx context.Context, prefix string) iter.Seq2[Info,
	error] {
	return func(yield func(Info, error) bool) {
		last := ""
		stopped := false
		err := r.do(ctx, "list", prefix, func() error {
			for info, err := range r.s.List(ctx, prefix) {
				if err != nil {
					return err
				}
				if last != "" && info.Name <= last {
					continue
				}
				last = info.Name
				if !yield(info, nil) {
					stopped = true
					return nil
				}
			}
			return nil
		})
		if err != nil && !stopped {
			yield(Info{}, err)
		}
	}
}

func (r *retrying) Delete(ctx context.Context, name string) error {
	tries := 0
	return r.do(ctx, "delete", name, func() error {
		tries++
		err := r.s.Delete(ctx, name)
		// A retried delete that finds nothing: an earlier try deleted it.
		if tries > 1 && errors.Is(err, ErrNotFound) {
			return nil
		}
		return err
	})
}

func (r *retrying) String() string { return r.s.String() }

// Unwrap returns the wrapped store.
func (r *retrying) Unwrap() Store { return r.s }
