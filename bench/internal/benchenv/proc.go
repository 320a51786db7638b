package benchenv

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of the CPU times in /proc/PID/stat.
// NOTE: it is assumed to be 100, the value on x86 and arm64 Linux, and
// not read with sysconf(_SC_CLK_TCK).
const clockTicks = 100

// ProcessCPU returns utime+stime+cutime+cstime of a process.
func ProcessCPU(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read cpu time of process %d: %w", pid, err)
	}
	// The command name in field 2 may contain spaces, so fields are
	// counted from the ")" that closes it: field 3 has index 0.
	i := strings.LastIndexByte(string(data), ')')
	fields := strings.Fields(string(data[i+1:]))
	if len(fields) < 15 {
		return 0, fmt.Errorf("read cpu time of process %d: short stat",
			pid)
	}
	var ticks int64
	for _, f := range fields[11:15] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("read cpu time of process %d: %w",
				pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// ProcessRSS returns the resident set size of a process in bytes, the
// VmRSS line of /proc/PID/status.
func ProcessRSS(pid int) (int64, error) {
	return statusBytes(pid, "VmRSS")
}

// PeakRSS returns the peak resident set size of a process in bytes, the
// VmHWM line of /proc/PID/status, since it started or since the last
// ResetPeakRSS.
func PeakRSS(pid int) (int64, error) {
	return statusBytes(pid, "VmHWM")
}

// ResetPeakRSS sets the peak resident set size of a process to its
// current size, so PeakRSS then measures from now.
func ResetPeakRSS(pid int) error {
	err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid),
		[]byte("5"), 0)
	if err != nil {
		return fmt.Errorf("reset peak rss of process %d: %w", pid, err)
	}
	return nil
}

// statusBytes reads a line of /proc/PID/status given in kB.
func statusBytes(pid int, field string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("read %s of process %d: %w", field, pid, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), field+":")
		if !ok {
			continue
		}
		// The value is in kB, which the kernel means as KiB.
		kib, err := strconv.ParseInt(strings.TrimSuffix(
			strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("read %s of process %d: %w", field,
				pid, err)
		}
		return kib << 10, nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("read %s of process %d: %w", field, pid, err)
	}
	return 0, fmt.Errorf("read %s of process %d: no such line", field, pid)
}
