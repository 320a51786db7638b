package s3list_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/lifeline-backup/lifeline/internal/blob/s3"
	"github.com/lifeline-backup/lifeline/internal/blob/s3/s3test"
	"github.com/lifeline-backup/lifeline/internal/source"
	"github.com/lifeline-backup/lifeline/internal/source/s3list"
)

// bucket is a bucket on a versitygw server with a client that uploads
// objects into it behind the source's back.
type bucket struct {
	cfg    s3list.Config
	client *minio.Client
}

// startBucket starts a server with one empty bucket named name.
func startBucket(t *testing.T, name string) *bucket {
	t.Helper()
	endpoint, access, secret := s3test.StartServer(t)
	s3test.CreateBucket(t, s3.Config{Bucket: name, Endpoint: endpoint,
		Region: "us-east-1", PathStyle: true, AccessKeyID: access,
		SecretAccessKey: secret})
	client, err := minio.New(strings.TrimPrefix(endpoint, "http://"),
		&minio.Options{
			Creds:        credentials.NewStaticV4(access, secret, ""),
			Region:       "us-east-1",
			BucketLookup: minio.BucketLookupPath,
		})
	if err != nil {
		t.Fatalf("new client for %s: %v", endpoint, err)
	}
	return &bucket{client: client, cfg: s3list.Config{
		Name: "listing", Bucket: name, Endpoint: endpoint,
		Region: "us-east-1", PathStyle: true, AccessKeyID: access,
		SecretAccessKey: secret,
	}}
}

func (b *bucket) put(t *testing.T, key string, body []byte,
	opts minio.PutObjectOptions) {
	t.Helper()
	_, err := b.client.PutObject(context.Background(), b.cfg.Bucket, key,
		bytes.NewReader(body), int64(len(body)), opts)
	if err != nil {
		t.Fatalf("put object %q: %v", key, err)
	}
}

// putMany uploads the keys with 16 uploads at once.
func (b *bucket) putMany(t *testing.T, keys []string) {
	t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	work := make(chan string)
	for range 16 {
		wg.Go(func() {
			for key := range work {
				_, err := b.client.PutObject(context.Background(),
					b.cfg.Bucket, key, strings.NewReader(key),
					int64(len(key)), minio.PutObjectOptions{})
				if err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("put %q: %w", key, err))
					mu.Unlock()
				}
			}
		})
	}
	for _, key := range keys {
		work <- key
	}
	close(work)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("upload objects: %v", err)
	}
}

func (b *bucket) remove(t *testing.T, key string) {
	t.Helper()
	err := b.client.RemoveObject(context.Background(), b.cfg.Bucket, key,
		minio.RemoveObjectOptions{})
	if err != nil {
		t.Fatalf("remove object %q: %v", key, err)
	}
}

func (b *bucket) source(t *testing.T) *s3list.Source {
	t.Helper()
	src, err := s3list.New(b.cfg)
	if err != nil {
		t.Fatalf("new s3 listing source: %v", err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

func readAll(t *testing.T, src source.Source, ns string) []source.Record {
	t.Helper()
	ctx := context.Background()
	it, err := src.Read(ctx, ns)
	if err != nil {
		t.Fatalf("read %q: %v", ns, err)
	}
	defer it.Close()
	var out []source.Record
	for {
		rec, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("next after %d records: %v", len(out), err)
		}
		out = append(out, *rec)
	}
}

// objectValue mirrors the JSON of Record.Value.
type objectValue struct {
	ContentType  string            `json:"content_type"`
	ETag         string            `json:"etag"`
	LastModified string            `json:"last_modified"`
	Metadata     map[string]string `json:"metadata"`
	Size         int64             `json:"size"`
}

func md5Hex(b []byte) string {
	sum := md5.Sum(b)
	return hex.EncodeToString(sum[:])
}

func TestRead_ContentTypeAndMetadata(t *testing.T) {
	b := startBucket(t, "assets")
	before := time.Now().Add(-time.Minute)
	b.put(t, "docs/readme.txt", []byte("hello"), minio.PutObjectOptions{
		ContentType:  "text/plain",
		UserMetadata: map[string]string{"Owner": "ops", "tier": "gold"},
	})
	b.put(t, "img/logo.png", []byte{0x89, 'P', 'N', 'G'},
		minio.PutObjectOptions{ContentType: "image/png"})
	src := b.source(t)

	recs := readAll(t, src, "assets")
	if len(recs) != 2 {
		t.Fatalf("read %d records, want 2", len(recs))
	}
	if string(recs[0].Key) != "docs/readme.txt" ||
		string(recs[1].Key) != "img/logo.png" {
		t.Fatalf("keys = %q, %q, want docs/readme.txt, img/logo.png",
			recs[0].Key, recs[1].Key)
	}
	var v objectValue
	if err := json.Unmarshal(recs[0].Value, &v); err != nil {
		t.Fatalf("value %q is not JSON: %v", recs[0].Value, err)
	}
	if v.Size != 5 {
		t.Errorf("size = %d, want 5", v.Size)
	}
	if v.ETag != md5Hex([]byte("hello")) {
		t.Errorf("etag = %q, want the MD5 %s", v.ETag,
			md5Hex([]byte("hello")))
	}
	if v.ContentType != "text/plain" {
		t.Errorf("content type = %q, want text/plain", v.ContentType)
	}
	want := map[string]string{"owner": "ops", "tier": "gold"}
	if fmt.Sprint(v.Metadata) != fmt.Sprint(want) {
		t.Errorf("metadata = %v, want %v", v.Metadata, want)
	}
	modified, err := time.Parse(time.RFC3339, v.LastModified)
	if err != nil {
		t.Errorf("last_modified %q is not RFC 3339: %v",
			v.LastModified, err)
	}
	if modified.Before(before) {
		t.Errorf("last_modified %v is before the upload", modified)
	}
	if recs[0].Metadata != nil || recs[1].Metadata != nil {
		t.Error("Record.Metadata is not nil")
	}

	var png objectValue
	if err := json.Unmarshal(recs[1].Value, &png); err != nil {
		t.Fatalf("value %q is not JSON: %v", recs[1].Value, err)
	}
	if png.ContentType != "image/png" || len(png.Metadata) != 0 {
		t.Errorf("png value = %+v, want image/png and no metadata", png)
	}
}

func TestRead_StableValues(t *testing.T) {
	b := startBucket(t, "stable")
	b.put(t, "a", []byte("x"), minio.PutObjectOptions{
		UserMetadata: map[string]string{"b": "2", "a": "1", "c": "3"},
	})
	src := b.source(t)
	first := readAll(t, src, "stable")
	second := readAll(t, src, "stable")
	if len(first) != 1 || len(second) != 1 {
		t.Fatalf("read %d and %d records, want 1", len(first),
			len(second))
	}
	if !bytes.Equal(first[0].Value, second[0].Value) {
		t.Errorf("values differ between reads: %s and %s",
			first[0].Value, second[0].Value)
	}
	if !bytes.Contains(first[0].Value,
		[]byte(`"metadata":{"a":"1","b":"2","c":"3"}`)) {
		t.Errorf("value %s does not hold sorted metadata", first[0].Value)
	}
}

// More than 1,000 objects take more than one ListObjectsV2 page, the
// most S3 returns per page.
func TestRead_Pages(t *testing.T) {
	const n = 1234
	b := startBucket(t, "many")
	var keys []string
	for i := range n {
		keys = append(keys, fmt.Sprintf("p/%05d", i))
	}
	b.putMany(t, append(keys, "other/1", "other/2", "q"))
	b.cfg.Prefix = "p/"
	b.cfg.Concurrency = 3
	src := b.source(t)

	recs := readAll(t, src, "many")
	if len(recs) != n {
		t.Fatalf("read %d records, want %d", len(recs), n)
	}
	for i, rec := range recs {
		if string(rec.Key) != keys[i] {
			t.Fatalf("record %d has key %q, want %q", i, rec.Key, keys[i])
		}
	}
}

func TestWrite_Rejected(t *testing.T) {
	src, err := s3list.New(s3list.Config{Bucket: "b",
		Endpoint: "http://127.0.0.1:1", SecretAccessKey: "secret-key"})
	if err != nil {
		t.Fatalf("new source: %v", err)
	}
	if !src.ReadOnly() {
		t.Error("ReadOnly() = false, want true")
	}
	_, err = src.Write(context.Background(), "b",
		[]source.Record{{Key: []byte("k")}}, source.Replace, time.Now())
	if !errors.Is(err, s3list.ErrReadOnly) {
		t.Errorf("Write error = %v, want ErrReadOnly", err)
	}
}

func TestRead_MissingBucket(t *testing.T) {
	b := startBucket(t, "present")
	b.cfg.Bucket = "absent"
	src := b.source(t)
	_, err := src.Read(context.Background(), "absent")
	if !errors.Is(err, source.ErrUnknownNamespace) {
		t.Errorf("Read error = %v, want ErrUnknownNamespace", err)
	}
	if strings.Contains(err.Error(), b.cfg.SecretAccessKey) {
		t.Errorf("error %q contains the secret key", err)
	}
}

func TestNew_Invalid(t *testing.T) {
	cases := []struct {
		name string
		cfg  s3list.Config
		want string
	}{
		{"no bucket", s3list.Config{Endpoint: "http://127.0.0.1:1"},
			"missing bucket"},
		{"no endpoint", s3list.Config{Bucket: "b"}, "invalid endpoint"},
		{"bad scheme", s3list.Config{Bucket: "b",
			Endpoint: "ftp://127.0.0.1"}, "invalid endpoint"},
		{"negative concurrency", s3list.Config{Bucket: "b",
			Endpoint: "http://127.0.0.1:1", Concurrency: -1},
			"negative"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s3list.New(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New error = %v, want one containing %q",
					err, tc.want)
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	src, err := s3list.New(s3list.Config{Bucket: "b", Prefix: "p/",
		Endpoint: "https://s3.example.com", AccessKeyID: "AKID",
		SecretAccessKey: "secret-key"})
	if err != nil {
		t.Fatalf("new source: %v", err)
	}
	want := "s3 listing s3://b/p/ at https://s3.example.com"
	if got := src.Describe(); got != want {
		t.Errorf("Describe() = %q, want %q", got, want)
	}
}
