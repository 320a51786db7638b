package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/lifeline-backup/lifeline/internal/notify"
	"github.com/lifeline-backup/lifeline/internal/schedule"
	"github.com/lifeline-backup/lifeline/internal/status"
)

type statusOpts struct{ json bool }

func init() {
	register(&command{
		name:    "status",
		summary: "print the status page's components",
		usage:   "lifeline status [--json]",
		help: `Prints each component of the status page: its state, last HTTP status
and response time, and uptime. It reads a running 'lifeline serve' at
serve.listen; when none answers, it runs every check and probe once
itself (no alerts are sent, and nothing is recorded in the history).
--json prints the same JSON as GET /api/status.

Exit status 1 also means that some component is down.

Examples:
  lifeline status
  lifeline status --json | jq '.components[] | select(.status != "up")'`,
		flags: func(fs *flag.FlagSet, env *cmdEnv) {
			o := &statusOpts{}
			env.opts = o
			fs.BoolVar(&o.json, "json", false, "print the JSON of /api/status")
		},
		run: runStatus,
	})
}

func runStatus(ctx context.Context, env *cmdEnv, args []string) error {
	o := env.opts.(*statusOpts)
	if len(args) > 0 {
		return usagef("status takes no arguments, got %q", args)
	}
	c, err := env.loadConfig()
	if err != nil {
		return err
	}
	rep, err := fetchStatus(ctx, "http://"+c.Serve.Listen+"/api/status")
	if err != nil {
		if rep, err = statusOnce(ctx, env); err != nil {
			return err
		}
	}
	if o.json {
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		printStatus(env.stdout, rep)
	}
	if rep.Overall == status.StatusDown {
		return fmt.Errorf("overall status is down")
	}
	return nil
}

// fetchStatus reads the report of a running serve.
func fetchStatus(ctx context.Context, url string) (*status.Report, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	var rep status.Report
	err = json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&rep)
	return &rep, err
}

// statusOnce runs every check and probe once, with a throw-away history
// and no notifier, and returns the report.
func statusOnce(ctx context.Context, env *cmdEnv) (*status.Report, error) {
	c, err := env.loadConfig()
	if err != nil {
		return nil, err
	}
	r, err := openRepo(ctx, c)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "lifeline-status-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	c.Status.History = filepath.Join(dir, "status.db")
	for i := range c.Status.Checks {
		// One result confirms a state here: there is no second run.
		c.Status.Checks[i].FailureThreshold = 1
		c.Status.Checks[i].SuccessThreshold = 1
	}
	quiet := notify.NewDispatcher(nil, notify.DispatchConfig{}, nil)
	srv, err := newStatus(c, r, quiet, schedule.RealClock(), nil)
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	rep := waitForResults(ctx, srv, 30*time.Second)
	cancel()
	<-done
	return &rep, nil
}

// waitForResults polls until every component has a result, or until the
// wait is over.
func waitForResults(ctx context.Context, srv *status.Server,
	wait time.Duration) status.Report {
	deadline := time.Now().Add(wait)
	for {
		rep := srv.Report()
		complete := true
		for _, comp := range rep.Components {
			if comp.LastCheck == nil {
				complete = false
			}
		}
		if complete || time.Now().After(deadline) || ctx.Err() != nil {
			return rep
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func printStatus(w io.Writer, rep *status.Report) {
	fmt.Fprintf(w, "overall: %s\n", rep.Overall)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "COMPONENT\tSTATUS\tHTTP\tTIME\tUPTIME 24H\tDETAIL")
	for _, comp := range rep.Components {
		code, ms, detail := "-", "-", ""
		if lc := comp.LastCheck; lc != nil {
			if lc.HTTPStatus != 0 {
				code = fmt.Sprint(lc.HTTPStatus)
			}
			ms = fmt.Sprintf("%d ms", lc.ResponseTimeMs)
			detail = strings.TrimSpace(lc.Message + " " + lc.Error)
		}
		up := "-"
		if comp.UptimePct.Last24h != nil {
			up = fmt.Sprintf("%.2f%%", *comp.UptimePct.Last24h)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", comp.ID, comp.Status,
			code, ms, up, detail)
	}
	tw.Flush()
}
