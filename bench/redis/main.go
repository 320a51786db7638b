// Command redis benchmarks lifeline's full backup and restore of one
// Redis server against the tools Redis ships: redis-cli --rdb for the
// backup, and redis-server loading that RDB file for the restore. It
// starts its own servers on free loopback ports, loads them with
// generated keys, runs every case once and prints a table of the
// times, their ratios and lifeline's peak memory against the product
// targets.
//
// Run it from the module root:
//
//	go run ./bench/redis -keys 1000000 -out results.json
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/lifeline-backup/lifeline/bench/internal/benchenv"
)

type options struct {
	keys int
	out  string
	keep bool
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == wrapArg {
		os.Exit(runWrapped(os.Args[2:]))
	}
	os.Exit(run())
}

func run() int {
	var o options
	flag.IntVar(&o.keys, "keys", 1_000_000, "number of keys to load")
	flag.StringVar(&o.out, "out", "",
		"also write the results as JSON to this `file`")
	flag.BoolVar(&o.keep, "keep", false,
		"keep the working directory (servers' data, repository, logs)")
	flag.Parse()
	if o.keys <= 0 || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: go run ./bench/redis "+
			"[-keys N] [-out FILE] [-keep]; N must be positive")
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
	if !rep.checksPassed() {
		return 1
	}
	return 0
}

// bench sets up the servers and lifeline, runs every case and returns
// the report.
func bench(ctx context.Context, o options) (*report, error) {
	h, err := newHarness(o.keys)
	if err != nil {
		return nil, err
	}
	defer h.close(o.keep)
	if err := h.setup(ctx); err != nil {
		return nil, err
	}
	rep, err := h.newReport(ctx)
	if err != nil {
		return nil, err
	}
	for _, c := range cases {
		benchenv.Progress("case %s", c.Name)
		r, err := h.runCase(ctx, c)
		if err != nil {
			return nil, fmt.Errorf("case %s: %w", c.Name, err)
		}
		rep.Results = append(rep.Results, r)
	}
	return rep, h.fillSizes(rep)
}
