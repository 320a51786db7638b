package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// wrapArg, as the first argument, makes the benchmark binary run the
// remaining arguments as a child and write the child's usage to file
// descriptor 3.
//
// The peak RSS must come from this small wrapper and not from the
// benchmark itself. On Linux a child's ru_maxrss starts from the peak
// RSS of the memory map it replaced at execve. Go starts children with
// CLONE_VM, so that map is the parent's. A direct child of the
// benchmark, which holds the data set it loaded, would therefore report
// at least the benchmark's own peak (seen here as 111 MiB for a
// lifeline run that peaks at 44 MiB).
const wrapArg = "-run-measured"

// childUsage is the wrapper's report on one run of its child.
type childUsage struct {
	WallNS    int64  `json:"wall_ns"`
	CPUNS     int64  `json:"cpu_ns"`
	MaxRSSKiB int64  `json:"max_rss_kib"`
	Error     string `json:"error,omitempty"`
}

// runWrapped runs args as a child with the wrapper's standard streams
// and reports its usage on file descriptor 3. It returns the exit code
// for the wrapper: the child's, or 1 when it did not run.
func runWrapped(args []string) int {
	report := os.NewFile(3, "usage")
	if len(args) == 0 || report == nil {
		fmt.Fprintln(os.Stderr, "bench: "+wrapArg+" needs a command "+
			"and file descriptor 3")
		return 2
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	began := time.Now()
	err := cmd.Run()
	var u childUsage
	u.WallNS = int64(time.Since(began))
	code := 0
	if err != nil {
		u.Error = err.Error()
		code = 1
	}
	if st := cmd.ProcessState; st != nil {
		u.CPUNS = int64(st.UserTime() + st.SystemTime())
		if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
			u.MaxRSSKiB = ru.Maxrss // KiB on Linux
		}
		if st.ExitCode() > 0 {
			code = st.ExitCode()
		}
	}
	json.NewEncoder(report).Encode(u)
	return code
}

// runMeasured runs cmd through the wrapper and returns the child's
// wall time, CPU time and peak RSS. cmd must not have been started.
func runMeasured(cmd *exec.Cmd) (measurement, error) {
	self, err := os.Executable()
	if err != nil {
		return measurement{}, fmt.Errorf("find own binary: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return measurement{}, fmt.Errorf("create usage pipe: %w", err)
	}
	defer r.Close()
	wrapped := *cmd
	wrapped.Path = self
	wrapped.Args = append([]string{self, wrapArg, cmd.Path},
		cmd.Args[1:]...)
	wrapped.ExtraFiles = []*os.File{w}
	wrapped.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}

	if err := wrapped.Start(); err != nil {
		w.Close()
		return measurement{}, err
	}
	w.Close()
	data, readErr := io.ReadAll(r)
	waitErr := wrapped.Wait()
	var u childUsage
	if err := json.Unmarshal(data, &u); err != nil {
		return measurement{}, errors.Join(waitErr, readErr,
			fmt.Errorf("read usage from wrapper: %w", err))
	}
	if waitErr != nil {
		return measurement{}, waitErr
	}
	return measurement{
		Wall:   time.Duration(u.WallNS),
		CPU:    time.Duration(u.CPUNS),
		MaxRSS: u.MaxRSSKiB * 1024,
	}, nil
}
