package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
)

// ErrAppendOnly is returned by Delete of a store opened append-only.
var ErrAppendOnly = errors.New("repository is append-only: nothing is " +
	"ever deleted or overwritten")

// AppendOnly wraps a store so that Delete always fails with
// ErrAppendOnly. Put already never overwrites, so the wrapped store
// only ever grows.
func AppendOnly(s Store) Store { return appendOnly{s} }

type appendOnly struct{ s Store }

func (a appendOnly) Put(ctx context.Context, name string, r io.Reader,
	size int64) error {
	return a.s.Put(ctx, name, r, size)
}

func (a appendOnly) Get(ctx context.Context, name string) (io.ReadCloser,
	error) {
	return a.s.Get(ctx, name)
}

func (a appendOnly) Stat(ctx context.Context, name string) (Info, error) {
	return a.s.Stat(ctx, name)
}

func (a appendOnly) List(ctx context.Context, prefix string) iter.Seq2[Info,
	error] {
	return a.s.List(ctx, prefix)
}

func (a appendOnly) Delete(_ context.Context, name string) error {
	return fmt.Errorf("delete %s: %w", name, ErrAppendOnly)
}

func (a appendOnly) String() string { return a.s.String() + " (append-only)" }

// Unwrap returns the wrapped store.
func (a appendOnly) Unwrap() Store { return a.s }

// IsAppendOnly reports whether s was wrapped by AppendOnly.
func IsAppendOnly(s Store) bool {
	_, ok := s.(appendOnly)
	return ok
}
