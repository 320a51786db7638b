// Command load measures what a lifeline backup and restore cost a Redis
// server that serves a steady load from redis-benchmark. It reports the
// extra CPU time of redis-server, read from /proc/PID/stat, and the
// change in redis-benchmark's requests per second and p50 and p99
// latency.
//
// It starts its own redis-server processes on free ports of 127.0.0.1,
// builds lifeline, and runs three phases of the same benchmark: alone,
// with full backups in a loop, and with restores into a second server
// in a loop.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"
)

// options are the command-line settings.
type options struct {
	keys     int
	seconds  int
	clients  int
	pipeline int
	dataSize int
	keep     bool
}

func main() {
	var o options
	flag.IntVar(&o.keys, "keys", 100000, "number of keys the load touches")
	flag.IntVar(&o.seconds, "seconds", 20,
		"approximate length of each benchmark phase in seconds")
	flag.IntVar(&o.clients, "clients", 20, "redis-benchmark connections (-c)")
	flag.IntVar(&o.pipeline, "pipeline", 16, "redis-benchmark pipelining (-P)")
	flag.IntVar(&o.dataSize, "data", 100, "value size in bytes (-d)")
	flag.BoolVar(&o.keep, "keep", false, "keep the work folder")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	h, err := newHarness(ctx, o)
	if err != nil {
		return err
	}
	defer h.close()
	n, err := h.calibrate(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("load: %d keys, %d clients, pipeline %d, %d-byte values, "+
		"-n %d per test (about %ds per phase without lifeline)\n",
		o.keys, o.clients, o.pipeline, o.dataSize, n, o.seconds)
	var phases []phase
	for _, p := range []struct {
		name string
		job  func(context.Context) (time.Duration, error)
	}{
		{"alone", nil},
		{"with backups", h.backup},
		{"with restores", h.restore},
	} {
		ph, err := h.runPhase(ctx, p.name, n, p.job)
		if err != nil {
			return fmt.Errorf("phase %s: %w", p.name, err)
		}
		phases = append(phases, ph)
	}
	printReport(os.Stdout, phases)
	return nil
}
