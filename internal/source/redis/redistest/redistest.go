// Package redistest starts throw-away redis-server processes for tests.
//
// Each server listens on a free port of 127.0.0.1, keeps its files in a
// temporary directory, writes no snapshots and stops when the test ends.
// The package is for tests only and is not imported by lifeline itself.
package redistest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// startTimeout bounds how long Start waits for the first PING reply.
const startTimeout = 15 * time.Second

// Server is a running redis-server that the test owns.
type Server struct {
	// Addr is the server's host:port, always on 127.0.0.1.
	Addr string
	// Dir is the server's working directory.
	Dir string
}

// URL returns the redis:// URL of database db on the server.
func (s *Server) URL(db int) string {
	return fmt.Sprintf("redis://%s/%d", s.Addr, db)
}

// Client returns a client for database 0 that is closed when the test
// ends.
func (s *Server) Client(t testing.TB) *goredis.Client {
	t.Helper()
	c := goredis.NewClient(&goredis.Options{
		Addr:            s.Addr,
		DisableIdentity: true,
	})
	t.Cleanup(func() { c.Close() })
	return c
}

// Start starts redis-server with an empty data set in a temporary
// directory. Extra args are appended to the command line, so they can
// override the defaults. Start fails the test when redis-server is not
// installed or does not answer PING.
func Start(t testing.TB, args ...string) *Server {
	t.Helper()
	return start(t, t.TempDir(), args)
}

// StartWithRDB starts redis-server on a copy of the RDB file at rdbPath,
// so the server loads the file's data set and cannot change the
// original.
func StartWithRDB(t testing.TB, rdbPath string) *Server {
	t.Helper()
	dir := t.TempDir()
	name := filepath.Base(rdbPath)
	if err := copyFile(filepath.Join(dir, name), rdbPath); err != nil {
		t.Fatalf("copy RDB file: %v", err)
	}
	return start(t, dir, []string{"--dbfilename", name})
}

// Digest returns the server's DEBUG DIGEST: one hash of every key, value
// and expiry in all databases.
func Digest(t testing.TB, s *Server) string {
	t.Helper()
	ctx := context.Background()
	d, err := s.Client(t).Do(ctx, "DEBUG", "DIGEST").Text()
	if err != nil {
		t.Fatalf("DEBUG DIGEST on %s: %v", s.Addr, err)
	}
	return d
}

func start(t testing.TB, dir string, extra []string) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server is not on PATH (%v); "+
			"install it with: apt-get install -y redis-server", err)
	}
	port := freePort(t)
	args := []string{
		"--port", strconv.Itoa(port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--enable-debug-command", "local",
		"--dir", dir,
	}
	args = append(args, extra...)

	cmd := exec.Command(bin, args...)
	out := &syncBuffer{}
	cmd.Stdout = out
	cmd.Stderr = out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() { stop(cmd, exited) })

	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	s := &Server{Addr: addr, Dir: dir}
	if err := waitReady(s.Addr, exited); err != nil {
		t.Fatalf("redis-server on %s: %v\nserver output:\n%s",
			s.Addr, err, out.String())
	}
	return s
}

// waitReady sends PING until the server replies, the process exits or
// startTimeout passes.
func waitReady(addr string, exited <-chan struct{}) error {
	c := goredis.NewClient(&goredis.Options{
		Addr:            addr,
		DisableIdentity: true,
		MaxRetries:      -1,
		DialTimeout:     time.Second,
	})
	defer c.Close()

	deadline := time.Now().Add(startTimeout)
	for {
		// Any reply, NOAUTH included, shows that the server is up.
		err := c.Ping(context.Background()).Err()
		var reply goredis.Error
		if err == nil || errors.As(err, &reply) {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("server exited before replying to PING")
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no PING reply within %v: %w",
				startTimeout, err)
		}
	}
}

// stop sends SIGTERM and kills the process if it has not exited after a
// few seconds.
func stop(cmd *exec.Cmd, exited <-chan struct{}) {
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		<-exited
	}
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
// Another process may take it before redis-server binds it, which start
// reports as a server that exited early.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func copyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// syncBuffer collects the server's output, which the process writes from
// its own goroutines while the test may read it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
