// Package s3test starts a real S3 server, versitygw with its posix
// backend, for tests.
//
// Each server listens on a free port of 127.0.0.1, keeps its buckets in
// the test's temporary folder, uses a random access key and secret, and
// is stopped when the test ends.
package s3test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/lifeline-backup/lifeline/internal/blob/s3"
)

// installCommand installs the versitygw version that the tests use.
const installCommand = "go install " +
	"github.com/versity/versitygw/cmd/versitygw@v1.8.0"

// startTimeout bounds the wait for a started server to accept requests.
const startTimeout = 30 * time.Second

// Start starts a server, creates a bucket on it, and returns the
// configuration of a store in that bucket under the prefix "repo".
func Start(t *testing.T) s3.Config {
	t.Helper()
	endpoint, accessKey, secretKey := StartServer(t)
	cfg := s3.Config{
		Bucket:          "lifeline-test",
		Prefix:          "repo",
		Endpoint:        endpoint,
		Region:          "us-east-1",
		PathStyle:       true,
		AccessKeyID:     accessKey,
		SecretAccessKey: secretKey,
	}
	CreateBucket(t, cfg)
	return cfg
}

// StartServer starts a server with no buckets and returns its endpoint
// URL and root credentials. The server is stopped by t.Cleanup.
func StartServer(t *testing.T) (endpoint, accessKey, secretKey string) {
	t.Helper()
	bin := findBinary(t)
	dir := t.TempDir()
	accessKey = randomHex(t, 10)
	secretKey = randomHex(t, 20)

	// Another process may take the free port before the server binds
	// it, so a server that exits at once is started again on a new port.
	var errs []error
	for range 3 {
		addr := freeAddr(t)
		err := runServer(t, bin, dir, addr, accessKey, secretKey)
		if err == nil {
			return "http://" + addr, accessKey, secretKey
		}
		errs = append(errs, err)
	}
	t.Fatalf("start versitygw: %v", errors.Join(errs...))
	return "", "", ""
}

// findBinary returns the path of versitygw from PATH or from
// $(go env GOPATH)/bin.
func findBinary(t *testing.T) string {
	t.Helper()
	if path, err := exec.LookPath("versitygw"); err == nil {
		return path
	}
	out, err := exec.Command("go", "env", "GOPATH").Output()
	if err == nil {
		path := filepath.Join(strings.TrimSpace(string(out)),
			"bin", "versitygw")
		if _, err := os.Stat(path); err == nil {
			return path
		}
	}
	t.Fatalf("versitygw not found in PATH or $(go env GOPATH)/bin: "+
		"install it with %q", installCommand)
	return ""
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("read random bytes: %v", err)
	}
	return hex.EncodeToString(b)
}

// freeAddr returns a 127.0.0.1 address with a port that was free a moment
// ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// runServer starts versitygw on addr with its buckets in a new folder
// under dir, and waits until it accepts connections. On success the
// server is stopped by t.Cleanup.
func runServer(t *testing.T, bin, dir, addr, accessKey,
	secretKey string) error {
	t.Helper()
	root, err := os.MkdirTemp(dir, "gw-")
	if err != nil {
		return err
	}
	logPath := filepath.Join(dir, filepath.Base(root)+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()

	cmd := exec.Command(bin, "--port", addr, "--quiet", "posix", root)
	// The credentials go in the environment, not the arguments, so they
	// do not show in process listings.
	cmd.Env = append(os.Environ(),
		"ROOT_ACCESS_KEY_ID="+accessKey,
		"ROOT_SECRET_ACCESS_KEY="+secretKey)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("run %s: %w", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	if err := waitReady(addr, exited); err != nil {
		cmd.Process.Kill()
		output, _ := os.ReadFile(logPath)
		return fmt.Errorf("versitygw on %s: %w, output:\n%s",
			addr, err, output)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	return nil
}

// waitReady polls addr until it accepts a TCP connection, the server
// exits, or startTimeout passes.
func waitReady(addr string, exited <-chan error) error {
	deadline := time.Now().Add(startTimeout)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("exited before accepting requests: %v", err)
		default:
		}
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("not accepting connections after %v", startTimeout)
}

// StartLocked is Start with a bucket created with Object Lock enabled,
// and a store configuration that locks objects in mode ("governance" or
// "compliance"). versitygw v1.8.0 enforces Object Lock in its posix
// backend without further flags.
func StartLocked(t *testing.T, mode string) s3.Config {
	t.Helper()
	endpoint, accessKey, secretKey := StartServer(t)
	cfg := s3.Config{
		Bucket:          "lifeline-test",
		Prefix:          "repo",
		Endpoint:        endpoint,
		Region:          "us-east-1",
		PathStyle:       true,
		AccessKeyID:     accessKey,
		SecretAccessKey: secretKey,
		LockMode:        mode,
	}
	makeBucket(t, cfg, true)
	return cfg
}

// CreateBucket creates the bucket that cfg names.
func CreateBucket(t *testing.T, cfg s3.Config) {
	t.Helper()
	makeBucket(t, cfg, false)
}

func makeBucket(t *testing.T, cfg s3.Config, locking bool) {
	t.Helper()
	client, err := minio.New(strings.TrimPrefix(cfg.Endpoint, "http://"),
		clientOptions(cfg))
	if err != nil {
		t.Fatalf("create bucket %q at %s: %v", cfg.Bucket, cfg.Endpoint, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	err = client.MakeBucket(ctx, cfg.Bucket, minio.MakeBucketOptions{
		Region: cfg.Region, ObjectLocking: locking})
	if err != nil {
		t.Fatalf("create bucket %q at %s: %v", cfg.Bucket, cfg.Endpoint, err)
	}
}

// CountUploads returns the number of multipart uploads in the bucket
// that cfg names that were neither completed nor aborted.
func CountUploads(t *testing.T, cfg s3.Config) int {
	t.Helper()
	core, err := minio.NewCore(strings.TrimPrefix(cfg.Endpoint, "http://"),
		clientOptions(cfg))
	if err != nil {
		t.Fatalf("list uploads in %q at %s: %v", cfg.Bucket, cfg.Endpoint, err)
	}
	result, err := core.ListMultipartUploads(t.Context(), cfg.Bucket,
		"", "", "", "", 1000)
	if err != nil {
		t.Fatalf("list uploads in %q at %s: %v", cfg.Bucket, cfg.Endpoint, err)
	}
	return len(result.Uploads)
}

func clientOptions(cfg s3.Config) *minio.Options {
	return &minio.Options{
		Creds: credentials.NewStaticV4(cfg.AccessKeyID,
			cfg.SecretAccessKey, ""),
		Region:       cfg.Region,
		BucketLookup: minio.BucketLookupPath,
	}
}
