package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/lifeline-backup/lifeline/bench/internal/benchenv"
)

// The serve case measures an incremental the way production takes one:
// inside lifeline serve, whose redis source follows its keyspace
// notifications, so the incremental reads only the changed keys. serve
// runs its incrementals on the minute, so the case waits for one
// incremental to set the cursor, changes 1% of the keys, and reads the
// next incremental's duration from serve's /metrics.

// serveWait bounds each wait for serve: start-up catch-up backups and
// the next minute's incremental.
const serveWait = 5 * time.Minute

// serveChangeSeed is the seed of the new values the serve case writes.
const serveChangeSeed = 98

// writeServeConfig writes the config of the serve case: the source with
// keyspace notifications, incrementals every minute and the HTTP server
// on listen.
func writeServeConfig(h *harness, listen string) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "repository:\n  url: file://%s\n", h.repoDir)
	fmt.Fprintf(&b, "keys:\n  - id: bench\n    env: %s\n", keyEnv)
	fmt.Fprintf(&b, "sources:\n  - name: %s\n    type: redis\n    url: %s\n"+
		"    keyspace_notifications: true\n", h.source.name, h.source.url())
	b.WriteString("schedule:\n  incremental: \"* * * * *\"\n")
	fmt.Fprintf(&b, "serve:\n  listen: %s\n", listen)
	fmt.Fprintf(&b, "state_dir: %s\n", filepath.Join(h.dir, "state"))
	if err := os.WriteFile(h.serveConfig(), b.Bytes(), 0o600); err != nil {
		return fmt.Errorf("write serve config: %w", err)
	}
	return nil
}

func (h *harness) serveConfig() string {
	return filepath.Join(h.dir, "serve.yaml")
}

// daemon is a running lifeline serve.
type daemon struct {
	cmd    *exec.Cmd
	base   string
	log    string
	source string
	exited chan struct{}
}

// startServe starts lifeline serve on the serve config.
func (h *harness) startServe() (*daemon, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	listen := "127.0.0.1:" + strconv.Itoa(port)
	if err := writeServeConfig(h, listen); err != nil {
		return nil, err
	}
	logPath := filepath.Join(h.dir, "logs", "serve.out")
	out, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	cmd := exec.Command(h.lifeline, "serve", "--config", h.serveConfig(),
		"--log-format", "json")
	cmd.Env = append(os.Environ(), keyEnv+"="+h.key)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start lifeline serve: %w", err)
	}
	d := &daemon{cmd: cmd, base: "http://" + listen, log: logPath,
		source: h.source.name, exited: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(d.exited)
	}()
	return d, nil
}

// stop stops serve with SIGTERM and waits for it.
func (d *daemon) stop() {
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(time.Minute):
		d.cmd.Process.Kill()
		<-d.exited
	}
}

// metric returns the value of the metric name for the source and tier
// incremental, or 0 while serve has not set it.
func (d *daemon) metric(ctx context.Context, name string) (float64, error) {
	body, err := httpGet(ctx, d.base+"/metrics")
	if err != nil {
		return 0, err
	}
	label := `source="` + d.source + `",tier="incremental"`
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, name+"{") &&
			strings.Contains(line, label) {
			f := strings.Fields(line)
			return strconv.ParseFloat(f[len(f)-1], 64)
		}
	}
	return 0, nil
}

// waitIncrementals waits until serve has finished n incrementals of the
// source, counted by lifeline_backup_attempts_total.
func (d *daemon) waitIncrementals(ctx context.Context, n float64) error {
	deadline := time.Now().Add(serveWait)
	for {
		got, err := d.metric(ctx, "lifeline_backup_attempts_total")
		if err == nil && got >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("serve finished %v of %v incrementals in "+
				"%v (last error %v; log in %s)", got, n, serveWait, err,
				d.log)
		}
		select {
		case <-d.exited:
			return fmt.Errorf("lifeline serve exited (log in %s)", d.log)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// following returns an error unless serve's log shows that it follows
// the source.
func (d *daemon) following() error {
	data, err := os.ReadFile(d.log)
	if err != nil {
		return err
	}
	if !bytes.Contains(data, []byte(`"following keyspace notifications"`)) {
		return fmt.Errorf("serve does not follow the source's keyspace "+
			"notifications (log in %s)", d.log)
	}
	return nil
}

// lifelineServeIncremental measures one incremental of serve after 1% of
// the keys changed.
func lifelineServeIncremental(ctx context.Context, h *harness) (measurement,
	error) {
	d, err := h.startServe()
	if err != nil {
		return measurement{}, err
	}
	defer d.stop()
	pid := d.cmd.Process.Pid

	// The first incremental, a catch-up at start or the next minute's,
	// makes the cursor the measured one continues from.
	benchenv.Progress("  waiting for serve's first incremental")
	if err := d.waitIncrementals(ctx, 1); err != nil {
		return measurement{}, err
	}
	if err := d.following(); err != nil {
		return measurement{}, err
	}
	done, err := d.metric(ctx, "lifeline_backup_attempts_total")
	if err != nil {
		return measurement{}, err
	}
	// Changing the keys takes about a second; leave the minute's
	// incremental alone when it is about to start.
	if untilMinute := time.Until(time.Now().Truncate(time.Minute).
		Add(time.Minute)); untilMinute < 15*time.Second {
		done++
		if err := d.waitIncrementals(ctx, done); err != nil {
			return measurement{}, err
		}
	}
	if err := changeKeys(ctx, h, serveChangeSeed); err != nil {
		return measurement{}, err
	}
	if err := benchenv.ResetPeakRSS(pid); err != nil {
		return measurement{}, err
	}
	cpuBefore, err := benchenv.ProcessCPU(pid)
	if err != nil {
		return measurement{}, err
	}
	serverBefore, err := h.source.cpuTime()
	if err != nil {
		return measurement{}, err
	}
	benchenv.Progress("  waiting for the next minute's incremental")
	if err := d.waitIncrementals(ctx, done+1); err != nil {
		return measurement{}, err
	}
	return d.measured(ctx, h, pid, cpuBefore, serverBefore)
}

// measured reads the incremental's duration and records from /metrics
// and serve's CPU time and peak RSS since the keys changed.
func (d *daemon) measured(ctx context.Context, h *harness, pid int,
	cpuBefore, serverBefore time.Duration) (measurement, error) {
	secs, err := d.metric(ctx, "lifeline_backup_duration_seconds")
	if err != nil {
		return measurement{}, err
	}
	h.serveRecords, err = d.metric(ctx, "lifeline_backup_records")
	if err != nil {
		return measurement{}, err
	}
	m := measurement{Wall: time.Duration(secs * float64(time.Second))}
	if m.MaxRSS, err = benchenv.PeakRSS(pid); err != nil {
		return m, err
	}
	cpu, err := benchenv.ProcessCPU(pid)
	if err != nil {
		return m, err
	}
	m.CPU = cpu - cpuBefore
	server, err := h.source.cpuTime()
	m.ServerCPU = server - serverBefore
	return m, err
}

// checkServeIncremental checks that serve's incremental stored the
// changed keys and no others, as only a followed source can without
// reading every key.
func checkServeIncremental(_ context.Context, h *harness) error {
	want := float64(changedKeys(h))
	if h.serveRecords != want {
		return fmt.Errorf("serve's incremental stored %v records, "+
			"expected the %v changed keys", h.serveRecords, want)
	}
	return nil
}

// httpGet returns the body of a GET of url, which must return 200.
func httpGet(ctx context.Context, url string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return string(body), err
}
