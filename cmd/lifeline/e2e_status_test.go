package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/lifeline-backup/lifeline/internal/notify"
	"github.com/lifeline-backup/lifeline/internal/status"
)

// statusServe is a scenario for 'lifeline serve' with status checks: a
// bbolt source, a local repository and the status: section of the test.
type statusServe struct {
	*e2e
	bin  string
	base string
	p    *process
}

// newStatusServe writes a config whose status: section has the body
// statusBody, with extra appended as top-level YAML, and runs init.
func newStatusServe(t *testing.T, bin, statusBody, extra string) *statusServe {
	t.Helper()
	e := newE2E(t)
	_, url := e.localRepo()
	boltPath := filepath.Join(e.dir, "app.db")
	changeBolt(t, boltPath, 0)
	addr := closedAddr(t)
	e.writeConfigText(fmt.Sprintf(`repository:
  url: %s
keys:
  - id: k1
    env: %s
sources:
  - name: app
    type: bolt
    path: %s
serve:
  listen: %s
  stop_timeout: 30s
state_dir: %s
status:
%s%s`, url, keyEnv, boltPath, addr, filepath.Join(e.dir, "state"),
		indent(statusBody, "  "), extra))
	e.mustRun("init")
	return &statusServe{e2e: e, bin: bin, base: "http://" + addr}
}

// checkYAML returns a status check with thresholds of 1, so that each
// result confirms its state, and a 1 s interval unless lines set one.
// lines are added as they are, such as "timeout: 5s".
func checkYAML(id, url string, lines ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "- id: %s\n  url: %s\n", id, url)
	if !slices.ContainsFunc(lines, func(l string) bool {
		return strings.HasPrefix(l, "interval:")
	}) {
		b.WriteString("  interval: 1s\n")
	}
	b.WriteString("  failure_threshold: 1\n  success_threshold: 1\n")
	for _, l := range lines {
		b.WriteString("  " + l + "\n")
	}
	return b.String()
}

// start starts serve and waits for its /healthz.
func (s *statusServe) start() {
	s.t.Helper()
	s.p = startLifeline(s.t, s.bin, "serve", "--config", s.config,
		"--log-format", "json")
	s.p.waitFor("/healthz", func() bool {
		code, _, err := httpGet(s.base + "/healthz")
		return err == nil && code == http.StatusOK
	})
}

// stop sends SIGTERM to serve and fails the test unless it exits 0.
func (s *statusServe) stop() {
	s.t.Helper()
	if err := s.p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		s.t.Fatalf("send SIGTERM: %v", err)
	}
	if code := s.p.wait(); code != 0 {
		s.t.Fatalf("serve exit code after SIGTERM = %d, want 0\nstderr:\n%s",
			code, s.p.stderr.String())
	}
	s.checkOutput(result{args: []string{"serve"},
		stdout: s.p.stdout.String(), stderr: s.p.stderr.String()})
}

// report returns the decoded GET /api/status of the running serve.
func (s *statusServe) report() (status.Report, error) {
	var rep status.Report
	code, body, err := httpGet(s.base + "/api/status")
	if err != nil {
		return rep, err
	}
	if code != http.StatusOK {
		return rep, fmt.Errorf("GET /api/status: HTTP %d: %s", code, body)
	}
	err = json.Unmarshal([]byte(body), &rep)
	return rep, err
}

// waitReport polls /api/status until cond returns true for a report,
// and returns that report.
func (s *statusServe) waitReport(what string,
	cond func(status.Report) bool) status.Report {
	s.t.Helper()
	var rep status.Report
	s.p.waitFor(what, func() bool {
		var err error
		rep, err = s.report()
		return err == nil && cond(rep)
	})
	return rep
}

// waitStatuses polls /api/status until every component in want has a
// result and the wanted status.
func (s *statusServe) waitStatuses(want map[string]status.Status) status.Report {
	s.t.Helper()
	return s.waitReport(fmt.Sprint("statuses ", want),
		func(rep status.Report) bool {
			for id, st := range want {
				c := findComponent(rep, id)
				if c == nil || c.LastCheck == nil || c.Status != st {
					return false
				}
			}
			return true
		})
}

// findComponent returns the component id of rep, or nil.
func findComponent(rep status.Report, id string) *status.ComponentReport {
	for i := range rep.Components {
		if rep.Components[i].ID == id {
			return &rep.Components[i]
		}
	}
	return nil
}

// mustComponent returns the component id of rep, failing the test
// without it.
func mustComponent(t *testing.T, rep status.Report,
	id string) *status.ComponentReport {
	t.Helper()
	c := findComponent(rep, id)
	if c == nil {
		t.Fatalf("report has no component %q: %+v", id, rep.Components)
	}
	return c
}

// switchServer is an HTTP endpoint on 127.0.0.1 that returns 500 until
// switched to return 200, and counts its requests.
type switchServer struct {
	*httptest.Server
	ok   atomic.Bool
	hits atomic.Int64
}

func newSwitchServer(t *testing.T, ok bool) *switchServer {
	t.Helper()
	s := &switchServer{}
	s.ok.Store(ok)
	s.Server = httptest.NewServer(http.HandlerFunc(
		func(w http.ResponseWriter, _ *http.Request) {
			s.hits.Add(1)
			if s.ok.Load() {
				w.WriteHeader(http.StatusOK)
				return
			}
			w.WriteHeader(http.StatusInternalServerError)
		}))
	t.Cleanup(s.Close)
	return s
}

func TestStatus_MalformedConditionsRejected(t *testing.T) {
	e := newE2E(t)
	_, url := e.localRepo()
	// The broken check starts on line 11.
	e.writeConfigText(fmt.Sprintf(`repository:
  url: %s
keys:
  - id: k1
    env: %s
status:
  checks:
    - id: fine
      url: http://127.0.0.1:1/
      conditions: ["[STATUS] == 200"]
    - id: broken
      url: http://127.0.0.1:1/
      conditions: ["[STATS] == 200"]
      degraded_conditions: ["[RESPONSE_TIME] <"]
`, url, keyEnv))
	for _, cmd := range []string{"init", "status"} {
		// Each problem of the config is on a line of its own, so
		// mustFail, which wants one line, does not apply.
		res := e.run(cmd)
		if res.code == exitOK {
			t.Fatalf("%s: exit code 0, want a failure", cmd)
		}
		msg := res.stderr
		if !strings.HasPrefix(msg, "lifeline: ") {
			t.Errorf("%s message = %q, want it to start with "+
				"\"lifeline: \"", cmd, msg)
		}
		wantContains(t, cmd+" message", msg, e.config, "line 11",
			`status check "broken"`, `unknown placeholder "[STATS]"`,
			`missing operand after "<"`)
		if strings.Contains(msg, `"fine"`) {
			t.Errorf("%s message = %q, want no mention of the valid "+
				"check", cmd, msg)
		}
	}
}

func TestStatus_HistorySurvivesRestart(t *testing.T) {
	bin := buildLifeline(t)
	healthy := newSwitchServer(t, true)
	failing := newSwitchServer(t, false)
	s := newStatusServe(t, bin, "checks:\n"+
		indent(checkYAML("healthy", healthy.URL), "  ")+
		indent(checkYAML("failing", failing.URL), "  "), "")
	s.start()

	// Two results a second apart put the last check after the time
	// the state was confirmed, so a state confirmed anew after the
	// restart would have a later since.
	before := s.waitReport("a second result of each check",
		func(rep status.Report) bool {
			for _, id := range []string{"healthy", "failing"} {
				c := findComponent(rep, id)
				if c == nil || c.Since == nil || c.LastCheck == nil ||
					!c.LastCheck.At.After(*c.Since) {
					return false
				}
			}
			return true
		})
	s.stop()

	s.start()
	after := s.waitReport("new results after the restart",
		func(rep status.Report) bool {
			for _, id := range []string{"healthy", "failing"} {
				c, old := findComponent(rep, id), findComponent(before, id)
				if c == nil || c.LastCheck == nil ||
					!c.LastCheck.At.After(old.LastCheck.At) {
					return false
				}
			}
			return true
		})
	wants := map[string]struct {
		status status.Status
		uptime float64
	}{
		"healthy": {status.StatusUp, 100},
		"failing": {status.StatusDown, 0},
	}
	for id, want := range wants {
		old, c := mustComponent(t, before, id), mustComponent(t, after, id)
		if c.Status != want.status {
			t.Errorf("%s after restart: status %s, want %s", id, c.Status,
				want.status)
		}
		if c.Since == nil || !c.Since.Equal(*old.Since) {
			t.Errorf("%s after restart: since %v, want %v from before",
				id, c.Since, *old.Since)
		}
		if u := c.UptimePct.Last24h; u == nil || *u != want.uptime {
			t.Errorf("%s after restart: 24 h uptime %v, want %v", id,
				u, want.uptime)
		}
	}
	s.stop()
}

// hangingListener accepts TCP connections on 127.0.0.1 and never writes
// to them. Accepted connections are sent on the returned channel.
func hangingListener(t *testing.T) (string, <-chan net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	accepted := make(chan net.Conn, 64)
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
			select {
			case accepted <- conn:
			default:
			}
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String(), accepted
}

func TestStatus_HangingEndpointTimesOut(t *testing.T) {
	bin := buildLifeline(t)
	addr, accepted := hangingListener(t)
	healthy := newSwitchServer(t, true)
	s := newStatusServe(t, bin, "checks:\n"+
		indent(checkYAML("hang", "http://"+addr+"/", "timeout: 6s"), "  ")+
		indent(checkYAML("healthy", healthy.URL), "  "), "")
	s.start()

	select {
	case <-accepted:
	case <-time.After(processWait):
		t.Fatal("the hanging endpoint got no connection")
	}
	hitsAtAccept := healthy.hits.Load()
	rep := s.waitStatuses(map[string]status.Status{
		"hang": status.StatusDown})
	// The healthy check runs once a second while the hanging request
	// waits 6 s for its timeout.
	if n := healthy.hits.Load() - hitsAtAccept; n < 2 {
		t.Errorf("healthy endpoint got %d requests while the hanging "+
			"check waited, want at least 2", n)
	}
	hang := mustComponent(t, rep, "hang")
	wantContains(t, "hang error", hang.LastCheck.Error, "timed out after 6s")
	if c := mustComponent(t, rep, "healthy"); c.Status != status.StatusUp {
		t.Errorf("healthy: status %s, want up", c.Status)
	}
	s.stop()
}

func TestStatus_RedirectsFollowConfig(t *testing.T) {
	bin := buildLifeline(t)
	mux := http.NewServeMux()
	mux.HandleFunc("/old", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/new", http.StatusFound)
	})
	mux.HandleFunc("/new", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	cond := `conditions: ["[STATUS] == 200"]`
	s := newStatusServe(t, bin, "checks:\n"+
		indent(checkYAML("follow", srv.URL+"/old", cond,
			"follow_redirects: true"), "  ")+
		indent(checkYAML("stay", srv.URL+"/old", cond,
			"follow_redirects: false"), "  ")+
		indent(checkYAML("default", srv.URL+"/old", cond), "  "), "")
	s.start()

	rep := s.waitReport("results of the three checks",
		func(rep status.Report) bool {
			for _, id := range []string{"follow", "stay", "default"} {
				if c := findComponent(rep, id); c == nil ||
					c.LastCheck == nil {
					return false
				}
			}
			return true
		})
	wants := map[string]struct {
		code   int
		status status.Status
	}{
		"follow": {200, status.StatusUp},
		"stay":   {302, status.StatusDown},
		// follow_redirects defaults to true.
		"default": {200, status.StatusUp},
	}
	for id, want := range wants {
		c := mustComponent(t, rep, id)
		if c.LastCheck.HTTPStatus != want.code {
			t.Errorf("%s: HTTP %d, want %d", id, c.LastCheck.HTTPStatus,
				want.code)
		}
		if c.Status != want.status {
			t.Errorf("%s: status %s, want %s", id, c.Status, want.status)
		}
	}
	s.stop()
}

func TestStatus_ChangesNotifyWebhook(t *testing.T) {
	bin := buildLifeline(t)
	rc := newReceiver(t)
	t.Setenv(webhookEnv, rc.server.URL)
	api := newSwitchServer(t, false)
	s := newStatusServe(t, bin, "checks:\n"+
		indent(checkYAML("api", api.URL, "name: Public API"), "  "),
		"notify:\n  webhooks:\n    - env: "+webhookEnv+"\n")
	s.start()

	apiEvents := func() []notify.Event {
		var out []notify.Event
		for _, e := range rc.received() {
			if e.Job == "status" && e.Source == "api" {
				out = append(out, e)
			}
		}
		return out
	}
	s.p.waitFor("a failed event of api", func() bool {
		return len(apiEvents()) >= 1
	})
	api.ok.Store(true)
	s.p.waitFor("a recovered event of api", func() bool {
		return len(apiEvents()) >= 2
	})
	s.waitStatuses(map[string]status.Status{"api": status.StatusUp})
	s.stop()

	events := apiEvents()
	if len(events) != 2 {
		t.Fatalf("events of api: got %d (%+v), want failed and recovered",
			len(events), events)
	}
	failed, recovered := events[0], events[1]
	if failed.Status != notify.Failed {
		t.Errorf("first event: status %q, want %q", failed.Status,
			notify.Failed)
	}
	wantContains(t, "failed message", failed.Message, "Public API is down")
	if recovered.Status != notify.Recovered {
		t.Errorf("second event: status %q, want %q", recovered.Status,
			notify.Recovered)
	}
}

func TestStatus_CommandReadsRunningServe(t *testing.T) {
	bin := buildLifeline(t)
	// The hour-long interval makes serve request the endpoint once, so
	// a second request would come from a status command that ran the
	// check itself.
	api := newSwitchServer(t, true)
	s := newStatusServe(t, bin, "checks:\n"+
		indent(checkYAML("api", api.URL, "interval: 1h"), "  "), "")
	s.start()
	served := s.waitStatuses(map[string]status.Status{"api": status.StatusUp})

	res := s.run("status", "--json")
	var rep status.Report
	if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil {
		t.Fatalf("status --json output is not a report: %v\n%s", err,
			res.stdout)
	}
	c, want := mustComponent(t, rep, "api"), mustComponent(t, served, "api")
	if c.Status != status.StatusUp {
		t.Errorf("api: status %s, want up", c.Status)
	}
	if c.Since == nil || !c.Since.Equal(*want.Since) {
		t.Errorf("api: since %v, want %v from serve", c.Since, *want.Since)
	}
	if c.LastCheck == nil || !c.LastCheck.At.Equal(want.LastCheck.At) {
		t.Errorf("api: last check %+v, want the one of serve at %v",
			c.LastCheck, want.LastCheck.At)
	}
	if n := api.hits.Load(); n != 1 {
		t.Errorf("endpoint got %d requests, want 1 from serve only", n)
	}
	s.stop()
}
