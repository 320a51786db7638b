package main

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/lifeline-backup/lifeline/bench/internal/benchenv"
)

// report is the outcome of one benchmark run.
type report struct {
	Date         string `json:"date"`
	Keys         int    `json:"keys"`
	GoVersion    string `json:"go_version"`
	RedisVersion string `json:"redis_version"`
	NProc        int    `json:"nproc"`
	UsedMemory   int64  `json:"source_used_memory_bytes"`
	RDBBytes     int64  `json:"rdb_bytes"`
	// RepositoryBytes is the size of the repository after every case.
	RepositoryBytes int64    `json:"repository_bytes"`
	Results         []result `json:"results"`
}

// result is one case's line of the report. Times are in seconds.
type result struct {
	Case            string  `json:"case"`
	Peer            string  `json:"peer"`
	LifelineSeconds float64 `json:"lifeline_seconds"`
	PeerSeconds     float64 `json:"peer_seconds"`
	Ratio           float64 `json:"ratio"`
	MaxRatio        float64 `json:"max_ratio"`
	PeakMiB         float64 `json:"lifeline_peak_rss_mib"`
	MaxPeakMiB      float64 `json:"max_peak_rss_mib"`
	Pass            bool    `json:"pass"`

	// The CPU times show where the time went: in lifeline, in the
	// redis-server it talks to, or in neither (waiting).
	LifelineCPU       float64 `json:"lifeline_cpu_seconds"`
	LifelineServerCPU float64 `json:"lifeline_server_cpu_seconds"`
	PeerCPU           float64 `json:"peer_cpu_seconds"`
	PeerServerCPU     float64 `json:"peer_server_cpu_seconds"`

	// CheckError is the failed check of lifeline's result, if any.
	CheckError string `json:"check_error,omitempty"`
}

func newResult(c benchCase, ll, peer measurement) result {
	r := result{
		Case:              c.Name,
		Peer:              c.Peer,
		LifelineSeconds:   ll.Wall.Seconds(),
		PeerSeconds:       peer.Wall.Seconds(),
		Ratio:             ll.Wall.Seconds() / peer.Wall.Seconds(),
		MaxRatio:          c.MaxRatio,
		PeakMiB:           mib(ll.MaxRSS),
		MaxPeakMiB:        maxPeakMiB,
		LifelineCPU:       ll.CPU.Seconds(),
		LifelineServerCPU: ll.ServerCPU.Seconds(),
		PeerCPU:           peer.CPU.Seconds(),
		PeerServerCPU:     peer.ServerCPU.Seconds(),
	}
	r.Pass = !r.ratioMissed() && r.PeakMiB <= r.MaxPeakMiB
	return r
}

// ratioMissed reports whether the case has a ratio target and missed it.
func (r result) ratioMissed() bool {
	return r.MaxRatio > 0 && r.Ratio > r.MaxRatio
}

// target returns the ratio target as "<= N", or "-" for none.
func (r result) target() string {
	if r.MaxRatio == 0 {
		return "-"
	}
	return fmt.Sprintf("<= %.3g", r.MaxRatio)
}

func mib(bytes int64) float64 { return float64(bytes) / (1 << 20) }

// verdict returns PASS, or MISS with the targets missed.
func (r result) verdict() string {
	var missed []string
	if r.ratioMissed() {
		missed = append(missed, "ratio")
	}
	if r.PeakMiB > r.MaxPeakMiB {
		missed = append(missed, "memory")
	}
	return benchenv.Verdict(missed...)
}

func (rep *report) checksPassed() bool {
	for _, r := range rep.Results {
		if r.CheckError != "" {
			return false
		}
	}
	return true
}

// newReport fills in the date, versions and the source's memory.
func (h *harness) newReport(ctx context.Context) (*report, error) {
	used, err := h.source.usedMemory(ctx)
	if err != nil {
		return nil, err
	}
	return &report{
		Date:         time.Now().UTC().Format(time.RFC3339),
		Keys:         h.keys,
		GoVersion:    runtime.Version(),
		RedisVersion: redisVersion(ctx),
		NProc:        benchenv.NProc(ctx),
		UsedMemory:   used,
	}, nil
}

// redisVersion returns the v= field of 'redis-server --version'.
func redisVersion(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, "redis-server",
		"--version").Output()
	if err != nil {
		return "unknown"
	}
	for f := range strings.FieldsSeq(string(out)) {
		if v, ok := strings.CutPrefix(f, "v="); ok {
			return v
		}
	}
	return strings.TrimSpace(string(out))
}

func printReport(w io.Writer, rep *report) {
	fmt.Fprintf(w, "lifeline Redis benchmark, %s\n", rep.Date)
	fmt.Fprintf(w, "%d keys; %s, redis %s, nproc %d\n", rep.Keys,
		rep.GoVersion, rep.RedisVersion, rep.NProc)
	fmt.Fprintf(w, "source used_memory %.0f MiB, RDB file %.0f MiB, "+
		"repository %.0f MiB\n\n", mib(rep.UsedMemory), mib(rep.RDBBytes),
		mib(rep.RepositoryBytes))

	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "case\tlifeline s\tpeer\tpeer s\tratio\ttarget\t"+
		"peak MiB\ttarget\tresult\t")
	for _, r := range rep.Results {
		fmt.Fprintf(tw, "%s\t%.2f\t%s\t%.2f\t%.2f\t%s\t%.0f\t<= %g\t"+
			"%s\t\n", r.Case, r.LifelineSeconds, r.Peer, r.PeerSeconds,
			r.Ratio, r.target(), r.PeakMiB, r.MaxPeakMiB, r.verdict())
	}
	tw.Flush()

	fmt.Fprintln(w, "\nCPU seconds (user+sys) during each run:")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "case\tlifeline\tits redis-server\tpeer tool\t"+
		"peer's redis-server\t")
	for _, r := range rep.Results {
		fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t%.2f\t%.2f\t\n", r.Case,
			r.LifelineCPU, r.LifelineServerCPU, r.PeerCPU, r.PeerServerCPU)
	}
	tw.Flush()

	for _, r := range rep.Results {
		if r.CheckError != "" {
			fmt.Fprintf(w, "\nCHECK FAILED: %s: %s\n", r.Case, r.CheckError)
		}
	}
}
