package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/lifeline-backup/lifeline/bench/internal/benchenv"
)

// report is the outcome of one benchmark run.
type report struct {
	Date       string  `json:"date"`
	GoVersion  string  `json:"go_version"`
	NProc      int     `json:"nproc"`
	Checks     int     `json:"checks"`
	Interval   string  `json:"interval"`
	RunSeconds float64 `json:"run_seconds"`
	// Requests is how many check requests the endpoints served.
	Requests int64 `json:"check_requests"`
	// CPUSeconds is serve's user plus system time from its start to
	// the end of the latency test.
	CPUSeconds float64 `json:"serve_cpu_seconds"`

	PeakRSSMiB  float64 `json:"peak_rss_mib"`
	FinalRSSMiB float64 `json:"final_rss_mib"`
	RSSSamples  int     `json:"rss_samples"`
	MaxRSSMiB   float64 `json:"max_rss_mib"`

	ReportBytes int     `json:"api_status_bytes"`
	GETs        int     `json:"gets"`
	P50Ms       float64 `json:"p50_ms"`
	P99Ms       float64 `json:"p99_ms"`
	MaxMs       float64 `json:"max_ms"`
	MaxP99Ms    float64 `json:"max_p99_ms"`
}

func newReport(ctx context.Context, o options) *report {
	return &report{
		Date:       time.Now().UTC().Format(time.RFC3339),
		GoVersion:  runtime.Version(),
		NProc:      benchenv.NProc(ctx),
		Checks:     o.checks,
		Interval:   o.interval.String(),
		RunSeconds: o.run.Seconds(),
		MaxRSSMiB:  maxRSSMiB,
		MaxP99Ms:   maxP99Milli,
	}
}

func (r *report) setMemory(m memoryStats) {
	r.PeakRSSMiB, r.FinalRSSMiB = mib(m.Peak), mib(m.Final)
	r.RSSSamples = m.Samples
}

// setLatency sets the percentiles of latencies, by the nearest-rank
// method.
func (r *report) setLatency(latencies []time.Duration) {
	sorted := slices.Clone(latencies)
	slices.Sort(sorted)
	rank := func(p float64) float64 {
		i := int(p*float64(len(sorted))+0.999999) - 1
		i = min(max(i, 0), len(sorted)-1)
		return millis(sorted[i])
	}
	r.GETs = len(sorted)
	r.P50Ms, r.P99Ms = rank(0.50), rank(0.99)
	r.MaxMs = millis(sorted[len(sorted)-1])
}

func mib(bytes int64) float64 { return float64(bytes) / (1 << 20) }

func millis(d time.Duration) float64 {
	return float64(d) / float64(time.Millisecond)
}

func printReport(w io.Writer, r *report) {
	fmt.Fprintf(w, "lifeline status page benchmark, %s\n", r.Date)
	fmt.Fprintf(w, "%d HTTP checks every %s for %.0f s; %s, nproc %d\n",
		r.Checks, r.Interval, r.RunSeconds, r.GoVersion, r.NProc)
	fmt.Fprintf(w, "%d check requests served, serve used %.2f s of CPU, "+
		"/api/status is %d bytes\n\n", r.Requests, r.CPUSeconds,
		r.ReportBytes)

	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "measure\tvalue\ttarget\tresult\t")
	fmt.Fprintf(tw, "serve peak RSS (%d samples)\t%.1f MiB\t< %g MiB\t%s\t\n",
		r.RSSSamples, r.PeakRSSMiB, r.MaxRSSMiB,
		verdict(r.PeakRSSMiB < r.MaxRSSMiB, "memory"))
	fmt.Fprintf(tw, "serve final RSS\t%.1f MiB\t< %g MiB\t%s\t\n",
		r.FinalRSSMiB, r.MaxRSSMiB,
		verdict(r.FinalRSSMiB < r.MaxRSSMiB, "memory"))
	fmt.Fprintf(tw, "GET /api/status p50 (%d GETs)\t%.3f ms\t\t\t\n",
		r.GETs, r.P50Ms)
	fmt.Fprintf(tw, "GET /api/status p99\t%.3f ms\t< %g ms\t%s\t\n",
		r.P99Ms, r.MaxP99Ms, verdict(r.P99Ms < r.MaxP99Ms, "latency"))
	fmt.Fprintf(tw, "GET /api/status max\t%.3f ms\t\t\t\n", r.MaxMs)
	tw.Flush()
}

func verdict(pass bool, target string) string {
	if pass {
		return benchenv.Verdict()
	}
	return benchenv.Verdict(target)
}
