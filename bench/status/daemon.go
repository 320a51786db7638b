package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"go.etcd.io/bbolt"

	"github.com/lifeline-backup/lifeline/bench/internal/benchenv"
	"github.com/lifeline-backup/lifeline/internal/status"
)

// keyEnv is the environment variable that carries the repository key.
const keyEnv = "LIFELINE_KEY_BENCH"

// waitLimit bounds each wait for serve: for /healthz, and for results.
const waitLimit = 2 * time.Minute

// daemon is one 'lifeline serve' process and its working directory.
type daemon struct {
	dir, bin, key, config, base string
	cmd                         *exec.Cmd
	exited                      chan error
	memory                      *rssSampler
	cpuStart                    time.Duration
	client                      *http.Client
}

// newDaemon builds lifeline, writes a config with one check per
// endpoint path and a bbolt source, and creates the repository.
func newDaemon(ctx context.Context, o options, endpointURL string) (*daemon,
	error) {
	root, err := benchenv.ModuleRoot()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "lifeline-bench-status-")
	if err != nil {
		return nil, fmt.Errorf("create working directory: %w", err)
	}
	d := &daemon{dir: dir, config: filepath.Join(dir, "lifeline.yaml"),
		client: &http.Client{Timeout: 10 * time.Second}}
	benchenv.Progress("building lifeline")
	if d.bin, err = benchenv.BuildLifeline(ctx, root, dir); err != nil {
		return d, err
	}
	if d.key, err = benchenv.GenerateKey(ctx, d.bin); err != nil {
		return d, err
	}
	addr, err := freeAddr()
	if err != nil {
		return d, err
	}
	d.base = "http://" + addr
	if err := d.writeConfig(o, addr, endpointURL); err != nil {
		return d, err
	}
	out, err := d.command(ctx, "init").CombinedOutput()
	if err != nil {
		return d, fmt.Errorf("lifeline init: %w: %s", err, out)
	}
	return d, nil
}

func (d *daemon) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, d.bin,
		append(args, "--config", d.config)...)
	cmd.Env = append(os.Environ(), keyEnv+"="+d.key)
	return cmd
}

// writeConfig writes the config and the bbolt file of its source.
func (d *daemon) writeConfig(o options, addr, endpointURL string) error {
	boltPath := filepath.Join(d.dir, "app.db")
	if err := writeBolt(boltPath); err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "repository:\n  url: file://%s\n",
		filepath.Join(d.dir, "repo"))
	fmt.Fprintf(&b, "keys:\n  - id: bench\n    env: %s\n", keyEnv)
	fmt.Fprintf(&b, "sources:\n  - name: app\n    type: bolt\n"+
		"    path: %s\n", boltPath)
	fmt.Fprintf(&b, "serve:\n  listen: %s\n", addr)
	fmt.Fprintf(&b, "state_dir: %s\n", filepath.Join(d.dir, "state"))
	b.WriteString("status:\n  checks:\n")
	for i := range o.checks {
		fmt.Fprintf(&b, "    - id: check-%d\n      url: %s/check/%d\n"+
			"      interval: %s\n      conditions: [\"[STATUS] == 200\"]\n",
			i, endpointURL, i, o.interval)
	}
	if err := os.WriteFile(d.config, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("write lifeline config: %w", err)
	}
	return nil
}

// writeBolt creates a bbolt file with one small bucket.
func writeBolt(path string) error {
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		return fmt.Errorf("create bbolt source: %w", err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte("app"))
		if err != nil {
			return err
		}
		return b.Put([]byte("greeting"), []byte("hello"))
	})
	return errors.Join(err, db.Close())
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// start starts serve with its log in the working directory, starts
// sampling its memory and waits until /healthz returns 200.
func (d *daemon) start(ctx context.Context) error {
	log, err := os.Create(filepath.Join(d.dir, "serve.log"))
	if err != nil {
		return fmt.Errorf("create serve log: %w", err)
	}
	defer log.Close()
	d.cmd = d.command(context.WithoutCancel(ctx), "serve",
		"--log-format", "json")
	d.cmd.Stdout, d.cmd.Stderr = log, log
	if err := d.cmd.Start(); err != nil {
		return fmt.Errorf("start lifeline serve: %w", err)
	}
	d.exited = make(chan error, 1)
	go func() { d.exited <- d.cmd.Wait() }()
	d.memory = startRSSSampler(d.cmd.Process.Pid, 100*time.Millisecond)
	d.cpuStart, _ = benchenv.ProcessCPU(d.cmd.Process.Pid)
	return d.poll(ctx, "serve to respond on /healthz", func() (bool, error) {
		resp, err := d.client.Get(d.base + "/healthz")
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
}

// poll calls cond every 100 ms until it returns true or an error, serve
// exits, or waitLimit passes.
func (d *daemon) poll(ctx context.Context, what string,
	cond func() (bool, error)) error {
	deadline := time.Now().Add(waitLimit)
	for {
		ok, err := cond()
		if err != nil || ok {
			return err
		}
		select {
		case err := <-d.exited:
			return fmt.Errorf("waiting for %s: serve exited: %v (log in "+
				"%s)", what, err, filepath.Join(d.dir, "serve.log"))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("waiting for %s: timed out after %v", what,
				waitLimit)
		}
	}
}

// waitForResults waits until n checks have a result, and fails when
// one of them is not up.
func (d *daemon) waitForResults(ctx context.Context, n int) error {
	return d.poll(ctx, "a result of every check", func() (bool, error) {
		rep, err := d.report()
		if err != nil {
			return false, nil
		}
		done := 0
		for _, c := range rep.Components {
			if c.Kind != "http" || c.LastCheck == nil {
				continue
			}
			if c.LastCheck.HTTPStatus != http.StatusOK {
				return false, fmt.Errorf("check %s: HTTP %d, want 200: %s",
					c.ID, c.LastCheck.HTTPStatus, c.LastCheck.Error)
			}
			done++
		}
		return done == n, nil
	})
}

func (d *daemon) report() (*status.Report, error) {
	body, err := d.get()
	if err != nil {
		return nil, err
	}
	var rep status.Report
	if err := json.Unmarshal(body, &rep); err != nil {
		return nil, fmt.Errorf("decode /api/status: %w", err)
	}
	return &rep, nil
}

// get returns the body of GET /api/status, failing unless it is 200.
func (d *daemon) get() ([]byte, error) {
	resp, err := d.client.Get(d.base + "/api/status")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("read /api/status: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /api/status: %s", resp.Status)
	}
	return body, nil
}

func (d *daemon) reportSize() (int, error) {
	body, err := d.get()
	return len(body), err
}

// measureLatency sends n sequential GET /api/status requests on one
// kept-alive connection and returns the time of each, from sending the
// request to reading the whole body.
func (d *daemon) measureLatency(ctx context.Context, n int) (
	[]time.Duration, error) {
	latencies := make([]time.Duration, 0, n)
	for range n {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		began := time.Now()
		if _, err := d.get(); err != nil {
			return nil, err
		}
		latencies = append(latencies, time.Since(began))
	}
	return latencies, nil
}

// cpuSeconds returns the user plus system CPU time serve has used since
// it started, or -1 when /proc cannot be read.
func (d *daemon) cpuSeconds() float64 {
	now, err := benchenv.ProcessCPU(d.cmd.Process.Pid)
	if err != nil {
		return -1
	}
	return (now - d.cpuStart).Seconds()
}

// stop sends SIGTERM to serve and waits for it to exit.
func (d *daemon) stop() {
	if d.cmd == nil || d.cmd.Process == nil {
		return
	}
	d.memory.stop()
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(30 * time.Second):
		d.cmd.Process.Kill()
		<-d.exited
	}
}

// close removes the working directory unless keep is set.
func (d *daemon) close(keep bool) {
	if keep {
		benchenv.Progress("kept working directory %s", d.dir)
		return
	}
	os.RemoveAll(d.dir)
}
