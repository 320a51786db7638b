package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// keyEnv carries the repository key to lifeline.
const keyEnv = "LIFELINE_KEY_LOAD"

// harness owns the work folder, the two redis-server processes and the
// lifeline binary and config.
type harness struct {
	o        options
	dir      string
	source   *server
	target   *server
	lifeline string
	config   string
	key      string
}

func newHarness(ctx context.Context, o options) (*harness, error) {
	for _, bin := range []string{"redis-server", "redis-benchmark",
		"redis-cli"} {
		if _, err := exec.LookPath(bin); err != nil {
			return nil, fmt.Errorf("%s is not installed: run 'make deps' "+
				"(apt-get install redis-server redis-tools)", bin)
		}
	}
	dir, err := os.MkdirTemp("", "lifeline-load-")
	if err != nil {
		return nil, err
	}
	h := &harness{o: o, dir: dir}
	if err := h.setup(ctx); err != nil {
		h.close()
		return nil, err
	}
	return h, nil
}

func (h *harness) setup(ctx context.Context) error {
	var err error
	if h.source, err = startServer(ctx, filepath.Join(h.dir, "source")); err != nil {
		return err
	}
	if h.target, err = startServer(ctx, filepath.Join(h.dir, "target")); err != nil {
		return err
	}
	if err := h.build(ctx); err != nil {
		return err
	}
	if err := h.writeConfig(); err != nil {
		return err
	}
	if _, err := h.lifelineRun(ctx, "init"); err != nil {
		return err
	}
	// Three random writes per key reach about 95% of the key space, so
	// backups read nearly every key the load touches.
	_, err = h.benchmark(ctx, 3*h.o.keys, "set", "-r",
		strconv.Itoa(h.o.keys))
	return err
}

func (h *harness) close() {
	for _, s := range []*server{h.source, h.target} {
		if s != nil {
			s.stop()
		}
	}
	if h.o.keep {
		fmt.Println("work folder kept:", h.dir)
		return
	}
	os.RemoveAll(h.dir)
}

// build compiles lifeline from the module that holds the working folder.
func (h *harness) build(ctx context.Context) error {
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	for {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(root)
		if parent == root {
			return errors.New("run bench/load inside the lifeline module")
		}
		root = parent
	}
	h.lifeline = filepath.Join(h.dir, "lifeline")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", h.lifeline,
		"./cmd/lifeline")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build lifeline: %w\n%s", err, out)
	}
	out, err := exec.CommandContext(ctx, h.lifeline, "keys",
		"generate").Output()
	if err != nil {
		return fmt.Errorf("lifeline keys generate: %w", err)
	}
	h.key = strings.TrimSpace(string(out))
	return nil
}

func (h *harness) writeConfig() error {
	h.config = filepath.Join(h.dir, "lifeline.yaml")
	text := fmt.Sprintf("repository:\n  url: file://%s\n"+
		"keys:\n  - id: load\n    env: %s\ncompression: zstd\n"+
		"sources:\n"+
		"  - name: source\n    type: redis\n    url: redis://%s/0\n"+
		"  - name: target\n    type: redis\n    url: redis://%s/0\n",
		filepath.Join(h.dir, "repo"), keyEnv, h.source.addr, h.target.addr)
	return os.WriteFile(h.config, []byte(text), 0o600)
}

// lifelineRun runs one lifeline command and returns its wall time.
func (h *harness) lifelineRun(ctx context.Context,
	args ...string) (time.Duration, error) {
	args = append([]string{args[0], "--config", h.config,
		"--log-format", "json"}, args[1:]...)
	cmd := exec.CommandContext(ctx, h.lifeline, args...)
	cmd.Env = append(os.Environ(), keyEnv+"="+h.key)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	began := time.Now()
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("lifeline %s: %w: %s", args[0], err,
			stderr.String())
	}
	return time.Since(began), nil
}

// backup takes one full backup of the source.
func (h *harness) backup(ctx context.Context) (time.Duration, error) {
	return h.lifelineRun(ctx, "backup", "--tier", "full", "--source",
		"source")
}

// restore empties the target and restores the newest backup into it.
func (h *harness) restore(ctx context.Context) (time.Duration, error) {
	out, err := exec.CommandContext(ctx, "redis-cli", "-h", "127.0.0.1",
		"-p", h.target.port, "FLUSHALL").CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("flush target: %w: %s", err, out)
	}
	return h.lifelineRun(ctx, "restore", "--snapshot", "latest",
		"--source", "source", "--to", "target")
}

// server is one redis-server process.
type server struct {
	cmd  *exec.Cmd
	addr string
	port string
}

func startServer(ctx context.Context, dir string) (*server, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	cmd := exec.Command("redis-server", "--bind", "127.0.0.1", "--port",
		port, "--dir", dir, "--save", "", "--appendonly", "no")
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start redis-server: %w", err)
	}
	s := &server{cmd: cmd, addr: "127.0.0.1:" + port, port: port}
	for range 100 {
		c, err := net.Dial("tcp", s.addr)
		if err == nil {
			c.Close()
			return s, nil
		}
		select {
		case <-ctx.Done():
			s.stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	s.stop()
	return nil, fmt.Errorf("redis-server on %s did not start", s.addr)
}

func (s *server) stop() {
	s.cmd.Process.Kill()
	s.cmd.Wait()
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat CPU times. It is 100
// on every Linux architecture Go supports.
const clockTicks = 100

// cpu returns the user plus system CPU time the server has used.
func (s *server) cpu() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which ends with ')': state is
	// field 3, utime 14 and stime 15.
	rest := string(b[bytes.LastIndexByte(b, ')')+2:])
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc stat: %q", rest)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}
