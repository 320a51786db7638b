package s3list_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/lifeline-backup/lifeline/internal/blob/s3"
	"github.com/lifeline-backup/lifeline/internal/blob/s3/s3test"
	"github.com/lifeline-backup/lifeline/internal/source"
	"github.com/lifeline-backup/lifeline/internal/source/s3list"
	"github.com/lifeline-backup/lifeline/internal/source/sourcetest"
)

// seedContentType is the content type of every object the suite seeds.
const seedContentType = "application/octet-stream"

// bodies maps the ETag (MD5) of each value the suite asked for to the
// object body, because Seed receives the value as the suite expects to
// read it back, which holds the MD5 but not the body.
type bodies struct {
	mu sync.Mutex
	m  map[string][]byte
}

// valueFor returns the record value that a read of an object with body
// raw returns, without last_modified, which the server sets at upload.
func (b *bodies) valueFor(t *testing.T, raw []byte) []byte {
	etag := md5Hex(raw)
	b.mu.Lock()
	b.m[etag] = bytes.Clone(raw)
	b.mu.Unlock()
	v, err := json.Marshal(struct {
		ContentType string            `json:"content_type"`
		ETag        string            `json:"etag"`
		Metadata    map[string]string `json:"metadata"`
		Size        int64             `json:"size"`
	}{seedContentType, etag, map[string]string{}, int64(len(raw))})
	if err != nil {
		t.Fatalf("encode value: %v", err)
	}
	return v
}

func (b *bodies) body(t *testing.T, value []byte) []byte {
	t.Helper()
	var v struct {
		ETag string `json:"etag"`
	}
	if err := json.Unmarshal(value, &v); err != nil {
		t.Fatalf("seed value of %d bytes is not JSON: %v", len(value),
			err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	body, ok := b.m[v.ETag]
	if !ok {
		t.Fatalf("seed value with ETag %q was not made by ValueFor",
			v.ETag)
	}
	return body
}

func TestConformance(t *testing.T) {
	endpoint, access, secret := s3test.StartServer(t)
	client, err := minio.New(strings.TrimPrefix(endpoint, "http://"),
		&minio.Options{
			Creds:        credentials.NewStaticV4(access, secret, ""),
			Region:       "us-east-1",
			BucketLookup: minio.BucketLookupPath,
		})
	if err != nil {
		t.Fatalf("new client for %s: %v", endpoint, err)
	}
	values := &bodies{m: map[string][]byte{}}
	buckets := 0

	sourcetest.Run(t, sourcetest.Harness{
		New: func(t *testing.T) (source.Source, string) {
			buckets++
			name := fmt.Sprintf("conformance-%d", buckets)
			s3test.CreateBucket(t, s3.Config{Bucket: name,
				Endpoint: endpoint, Region: "us-east-1", PathStyle: true,
				AccessKeyID: access, SecretAccessKey: secret})
			src, err := s3list.New(s3list.Config{Name: "listing",
				Bucket: name, Endpoint: endpoint, Region: "us-east-1",
				PathStyle: true, AccessKeyID: access,
				SecretAccessKey: secret})
			if err != nil {
				t.Fatalf("new source: %v", err)
			}
			s3list.OmitLastModified(src)
			return src, name
		},
		Delete: func(t *testing.T, ns string, key []byte) {
			err := client.RemoveObject(context.Background(), ns,
				string(key), minio.RemoveObjectOptions{})
			if err != nil {
				t.Errorf("remove object %q: %v", key, err)
			}
		},
		Secrets: []string{secret},
		Caps: sourcetest.Caps{
			BinaryValues: true,
			EmptyValues:  true,
			// S3 allows keys of 1,024 bytes, but versitygw's posix
			// backend stores each key as a file, whose name may have
			// at most 255 bytes.
			MaxKeyLen: 255,
			// The full 100,000 objects: seeding costs one PUT and
			// reading one HEAD per object, about 85 s on versitygw
			// here, which the suite's claim is worth.
			LargeNamespace: 100_000,
			ValueFor:       values.valueFor,
			ReadOnly:       true,
			Seed: func(t *testing.T, ns string, recs []source.Record) {
				seed(t, client, values, ns, recs)
			},
		},
	})
}

// seed uploads one object per record, 16 at once.
func seed(t *testing.T, client *minio.Client, values *bodies, ns string,
	recs []source.Record) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, len(recs))
	sem := make(chan struct{}, 16)
	for _, rec := range recs {
		body := values.body(t, rec.Value)
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			_, err := client.PutObject(context.Background(), ns,
				string(rec.Key), bytes.NewReader(body),
				int64(len(body)),
				minio.PutObjectOptions{ContentType: seedContentType})
			if err != nil {
				errs <- fmt.Errorf("put object %q: %w", rec.Key, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("seed bucket %s: %v", ns, err)
	}
}
