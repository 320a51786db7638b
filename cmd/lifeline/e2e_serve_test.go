package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// processWait bounds every wait on a lifeline subprocess: for its HTTP
// server, a log line, or its exit.
const processWait = 60 * time.Second

// buildLifeline builds the lifeline binary into a temporary folder and
// returns its path.
func buildLifeline(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "lifeline")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = filepath.Join(moduleRoot(t), "cmd", "lifeline")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// lockedBuffer is a bytes.Buffer that a subprocess writes while the test
// reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// process is a running lifeline subprocess.
type process struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdout lockedBuffer
	stderr lockedBuffer
	exited chan struct{}
	err    error
}

// startLifeline starts the binary bin with args and the test's
// environment. The process is killed when the test ends, if still
// running.
func startLifeline(t *testing.T, bin string, args ...string) *process {
	t.Helper()
	p := &process{t: t, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout = &p.stdout
	p.cmd.Stderr = &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			p.cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

// wait waits up to processWait for the process to exit and returns its
// exit code.
func (p *process) wait() int {
	p.t.Helper()
	select {
	case <-p.exited:
	case <-time.After(processWait):
		p.t.Fatalf("%v still running after %v\nstdout:\n%s\nstderr:\n%s",
			p.cmd.Args, processWait, p.stdout.String(), p.stderr.String())
	}
	return p.cmd.ProcessState.ExitCode()
}

// waitFor polls cond every 50 ms until it returns true, failing the test
// after processWait or when the process exits first.
func (p *process) waitFor(what string, cond func() bool) {
	p.t.Helper()
	deadline := time.Now().Add(processWait)
	for !cond() {
		select {
		case <-p.exited:
			p.t.Fatalf("waiting for %s: the process exited: %v\nstdout:\n"+
				"%s\nstderr:\n%s", what, p.err, p.stdout.String(),
				p.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("waiting for %s: not done after %v\nstdout:\n%s\n"+
				"stderr:\n%s", what, processWait, p.stdout.String(),
				p.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// httpGet returns the status code and body of a GET of url, or an error.
func httpGet(url string) (int, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// metricLine returns the first line of a Prometheus text exposition that
// starts with name and contains label, or "".
func metricLine(body, name, label string) string {
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, name+"{") &&
			strings.Contains(line, label) {
			return line
		}
	}
	return ""
}

func TestE2E_ServeBacksUpAndStops(t *testing.T) {
	bin := buildLifeline(t)
	e := newE2E(t)
	_, url := e.localRepo()
	boltPath := filepath.Join(e.dir, "app.db")
	changeBolt(t, boltPath, 0)
	addr := closedAddr(t)
	e.writeConfigText(fmt.Sprintf(`repository:
  url: %s
keys:
  - id: k1
    env: %s
sources:
  - name: app
    type: bolt
    path: %s
schedule:
  incremental: "* * * * *"
serve:
  listen: %s
  stop_timeout: 30s
state_dir: %s
`, url, keyEnv, boltPath, addr, filepath.Join(e.dir, "state")))
	e.mustRun("init")

	p := startLifeline(t, bin, "serve", "--config", e.config,
		"--log-format", "json")
	base := "http://" + addr
	p.waitFor("/healthz", func() bool {
		code, _, err := httpGet(base + "/healthz")
		return err == nil && code == http.StatusOK
	})
	_, health, err := httpGet(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	wantContains(t, "/healthz body", health, `"status":"ok"`)
	p.waitFor("a committed backup", func() bool {
		return strings.Contains(p.stdout.String(), `"backup committed"`)
	})

	// The metrics of a backup are set just after its log line.
	var metrics string
	label := `source="app"`
	p.waitFor("backup metrics", func() bool {
		_, metrics, err = httpGet(base + "/metrics")
		return err == nil && metricLine(metrics,
			"lifeline_backup_last_success_timestamp_seconds", label) != ""
	})
	if metricLine(metrics, "lifeline_backup_attempts_total", label) == "" {
		t.Errorf("/metrics has no lifeline_backup_attempts_total line "+
			"with %s:\n%s", label, metrics)
	}

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("send SIGTERM: %v", err)
	}
	if code := p.wait(); code != 0 {
		t.Errorf("serve exit code after SIGTERM = %d, want 0\nstderr:\n%s",
			code, p.stderr.String())
	}
	out := p.stdout.String()
	logLine(t, out, "serve stopped")
	e.checkOutput(result{args: []string{"serve"}, stdout: out,
		stderr: p.stderr.String()})
}
