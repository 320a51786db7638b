// Package s3 implements blob.Store over an S3-compatible object storage
// bucket, with objects kept under a key prefix.
//
// Put is a conditional create (the If-None-Match: * request header), so
// the server itself rejects a second object of the same name. The tests
// check this against versitygw, for single and multipart uploads.
//
// NOTE: a server that ignores If-None-Match lets a Put overwrite an
// existing object. Nothing here detects such a server.
package s3

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/lifeline-backup/lifeline/internal/blob"
)

// Config locates a bucket and holds the credentials to reach it.
type Config struct {
	// Bucket is the name of an existing bucket.
	Bucket string
	// Prefix is prepended, with a slash, to every object name. It may be
	// empty.
	Prefix string
	// Endpoint is the server's URL, such as "https://s3.example.com" or
	// "http://127.0.0.1:7070". Its scheme decides whether TLS is used.
	Endpoint string
	// Region is the bucket's region. When empty, the client asks the
	// server for it.
	Region string
	// PathStyle forces path-style requests (endpoint/bucket/key). When
	// false, minio-go uses virtual-host style requests for the AWS,
	// Google and Aliyun endpoints it recognizes, and path style for others.
	PathStyle bool
	// AccessKeyID and SecretAccessKey are the static credentials for
	// AWS Signature Version 4.
	AccessKeyID     string
	SecretAccessKey string
	// LockMode is the S3 Object Lock mode, "governance" or "compliance",
	// that Put applies to objects whose context carries a retention
	// date (blob.WithRetainUntil). Empty stores no retention. The
	// bucket must have been created with Object Lock enabled.
	LockMode string
}

// Store is a blob.Store that keeps objects in an S3 bucket.
type Store struct {
	client *minio.Client
	bucket string
	// prefix is empty or ends with a slash.
	prefix string
	// partSize is the multipart upload part size, or 0 for
	// defaultPartSize. Tests lower it to exercise multipart uploads.
	partSize int64
	// lockMode is empty when the store sets no retention.
	lockMode minio.RetentionMode
}

var (
	_ blob.Store           = (*Store)(nil)
	_ blob.RetentionReader = (*Store)(nil)
)

// New connects to the bucket that cfg names and checks that it exists.
func New(ctx context.Context, cfg Config) (*Store, error) {
	s, err := newStore(cfg)
	if err != nil {
		return nil, fmt.Errorf("open s3 store s3://%s at %s: %w",
			cfg.Bucket, cfg.Endpoint, err)
	}
	if err := s.checkBucket(ctx); err != nil {
		return nil, fmt.Errorf("open %s at %s: %w%s", s, cfg.Endpoint, err,
			accessHint(err))
	}
	return s, nil
}

// accessHint returns what to check when the server rejected the
// credentials.
func accessHint(err error) string {
	var resp minio.ErrorResponse
	if !errors.As(err, &resp) {
		return ""
	}
	switch resp.Code {
	case "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch":
		return "; check the access key and secret (AWS_ACCESS_KEY_ID " +
			"and AWS_SECRET_ACCESS_KEY, or the variables access_key_env " +
			"and secret_key_env name) and that they may use this bucket"
	}
	return ""
}

func newStore(cfg Config) (*Store, error) {
	if cfg.Bucket == "" {
		return nil, errors.New("missing bucket name")
	}
	mode, err := parseLockMode(cfg.LockMode)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(cfg.Endpoint)
	if err != nil {
		return nil, fmt.Errorf("invalid endpoint: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, errors.New("invalid endpoint: " +
			"want a URL such as https://s3.example.com")
	}
	lookup := minio.BucketLookupAuto
	if cfg.PathStyle {
		lookup = minio.BucketLookupPath
	}
	client, err := minio.New(u.Host, &minio.Options{
		Creds: credentials.NewStaticV4(cfg.AccessKeyID,
			cfg.SecretAccessKey, ""),
		Secure:       u.Scheme == "https",
		Region:       cfg.Region,
		BucketLookup: lookup,
	})
	if err != nil {
		return nil, err
	}
	prefix := strings.Trim(cfg.Prefix, "/")
	if prefix != "" {
		prefix += "/"
	}
	return &Store{client: client, bucket: cfg.Bucket, prefix: prefix,
		lockMode: mode}, nil
}

func parseLockMode(mode string) (minio.RetentionMode, error) {
	switch mode {
	case "":
		return "", nil
	case "governance":
		return minio.Governance, nil
	case "compliance":
		return minio.Compliance, nil
	}
	return "", fmt.Errorf("invalid object lock mode %q: "+
		"use governance or compliance", mode)
}

func (s *Store) checkBucket(ctx context.Context) error {
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("bucket %q not found: create it first", s.bucket)
	}
	return nil
}

// String returns the store as "s3://bucket/prefix".
func (s *Store) String() string {
	return "s3://" + s.bucket + "/" + strings.TrimSuffix(s.prefix, "/")
}

func (s *Store) key(name string) string {
	return s.prefix + name
}

// checkName rejects names that S3 would store but a local folder could
// not, so both stores accept the same names.
func checkName(name string) error {
	if name == "" || strings.HasPrefix(name, "/") {
		return fmt.Errorf("invalid object name %q: "+
			"want a relative slash-separated path", name)
	}
	for part := range strings.SplitSeq(name, "/") {
		if part == "" || part == "." || part == ".." {
			return fmt.Errorf("invalid object name %q: "+
				"want a relative slash-separated path", name)
		}
	}
	return nil
}

// mapError turns S3 error codes into the blob package's errors.
func mapError(err error) error {
	var resp minio.ErrorResponse
	if !errors.As(err, &resp) {
		return err
	}
	switch {
	case resp.Code == "NoSuchKey" || resp.StatusCode == http.StatusNotFound &&
		resp.Code != "NoSuchBucket":
		return fmt.Errorf("%w: %w", blob.ErrNotFound, err)
	case resp.Code == "PreconditionFailed" ||
		resp.StatusCode == http.StatusPreconditionFailed:
		return fmt.Errorf("%w: %w", blob.ErrExists, err)
	case resp.StatusCode >= 500 ||
		resp.StatusCode == http.StatusTooManyRequests ||
		resp.Code == "SlowDown" || resp.Code == "InternalError":
		return transientError{err}
	}
	return err
}

// transientError marks a server response worth another try (5xx, 429,
// SlowDown) for blob.Transient.
type transientError struct{ err error }

func (e transientError) Error() string   { return e.err.Error() }
func (e transientError) Unwrap() error   { return e.err }
func (e transientError) Transient() bool { return true }
