// Command status benchmarks the status page of 'lifeline serve': the
// daemon's resident memory while it runs many HTTP checks (100 by
// default), and the latency of GET /api/status. The checks go to one local HTTP server
// in this process, on 127.0.0.1, with one path per check.
//
// Run it from the module root:
//
//	go run ./bench/status -out results.json
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/lifeline-backup/lifeline/bench/internal/benchenv"
)

// Targets of the status page.
const (
	maxRSSMiB   = 50
	maxP99Milli = 10
)

type options struct {
	checks   int
	interval time.Duration
	run      time.Duration
	requests int
	out      string
	keep     bool
}

func main() {
	os.Exit(run())
}

func run() int {
	var o options
	flag.IntVar(&o.checks, "checks", 100, "number of HTTP checks")
	flag.DurationVar(&o.interval, "interval", 10*time.Second,
		"interval of every check")
	flag.DurationVar(&o.run, "run", 45*time.Second,
		"how long serve runs its checks before the latency test")
	flag.IntVar(&o.requests, "requests", 5000,
		"number of sequential GET /api/status requests")
	flag.StringVar(&o.out, "out", "",
		"also write the results as JSON to this `file`")
	flag.BoolVar(&o.keep, "keep", false,
		"keep the working directory (config, repository, serve's log)")
	flag.Parse()
	if o.checks <= 0 || o.requests <= 0 || o.interval < time.Second ||
		flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: go run ./bench/status [-checks N] "+
			"[-interval D] [-run D] [-requests N] [-out FILE] [-keep]; "+
			"N must be positive and D at least 1s")
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(),
		os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := bench(ctx, o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		return 1
	}
	printReport(os.Stdout, rep)
	if o.out != "" {
		if err := benchenv.WriteJSON(o.out, rep); err != nil {
			fmt.Fprintf(os.Stderr, "bench: %v\n", err)
			return 1
		}
	}
	return 0
}

// bench starts the endpoints and serve, lets the checks run, measures
// the API's latency and returns the report.
func bench(ctx context.Context, o options) (*report, error) {
	endpoints := startEndpoints()
	defer endpoints.Close()
	d, err := newDaemon(ctx, o, endpoints.URL)
	if err != nil {
		return nil, err
	}
	defer d.close(o.keep)
	defer d.stop()
	if err := d.start(ctx); err != nil {
		return nil, err
	}
	rep := newReport(ctx, o)

	benchenv.Progress("waiting for a result of each of %d checks",
		o.checks)
	if err := d.waitForResults(ctx, o.checks); err != nil {
		return nil, err
	}
	benchenv.Progress("serve runs its checks for %v", o.run)
	if err := sleep(ctx, o.run); err != nil {
		return nil, err
	}
	rep.ReportBytes, err = d.reportSize()
	if err != nil {
		return nil, err
	}
	benchenv.Progress("%d sequential GET /api/status", o.requests)
	latencies, err := d.measureLatency(ctx, o.requests)
	if err != nil {
		return nil, err
	}
	rep.setLatency(latencies)
	rep.setMemory(d.memory.finish())
	rep.CPUSeconds, rep.Requests = d.cpuSeconds(), endpoints.requests()
	return rep, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
