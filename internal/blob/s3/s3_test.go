package s3_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/lifeline-backup/lifeline/internal/blob"
	"github.com/lifeline-backup/lifeline/internal/blob/blobtest"
	"github.com/lifeline-backup/lifeline/internal/blob/s3"
	"github.com/lifeline-backup/lifeline/internal/blob/s3/s3test"
)

func newStore(t *testing.T, cfg s3.Config) *s3.Store {
	t.Helper()
	s, err := s3.New(t.Context(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func TestStore(t *testing.T) {
	endpoint, accessKey, secretKey := s3test.StartServer(t)
	count := 0
	blobtest.Run(t, func(t *testing.T) blob.Store {
		// Each case gets its own bucket, so it starts empty.
		count++
		cfg := s3.Config{
			Bucket:          fmt.Sprintf("conformance-%d", count),
			Prefix:          "repo",
			Endpoint:        endpoint,
			Region:          "us-east-1",
			PathStyle:       true,
			AccessKeyID:     accessKey,
			SecretAccessKey: secretKey,
		}
		s3test.CreateBucket(t, cfg)
		return newStore(t, cfg)
	})
}

// TestStore_MultipartPutExisting checks that the conditional create also
// holds for multipart uploads, where the server checks the condition on
// CompleteMultipartUpload.
func TestStore_MultipartPutExisting(t *testing.T) {
	s := newStore(t, s3test.Start(t))
	s3.SetPartSize(s, 5<<20)
	first := randomBytes(11<<20, 1)
	second := randomBytes(11<<20, 2)

	err := s.Put(t.Context(), "big", bytes.NewReader(first),
		int64(len(first)))
	if err != nil {
		t.Fatalf("first Put: %v", err)
	}
	err = s.Put(t.Context(), "big", bytes.NewReader(second),
		int64(len(second)))
	if !errors.Is(err, blob.ErrExists) {
		t.Fatalf("second Put error = %v, want blob.ErrExists", err)
	}

	got, err := blob.ReadAll(t.Context(), s, "big")
	if err != nil {
		t.Fatalf("ReadAll: %v", err)
	}
	if !bytes.Equal(got, first) {
		t.Fatalf("ReadAll = %d bytes, want the first Put's %d bytes",
			len(got), len(first))
	}
}

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// TestStore_PrefixIsolation checks that a store lists and reads only the
// objects under its own prefix.
func TestStore_PrefixIsolation(t *testing.T) {
	cfg := s3test.Start(t)
	s := newStore(t, cfg)
	other := cfg
	other.Prefix = "other/"
	o := newStore(t, other)

	put(t, s, "config", "mine")
	put(t, o, "config", "theirs")
	put(t, o, "repo-like", "x")

	var names []string
	for info, err := range s.List(t.Context(), "") {
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		names = append(names, info.Name)
	}
	if len(names) != 1 || names[0] != "config" {
		t.Fatalf("List = %q, want [config]", names)
	}
	got, err := blob.ReadAll(t.Context(), s, "config")
	if err != nil {
		t.Fatalf("ReadAll: %v", err)
	}
	if string(got) != "mine" {
		t.Fatalf("ReadAll = %q, want %q", got, "mine")
	}
}

func put(t *testing.T, s blob.Store, name, content string) {
	t.Helper()
	r := strings.NewReader(content)
	if err := s.Put(t.Context(), name, r, int64(len(content))); err != nil {
		t.Fatalf("Put(%q): %v", name, err)
	}
}

func TestStore_String(t *testing.T) {
	cfg := s3test.Start(t)
	s := newStore(t, cfg)
	want := "s3://" + cfg.Bucket + "/repo"
	if s.String() != want {
		t.Fatalf("String() = %q, want %q", s.String(), want)
	}
}

func TestNew_UnreachableEndpoint(t *testing.T) {
	cfg := s3.Config{
		Bucket:          "backups",
		Endpoint:        "http://127.0.0.1:1",
		Region:          "us-east-1",
		PathStyle:       true,
		AccessKeyID:     "ACCESSKEYSHOULDNOTSHOW",
		SecretAccessKey: "secretshouldnotshow",
	}
	_, err := s3.New(t.Context(), cfg)
	if err == nil {
		t.Fatal("New returned nil error for an unreachable endpoint")
	}
	msg := err.Error()
	for _, want := range []string{cfg.Endpoint, cfg.Bucket} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not name %q", msg, want)
		}
	}
	for _, secret := range []string{cfg.AccessKeyID, cfg.SecretAccessKey} {
		if strings.Contains(msg, secret) {
			t.Errorf("error %q contains the credential %q", msg, secret)
		}
	}
}

func TestNew_MissingBucket(t *testing.T) {
	cfg := s3test.Start(t)
	cfg.Bucket = "no-such-bucket"
	_, err := s3.New(t.Context(), cfg)
	if err == nil {
		t.Fatal("New returned nil error for a missing bucket")
	}
	if !strings.Contains(err.Error(), "no-such-bucket") {
		t.Errorf("error %q does not name the bucket", err)
	}
}

func TestNew_WrongSecret(t *testing.T) {
	cfg := s3test.Start(t)
	cfg.SecretAccessKey = "wrong-secret"
	_, err := s3.New(t.Context(), cfg)
	if err == nil {
		t.Fatal("New returned nil error for a wrong secret key")
	}
	if strings.Contains(err.Error(), cfg.SecretAccessKey) {
		t.Errorf("error %q contains the secret key", err)
	}
}

func TestNew_InvalidConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  s3.Config
	}{
		{"missing bucket", s3.Config{Endpoint: "http://127.0.0.1:1"}},
		{"missing endpoint", s3.Config{Bucket: "b"}},
		{"endpoint without scheme",
			s3.Config{Bucket: "b", Endpoint: "127.0.0.1:7070"}},
		{"unknown scheme",
			s3.Config{Bucket: "b", Endpoint: "ftp://127.0.0.1:7070"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := s3.New(t.Context(), tc.cfg); err == nil {
				t.Fatal("New returned nil error")
			}
		})
	}
}

// TestStore_Multipart runs the conformance suite with 5 MiB parts, so
// objects larger than that take the multipart upload path.
func TestStore_Multipart(t *testing.T) {
	endpoint, accessKey, secretKey := s3test.StartServer(t)
	count := 0
	blobtest.Run(t, func(t *testing.T) blob.Store {
		count++
		cfg := s3.Config{
			Bucket:          fmt.Sprintf("multipart-%d", count),
			Endpoint:        endpoint,
			Region:          "us-east-1",
			PathStyle:       true,
			AccessKeyID:     accessKey,
			SecretAccessKey: secretKey,
		}
		s3test.CreateBucket(t, cfg)
		s := newStore(t, cfg)
		s3.SetPartSize(s, 5<<20)
		return s
	})
}

var errReader = errors.New("reader failed on purpose")

// failingReader returns its data and then errReader.
type failingReader struct {
	data []byte
}

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, errReader
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

// TestStore_MultipartFailingReader checks that a reader failing after the
// first part aborts the upload, leaving no object and no upload behind.
func TestStore_MultipartFailingReader(t *testing.T) {
	cfg := s3test.Start(t)
	s := newStore(t, cfg)
	s3.SetPartSize(s, 5<<20)

	r := &failingReader{data: randomBytes(12<<20, 3)}
	err := s.Put(t.Context(), "big", r, 20<<20)
	if !errors.Is(err, errReader) {
		t.Fatalf("Put error = %v, want the reader's error", err)
	}
	_, err = s.Stat(t.Context(), "big")
	if !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Stat error = %v, want blob.ErrNotFound", err)
	}
	if n := s3test.CountUploads(t, cfg); n != 0 {
		t.Fatalf("%d multipart uploads left, want 0", n)
	}
}

// TestStore_MultipartShortReader checks that content shorter than the
// announced size is not completed into an object.
func TestStore_MultipartShortReader(t *testing.T) {
	cfg := s3test.Start(t)
	s := newStore(t, cfg)
	s3.SetPartSize(s, 5<<20)

	data := randomBytes(12<<20, 4)
	err := s.Put(t.Context(), "big", bytes.NewReader(data), 13<<20)
	if err == nil {
		t.Fatal("Put of 12 MiB announced as 13 MiB returned nil")
	}
	_, err = s.Stat(t.Context(), "big")
	if !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Stat error = %v, want blob.ErrNotFound", err)
	}
	if n := s3test.CountUploads(t, cfg); n != 0 {
		t.Fatalf("%d multipart uploads left, want 0", n)
	}
}
