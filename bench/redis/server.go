package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/lifeline-backup/lifeline/bench/internal/benchenv"
)

// server is one redis-server process that the benchmark started.
type server struct {
	name    string
	port    int
	dir     string
	cmd     *exec.Cmd
	client  *goredis.Client
	started time.Time
	// exited is closed when the process has exited and been reaped.
	exited chan struct{}
}

// startServer starts redis-server on a free loopback port with its
// working directory dir and returns without waiting for it to accept
// commands. The extra arguments are appended to the command line, so
// they may override the defaults.
func startServer(name, dir string, extra ...string) (*server, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("start %s server: %w", name, err)
	}
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("start %s server: %w", name, err)
	}
	args := []string{
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", dir,
		"--logfile", filepath.Join(dir, "redis.log"),
		// Without this, redis-cli --rdb waits 5 s (the default of
		// Redis 7.0) for more replicas before the server starts
		// sending.
		"--repl-diskless-sync-delay", "0",
	}

	cmd := exec.Command("redis-server", append(args, extra...)...)
	// The server dies with the benchmark, even if the benchmark is
	// killed before its deferred stops run.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	s := &server{name: name, port: port, dir: dir, cmd: cmd,
		exited: make(chan struct{})}
	s.started = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s server: %w (is redis-server "+
			"installed? run 'make deps')", name, err)
	}
	go func() {
		cmd.Wait()
		close(s.exited)
	}()

	s.client = goredis.NewClient(&goredis.Options{
		Addr:         s.addr(),
		MaxRetries:   -1,
		ReadTimeout:  time.Minute,
		WriteTimeout: time.Minute,
	})
	return s, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *server) addr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
}

// url returns the redis:// URL of database 0.
func (s *server) url() string { return "redis://" + s.addr() + "/0" }

// waitReady polls until the server replies to PING and INFO reports that
// it has finished loading its data set, and returns the time since the
// process started.
func (s *server) waitReady(ctx context.Context,
	timeout time.Duration) (time.Duration, error) {
	deadline := time.Now().Add(timeout)
	for {
		if ready, err := s.ready(ctx); ready {
			return time.Since(s.started), nil
		} else if time.Now().After(deadline) {
			return 0, fmt.Errorf("wait for %s server on %s: not ready "+
				"after %v: %v (see %s)", s.name, s.addr(), timeout, err,
				filepath.Join(s.dir, "redis.log"))
		}
		select {
		case <-s.exited:
			return 0, fmt.Errorf("wait for %s server: it exited (see %s)",
				s.name, filepath.Join(s.dir, "redis.log"))
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func (s *server) ready(ctx context.Context) (bool, error) {
	if err := s.client.Ping(ctx).Err(); err != nil {
		return false, err
	}
	info, err := s.client.Info(ctx, "persistence").Result()
	if err != nil {
		return false, err
	}
	if !strings.Contains(info, "loading:0") {
		return false, errors.New("still loading")
	}
	return true, nil
}

// waitNoChild polls INFO persistence until the server has no RDB or
// AOF child process, module fork included.
func (s *server) waitNoChild(ctx context.Context) error {
	for {
		info, err := s.client.Info(ctx, "persistence").Result()
		if err != nil {
			return fmt.Errorf("info persistence of %s server: %w",
				s.name, err)
		}
		if !strings.Contains(info, "_in_progress:1") {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// dbSize returns DBSIZE of database 0.
func (s *server) dbSize(ctx context.Context) (int64, error) {
	n, err := s.client.DBSize(ctx).Result()
	if err != nil {
		return 0, fmt.Errorf("dbsize of %s server: %w", s.name, err)
	}
	return n, nil
}

// usedMemory returns the used_memory field of INFO memory in bytes.
func (s *server) usedMemory(ctx context.Context) (int64, error) {
	info, err := s.client.Info(ctx, "memory").Result()
	if err != nil {
		return 0, fmt.Errorf("info memory of %s server: %w", s.name, err)
	}
	for line := range strings.Lines(info) {
		v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:")
		if ok {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, fmt.Errorf("info memory of %s server: no used_memory",
		s.name)
}

// cpuTime returns the CPU time the server and its reaped children (the
// forks that write RDB data) have used so far, read from /proc.
func (s *server) cpuTime() (time.Duration, error) {
	return benchenv.ProcessCPU(s.cmd.Process.Pid)
}

// stop kills the server and waits for it to exit.
func (s *server) stop() {
	s.client.Close()
	s.cmd.Process.Kill()
	<-s.exited
}
