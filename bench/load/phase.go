package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// benchResult is one line of redis-benchmark --csv output.
type benchResult struct {
	Test string
	RPS  float64
	P50  float64
	P99  float64
}

// phase is one run of the benchmark, alone or next to a lifeline job.
type phase struct {
	Name    string
	Wall    time.Duration
	Results []benchResult
	// ServerCPU is the CPU time the source redis-server used.
	ServerCPU time.Duration
	// Jobs are the wall times of the lifeline runs that ended in the
	// phase.
	Jobs []time.Duration
}

// benchmark runs redis-benchmark against the source and parses its CSV.
func (h *harness) benchmark(ctx context.Context, n int, tests string,
	extra ...string) ([]benchResult, error) {
	args := append([]string{"-h", "127.0.0.1", "-p", h.source.port,
		"-t", tests, "-n", strconv.Itoa(n),
		"-c", strconv.Itoa(h.o.clients), "-P", strconv.Itoa(h.o.pipeline),
		"-d", strconv.Itoa(h.o.dataSize), "--csv"}, extra...)
	out, err := exec.CommandContext(ctx, "redis-benchmark", args...).Output()
	if err != nil {
		return nil, fmt.Errorf("redis-benchmark: %w", err)
	}
	return parseCSV(string(out))
}

func parseCSV(text string) ([]benchResult, error) {
	rows, err := csv.NewReader(strings.NewReader(text)).ReadAll()
	if err != nil || len(rows) < 2 {
		return nil, fmt.Errorf("redis-benchmark --csv output is invalid: "+
			"%q", text)
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[name] = i
	}
	var out []benchResult
	for _, r := range rows[1:] {
		var res benchResult
		res.Test = r[col["test"]]
		var errs [3]error
		res.RPS, errs[0] = strconv.ParseFloat(r[col["rps"]], 64)
		res.P50, errs[1] = strconv.ParseFloat(r[col["p50_latency_ms"]], 64)
		res.P99, errs[2] = strconv.ParseFloat(r[col["p99_latency_ms"]], 64)
		for _, err := range errs {
			if err != nil {
				return nil, fmt.Errorf("redis-benchmark row %q: %w", r, err)
			}
		}
		out = append(out, res)
	}
	return out, nil
}

// calibrate picks the -n that makes the SET and GET tests together last
// about the configured number of seconds.
func (h *harness) calibrate(ctx context.Context) (int, error) {
	const probe = 200000
	began := time.Now()
	if _, err := h.benchmark(ctx, probe, "set,get", "-r",
		strconv.Itoa(h.o.keys)); err != nil {
		return 0, err
	}
	perSecond := float64(probe*2) / time.Since(began).Seconds()
	return max(int(perSecond*float64(h.o.seconds)/2), probe), nil
}

// runPhase runs the benchmark and, when job is set, runs job in a loop
// until the benchmark ends, measuring the source server's CPU time.
func (h *harness) runPhase(ctx context.Context, name string, n int,
	job func(context.Context) (time.Duration, error)) (phase, error) {
	ph := phase{Name: name}
	cpu0, err := h.source.cpu()
	if err != nil {
		return ph, err
	}
	jobCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var jobErr error
	if job != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for jobCtx.Err() == nil {
				d, err := job(jobCtx)
				if err != nil {
					if jobCtx.Err() == nil {
						jobErr = err
					}
					return
				}
				ph.Jobs = append(ph.Jobs, d)
			}
		}()
	}
	began := time.Now()
	ph.Results, err = h.benchmark(ctx, n, "set,get", "-r",
		strconv.Itoa(h.o.keys))
	ph.Wall = time.Since(began)
	cpu1, cpuErr := h.source.cpu()
	stop()
	wg.Wait()
	if err != nil {
		return ph, err
	}
	if jobErr != nil {
		return ph, jobErr
	}
	ph.ServerCPU = cpu1 - cpu0
	return ph, cpuErr
}

// printReport prints one row per phase and test, and the backup and
// restore times.
func printReport(w io.Writer, phases []phase) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "phase\ttest\trequests/s\tp50 ms\tp99 ms\t"+
		"redis CPU s/s\tlifeline runs\tmedian run s\t")
	base := phases[0]
	for _, ph := range phases {
		load := ph.ServerCPU.Seconds() / ph.Wall.Seconds()
		for _, r := range ph.Results {
			fmt.Fprintf(tw, "%s\t%s\t%.0f\t%.3f\t%.3f\t%.2f\t%d\t%.2f\t\n",
				ph.Name, r.Test, r.RPS, r.P50, r.P99, load, len(ph.Jobs),
				median(ph.Jobs).Seconds())
		}
	}
	tw.Flush()
	perRequest := base.ServerCPU.Seconds() / requests(base)
	for _, ph := range phases[1:] {
		// The server's CPU time beyond what the benchmark's requests
		// cost alone is what the lifeline runs cost it.
		extra := ph.ServerCPU.Seconds() - requests(ph)*perRequest
		perRun := 0.0
		if len(ph.Jobs) > 0 {
			perRun = extra / float64(len(ph.Jobs))
		}
		fmt.Fprintf(w, "%s: redis-server spent %.2f CPU s on lifeline "+
			"(%.2f s per second, %.3f s per run)", ph.Name, extra,
			extra/ph.Wall.Seconds(), perRun)
		for i, r := range ph.Results {
			if i < len(base.Results) {
				b := base.Results[i]
				fmt.Fprintf(w, "; %s %+.1f%% requests/s, p50 %+.3f ms, "+
					"p99 %+.3f ms", r.Test, 100*(r.RPS/b.RPS-1),
					r.P50-b.P50, r.P99-b.P99)
			}
		}
		fmt.Fprintln(w)
	}
}

// requests estimates how many benchmark requests a phase served: each
// test's rate times its share of the wall time, which the tests split
// in proportion to their durations.
func requests(ph phase) float64 {
	var seconds float64
	for _, r := range ph.Results {
		seconds += 1 / r.RPS
	}
	// Every test sends the same -n requests, so each took n/RPS.
	return float64(len(ph.Results)) * ph.Wall.Seconds() / seconds
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}
