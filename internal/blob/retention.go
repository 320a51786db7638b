package blob

import (
	"context"
	"errors"
	"time"
)

// ErrLocked is returned by Delete for an object that the store keeps
// until a retention date (S3 Object Lock) that has not passed yet.
var ErrLocked = errors.New("object is locked until its retention date")

type retainUntilKey struct{}

// WithRetainUntil returns a context that carries the retention date t:
// a store that supports retention dates locks every object Put with it
// until t. Stores without retention dates, such as local, ignore it.
func WithRetainUntil(ctx context.Context, t time.Time) context.Context {
	return context.WithValue(ctx, retainUntilKey{}, t)
}

// RetainUntil returns the retention date that WithRetainUntil set on
// ctx, if any.
func RetainUntil(ctx context.Context) (time.Time, bool) {
	t, ok := ctx.Value(retainUntilKey{}).(time.Time)
	return t, ok
}

// RetentionReader is a store that reports the retention date of each
// object.
type RetentionReader interface {
	// Retention returns the object's lock mode ("governance" or
	// "compliance") and retention date. An object without retention
	// has an empty mode and a zero date.
	Retention(ctx context.Context, name string) (mode string,
		until time.Time, err error)
}

// AsRetentionReader returns the RetentionReader behind s, looking
// through wrappers that have an Unwrap() Store method, such as
// AppendOnly.
func AsRetentionReader(s Store) (RetentionReader, bool) {
	for s != nil {
		if rr, ok := s.(RetentionReader); ok {
			return rr, true
		}
		u, ok := s.(interface{ Unwrap() Store })
		if !ok {
			return nil, false
		}
		s = u.Unwrap()
	}
	return nil, false
}
