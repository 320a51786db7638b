package s3

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/lifeline-backup/lifeline/internal/blob"
)

// Object Lock response headers of HEAD and GET.
const (
	lockModeHeader  = "X-Amz-Object-Lock-Mode"
	lockUntilHeader = "X-Amz-Object-Lock-Retain-Until-Date"
)

// Retention returns the object's Object Lock mode, in lower case, and
// retention date, read from the headers of a HEAD request. An object
// without retention has an empty mode.
//
// The HEAD headers are used instead of GetObjectRetention because
// versitygw v1.8.0 returns an <ObjectLockRetention> element for that
// request, which minio-go v7.4.1 fails to decode: it expects
// <Retention>.
func (s *Store) Retention(ctx context.Context, name string) (string,
	time.Time, error) {
	info, err := s.stat(ctx, name)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("read retention of %q in %s: %w",
			name, s, err)
	}
	mode, until, err := lockHeaders(info.Metadata)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("read retention of %q in %s: %w",
			name, s, err)
	}
	return mode, until, nil
}

func lockHeaders(h http.Header) (string, time.Time, error) {
	mode := strings.ToLower(h.Get(lockModeHeader))
	raw := h.Get(lockUntilHeader)
	if mode == "" || raw == "" {
		return "", time.Time{}, nil
	}
	until, err := time.Parse(time.RFC3339, raw)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("invalid %s header %q: %w",
			lockUntilHeader, raw, err)
	}
	return mode, until, nil
}

// lockRefusal returns the DELETE error err as blob.ErrLocked when the
// server refused it because of Object Lock: a 403 AccessDenied for an
// object whose HEAD headers showed a retention date in the future, or
// whose message names the lock. versitygw v1.8.0 sends the message
// "Access Denied because object protected by object lock.", and MinIO
// sends "Object is WORM protected and cannot be overwritten".
func lockRefusal(err error, info minio.ObjectInfo) error {
	var resp minio.ErrorResponse
	if !errors.As(err, &resp) || resp.Code != "AccessDenied" {
		return nil
	}
	_, until, _ := lockHeaders(info.Metadata)
	msg := strings.ToLower(resp.Message)
	named := strings.Contains(msg, "object lock") ||
		strings.Contains(msg, "worm")
	if !until.After(time.Now()) && !named {
		return nil
	}
	if until.IsZero() {
		return fmt.Errorf("%w: %w", blob.ErrLocked, err)
	}
	return fmt.Errorf("%w (retained until %s): %w", blob.ErrLocked,
		until.UTC().Format(time.RFC3339), err)
}
