package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// keyEnv is the environment variable that carries the repository key.
const keyEnv = "LIFELINE_KEY_BENCH"

// measurement is the cost of one timed run of a program.
type measurement struct {
	Wall time.Duration
	// CPU is the user plus system time of the program itself.
	CPU time.Duration
	// MaxRSS is the program's peak resident set size in bytes, or 0
	// when it was not measured.
	MaxRSS int64
	// ServerCPU is the CPU time the redis-server on the other end used
	// during the run.
	ServerCPU time.Duration
}

// writeConfig writes a lifeline config with a local repository in
// repoDir and one Redis source per server, named after the server.
func writeConfig(path, repoDir string, servers ...*server) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "repository:\n  url: file://%s\n", repoDir)
	fmt.Fprintf(&b, "keys:\n  - id: bench\n    env: %s\n", keyEnv)
	b.WriteString("sources:\n")
	for _, s := range servers {
		fmt.Fprintf(&b, "  - name: %s\n    type: redis\n    url: %s\n",
			s.name, s.url())
	}
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		return fmt.Errorf("write lifeline config: %w", err)
	}
	return nil
}

// runLifeline runs the lifeline binary with args and the harness's
// config and key, and measures it and the CPU time of srv meanwhile.
// Its standard output and error go to files in the logs directory,
// named after the first argument.
func (h *harness) runLifeline(ctx context.Context, srv *server,
	args ...string) (measurement, error) {
	cmd := exec.CommandContext(ctx, h.lifeline,
		append(args, "--config", h.config)...)
	cmd.Env = append(os.Environ(), keyEnv+"="+h.key)
	logBase := filepath.Join(h.dir, "logs", args[0])
	stdout, err := os.Create(logBase + ".out")
	if err != nil {
		return measurement{}, fmt.Errorf("lifeline %s: %w", args[0], err)
	}
	defer stdout.Close()
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = stdout, &stderr

	m, err := measure(srv, cmd)
	if err != nil {
		return m, fmt.Errorf("lifeline %s: %w: %s (log in %s)", args[0],
			err, bytes.TrimSpace(stderr.Bytes()), stdout.Name())
	}
	return m, nil
}

// measure runs cmd to its end and returns its wall time, CPU time and
// peak RSS, and the CPU time srv used meanwhile.
func measure(srv *server, cmd *exec.Cmd) (measurement, error) {
	before, err := srv.cpuTime()
	if err != nil {
		return measurement{}, err
	}
	m, err := runMeasured(cmd)
	if err != nil {
		return measurement{}, err
	}
	after, err := srv.cpuTime()
	if err != nil {
		return measurement{}, err
	}
	m.ServerCPU = after - before
	return m, nil
}
