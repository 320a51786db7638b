// Package s3list is the source adapter for the object listing of an S3 or
// R2 bucket: it backs up what objects existed, never their bodies.
//
// The source has one namespace, named after the bucket. Read lists the
// objects with ListObjectsV2, page by page, and sends a HEAD request
// (StatObject) per object, several at once, for its content type and
// user metadata. It never downloads an object body.
//
// Record.Key is the object key. Record.Value is a JSON object with its
// keys in sorted order, so equal objects encode to equal bytes:
//
//	{"content_type":"text/plain","etag":"9a0364b9e99bb480dd25e1f0284c8555",
//	 "last_modified":"2025-01-02T03:04:05Z","metadata":{"owner":"ops"},
//	 "size":7}
//
// etag is the ETag without quotes, last_modified the Last-Modified
// header of the HEAD response in RFC 3339 and UTC (whole seconds), and
// metadata the user metadata (x-amz-meta-*) with lower-case names
// without the prefix. Record.Metadata is nil and records never expire.
//
// The source is read-only: Write always fails. A restore of a listing is
// a preview only: it compares the backed-up listing with the live bucket
// and reports objects missing or changed since the backup, and writes
// nothing.
//
// Limits: a read is not a snapshot. An object deleted between its
// listing and its HEAD request is left out, and objects written during
// the read may or may not appear. Each object costs one HEAD request, so
// a read of a large bucket takes time and request charges in proportion
// to its object count.
package s3list

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/lifeline-backup/lifeline/internal/source"
)

// DefaultConcurrency is how many HEAD requests a read sends at once
// unless Config.Concurrency is set.
const DefaultConcurrency = 8

// ErrReadOnly is returned by Write: a bucket listing is kept as a record
// and never written back.
var ErrReadOnly = errors.New("bucket listings are never written; " +
	"a restore of a listing can only preview the differences")

// Config locates the bucket to list and holds the credentials to reach
// it.
type Config struct {
	// Name is the source name from the configuration.
	Name string
	// Bucket is the bucket to list and the namespace name.
	Bucket string
	// Prefix limits the listing to keys that start with it. Empty
	// lists the whole bucket.
	Prefix string
	// Endpoint is the server's URL, such as "https://s3.example.com".
	// Its scheme decides whether TLS is used.
	Endpoint string
	// Region is the bucket's region. Empty lets the client ask the
	// server.
	Region string
	// PathStyle forces path-style requests (endpoint/bucket/key).
	PathStyle bool
	// AccessKeyID and SecretAccessKey are the static credentials for AWS
	// Signature Version 4. The secret never appears in errors or in
	// Describe.
	AccessKeyID     string
	SecretAccessKey string
	// Concurrency is how many HEAD requests a read sends at once. Zero
	// means DefaultConcurrency.
	Concurrency int
}

// Source lists one bucket. It is safe for concurrent use.
type Source struct {
	client      *minio.Client
	bucket      string
	prefix      string
	endpoint    string
	concurrency int
	// omitLastModified leaves last_modified out of values. Only tests
	// set it, because the server sets that field at upload time.
	omitLastModified bool
}

var (
	_ source.Source    = (*Source)(nil)
	_ source.Describer = (*Source)(nil)
	_ source.ReadOnly  = (*Source)(nil)
)

// New validates cfg and returns a source for its bucket. It sends no
// request.
func New(cfg Config) (*Source, error) {
	if cfg.Bucket == "" {
		return nil, errors.New("new s3 listing source: missing bucket")
	}
	if cfg.Concurrency < 0 {
		return nil, fmt.Errorf("new s3 listing source s3://%s: "+
			"concurrency %d is negative", cfg.Bucket, cfg.Concurrency)
	}
	u, err := url.Parse(cfg.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") ||
		u.Host == "" || u.User != nil {
		return nil, fmt.Errorf("new s3 listing source s3://%s: invalid "+
			"endpoint: want a URL such as https://s3.example.com",
			cfg.Bucket)
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
		return nil, fmt.Errorf("new s3 listing source s3://%s: %w",
			cfg.Bucket, err)
	}
	s := &Source{client: client, bucket: cfg.Bucket, prefix: cfg.Prefix,
		endpoint:    u.Scheme + "://" + u.Host,
		concurrency: cfg.Concurrency}
	if s.concurrency == 0 {
		s.concurrency = DefaultConcurrency
	}
	return s, nil
}

// Describe returns "s3 listing", the bucket and prefix, and the
// endpoint.
func (s *Source) Describe() string {
	return "s3 listing " + s.location()
}

func (s *Source) location() string {
	return "s3://" + s.bucket + "/" + s.prefix + " at " + s.endpoint
}

// Namespaces returns the bucket name, the only namespace.
func (s *Source) Namespaces(context.Context) ([]string, error) {
	return []string{s.bucket}, nil
}

// ReadOnly returns true: listings are never written.
func (s *Source) ReadOnly() bool { return true }

// Write returns ErrReadOnly and writes nothing.
func (s *Source) Write(_ context.Context, namespace string,
	_ []source.Record, _ source.WriteMode, _ time.Time) (
	source.WriteResult, error) {
	return source.WriteResult{}, fmt.Errorf("write namespace %q to %s: %w",
		namespace, s.Describe(), ErrReadOnly)
}

// Close releases nothing, because the client needs no explicit close.
func (s *Source) Close() error { return nil }

func (s *Source) checkNamespace(namespace string) error {
	if namespace != s.bucket {
		return fmt.Errorf("namespace %q of %s: the only namespace is "+
			"the bucket %q: %w", namespace, s.Describe(), s.bucket,
			source.ErrUnknownNamespace)
	}
	return nil
}
