package status

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestRun_FlappingCheckSendsNoChange(t *testing.T) {
	// Two successes confirm up, then failures and successes alternate.
	codes := []int{200, 200}
	for range 8 {
		codes = append(codes, 500, 200)
	}
	srv := sequenceServer(t, codes...)
	h := newHarness(t, Config{Checks: []CheckConfig{{
		ID: "api", URL: srv.URL, Interval: time.Minute,
		FailureThreshold: 3, SuccessThreshold: 2,
	}}})
	h.run()

	for i := range codes {
		r := h.nextOf("api")
		if r.HTTPStatus != codes[i] {
			t.Fatalf("run %d: got HTTP %d, want %d", i, r.HTTPStatus, codes[i])
		}
		if i >= 2 && h.component("api").Status != StatusUp {
			t.Fatalf("run %d: state %s, want up", i, h.component("api").Status)
		}
		h.advance(1, time.Minute)
	}
	if got := h.changeList(); len(got) != 0 {
		t.Errorf("changes: got %+v, want none", got)
	}
}

func TestRun_ConfirmsDownAndRecovery(t *testing.T) {
	srv := sequenceServer(t, 200, 200, 500, 500, 500, 500, 200, 200)
	h := newHarness(t, Config{Checks: []CheckConfig{{
		ID: "api", Name: "API", URL: srv.URL, Interval: time.Minute,
	}}})
	h.run()
	for range 8 {
		h.nextOf("api")
		h.advance(1, time.Minute)
	}
	changes := h.changeList()
	if len(changes) != 2 {
		t.Fatalf("changes: got %d (%+v), want down and up", len(changes), changes)
	}
	down, up := changes[0], changes[1]
	if down.From != StatusUp || down.To != StatusDown {
		t.Errorf("first change: got %s to %s, want up to down", down.From, down.To)
	}
	if !down.At.Equal(start.Add(4 * time.Minute)) {
		t.Errorf("down confirmed at %v, want the third failure at %v",
			down.At, start.Add(4*time.Minute))
	}
	if down.Name != "API" || down.Result.HTTPStatus != 500 {
		t.Errorf("down change: got name %q, HTTP %d, want API and 500",
			down.Name, down.Result.HTTPStatus)
	}
	if up.From != StatusDown || up.To != StatusUp {
		t.Errorf("second change: got %s to %s, want down to up", up.From, up.To)
	}
}

func TestRun_HealthySlowFailing(t *testing.T) {
	healthy := statusServer(t, 200, `{"ok":true}`)
	failing := statusServer(t, 503, "maintenance")
	slow := slowServer(t, 100*time.Millisecond)
	immediate := func(c CheckConfig) CheckConfig {
		c.FailureThreshold, c.SuccessThreshold = 1, 1
		c.Interval = time.Minute
		return c
	}
	h := newHarness(t, Config{Checks: []CheckConfig{
		immediate(CheckConfig{ID: "healthy", URL: healthy.URL,
			Conditions: []string{"[STATUS] == 200", "[BODY].ok == true"}}),
		immediate(CheckConfig{ID: "slow-degraded", URL: slow.URL,
			Conditions:         []string{"[STATUS] == 200"},
			DegradedConditions: []string{"[RESPONSE_TIME] < 50"}}),
		immediate(CheckConfig{ID: "slow-down", URL: slow.URL,
			Conditions: []string{"[STATUS] == 200", "[RESPONSE_TIME] < 50"}}),
		immediate(CheckConfig{ID: "failing", URL: failing.URL,
			Conditions: []string{"[STATUS] == 200"}}),
		immediate(CheckConfig{ID: "failing-default", URL: failing.URL}),
	}})
	h.run()
	for range 5 {
		h.next()
	}

	want := map[string]struct {
		status Status
		code   int
	}{
		"healthy":         {StatusUp, 200},
		"slow-degraded":   {StatusDegraded, 200},
		"slow-down":       {StatusDown, 200},
		"failing":         {StatusDown, 503},
		"failing-default": {StatusDown, 503},
	}
	for id, w := range want {
		c := h.component(id)
		if c.Status != w.status {
			t.Errorf("%s: status %s, want %s", id, c.Status, w.status)
		}
		if c.LastCheck == nil || c.LastCheck.HTTPStatus != w.code {
			t.Errorf("%s: last check %+v, want HTTP %d", id, c.LastCheck, w.code)
		}
	}
	for _, id := range []string{"slow-degraded", "slow-down"} {
		if ms := h.component(id).LastCheck.ResponseTimeMs; ms < 100 {
			t.Errorf("%s: response time %d ms, want at least 100", id, ms)
		}
	}
	conds := h.component("failing").LastCheck.Conditions
	if len(conds) != 1 || conds[0].Success ||
		!strings.Contains(conds[0].Detail, "503") {
		t.Errorf("failing conditions: got %+v, want one failed with 503", conds)
	}
	if e := h.component("failing-default").LastCheck.Error; !strings.Contains(e, "503") {
		t.Errorf("failing without conditions: error %q, want the status", e)
	}
}

// slowServer returns a server that responds 200 after delay.
func slowServer(t *testing.T, delay time.Duration) *httptest.Server {
	t.Helper()
	return newHTTPServer(t, http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
			}
			w.WriteHeader(http.StatusOK)
		}))
}

func TestRun_HangingEndpointTimesOut(t *testing.T) {
	// The listener accepts connections and never responds.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	t.Cleanup(func() { ln.Close() })
	accepted := make(chan net.Conn, 4)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- conn
		}
	}()
	t.Cleanup(func() {
		for len(accepted) > 0 {
			(<-accepted).Close()
		}
	})
	healthy := statusServer(t, 200, "ok")
	h := newHarness(t, Config{Checks: []CheckConfig{
		{ID: "hang", URL: "http://" + ln.Addr().String() + "/",
			Interval: time.Minute, Timeout: 3 * time.Second,
			FailureThreshold: 1},
		{ID: "ok", URL: healthy.URL, Interval: time.Second},
	}})
	h.run()

	select {
	case conn := <-accepted:
		defer conn.Close()
	case <-time.After(30 * time.Second):
		t.Fatal("hanging endpoint got no connection")
	}
	// While the hanging request waits for its timeout, the healthy
	// check keeps running once per interval.
	for i := range 5 {
		if r := h.nextOf("ok"); r.Status != StatusUp {
			t.Fatalf("healthy run %d: status %s, want up", i, r.Status)
		}
		h.advance(1, time.Second)
	}
	res := h.next()
	for res.id == "ok" {
		res = h.next()
	}
	if res.r.Status != StatusDown {
		t.Errorf("hanging: status %s, want down", res.r.Status)
	}
	if !strings.Contains(res.r.Error, "timed out after 3s") {
		t.Errorf("hanging: error %q, want a timeout", res.r.Error)
	}
	if c := h.component("hang"); c.Status != StatusDown {
		t.Errorf("hanging: confirmed %s, want down", c.Status)
	}
}

func TestRun_PanickingCallbackKeepsRunning(t *testing.T) {
	srv := statusServer(t, 500, "")
	h := newHarness(t, Config{Checks: []CheckConfig{{
		ID: "api", URL: srv.URL, Interval: time.Minute, FailureThreshold: 1,
	}}})
	h.srv.cfg.OnChange = func(context.Context, Change) { panic("notifier bug") }
	h.run()
	h.nextOf("api")
	h.advance(1, time.Minute)
	if r := h.nextOf("api"); r.Status != StatusDown {
		t.Errorf("run after the panic: %s, want down", r.Status)
	}
}

func TestRun_SendsUserAgentAndHeaders(t *testing.T) {
	got := make(chan http.Header, 1)
	srv := newHTTPServer(t, http.HandlerFunc(
		func(_ http.ResponseWriter, r *http.Request) {
			h := r.Header.Clone()
			h.Set("Host", r.Host)
			got <- h
		}))
	h := newHarness(t, Config{Checks: []CheckConfig{{
		ID: "api", URL: srv.URL, Method: "POST", Body: "ping",
		Headers: map[string]string{"X-Token": "t1", "Host": "example.test"},
	}}})
	h.run()
	h.nextOf("api")
	header := <-got
	if ua := header.Get("User-Agent"); ua != userAgent {
		t.Errorf("user agent: got %q, want %q", ua, userAgent)
	}
	if v := header.Get("X-Token"); v != "t1" {
		t.Errorf("X-Token: got %q, want t1", v)
	}
	if v := header.Get("Host"); v != "example.test" {
		t.Errorf("host: got %q, want example.test", v)
	}
}

func TestRun_Redirects(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/old", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/new", http.StatusFound)
	})
	mux.HandleFunc("/new", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
	})
	srv := newHTTPServer(t, mux)
	check := func(id string, follow bool) CheckConfig {
		return CheckConfig{
			ID: id, URL: srv.URL + "/old", FollowRedirects: follow,
			Conditions:       []string{"[STATUS] == 200"},
			FailureThreshold: 1, SuccessThreshold: 1,
		}
	}
	h := newHarness(t, Config{Checks: []CheckConfig{
		check("follow", true), check("stay", false),
	}})
	h.run()
	h.next()
	h.next()

	follow, stay := h.component("follow"), h.component("stay")
	if follow.LastCheck.HTTPStatus != 200 || follow.Status != StatusUp {
		t.Errorf("follow: HTTP %d %s, want 200 up",
			follow.LastCheck.HTTPStatus, follow.Status)
	}
	if stay.LastCheck.HTTPStatus != 302 || stay.Status != StatusDown {
		t.Errorf("no follow: HTTP %d %s, want 302 down",
			stay.LastCheck.HTTPStatus, stay.Status)
	}
}

func TestRun_TCPCheck(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer ln.Close()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()

	h := newHarness(t, Config{Checks: []CheckConfig{
		{ID: "open", Kind: "tcp", URL: "tcp://" + ln.Addr().String(),
			Conditions:       []string{"[CONNECTED] == true"},
			FailureThreshold: 1, SuccessThreshold: 1},
		{ID: "closed", Kind: "tcp", URL: closedAddr,
			FailureThreshold: 1, SuccessThreshold: 1},
	}})
	h.run()
	h.next()
	h.next()
	if s := h.component("open").Status; s != StatusUp {
		t.Errorf("open port: %s, want up", s)
	}
	closedReport := h.component("closed")
	if closedReport.Status != StatusDown {
		t.Errorf("closed port: %s, want down", closedReport.Status)
	}
	if !strings.Contains(closedReport.LastCheck.Error, "refused") {
		t.Errorf("closed port: error %q, want connection refused",
			closedReport.LastCheck.Error)
	}
}

func TestRun_MaintenanceMutesAlerts(t *testing.T) {
	srv := statusServer(t, 500, "")
	h := newHarness(t, Config{Checks: []CheckConfig{{
		ID: "api", URL: srv.URL, Interval: 10 * time.Minute,
		FailureThreshold: 1,
		Maintenance:      []Window{{Daily: "09:00", Duration: time.Hour}},
	}}})
	h.run()

	// Runs at 09:00 to 09:50 fall inside the window.
	for i := range 6 {
		h.nextOf("api")
		if s := h.component("api").Status; s != StatusMaintenance {
			t.Fatalf("run %d in window: status %s, want maintenance", i, s)
		}
		h.advance(1, 10*time.Minute)
	}
	if n := len(h.changeList()); n != 0 {
		t.Fatalf("changes in window: got %d, want 0", n)
	}
	h.nextOf("api")
	changes := h.changeList()
	if len(changes) != 1 || changes[0].To != StatusDown {
		t.Fatalf("changes after window: got %+v, want one to down", changes)
	}
	if !changes[0].At.Equal(start.Add(time.Hour)) {
		t.Errorf("down at %v, want the end of the window", changes[0].At)
	}
	up := h.component("api").UptimePct.Last24h
	if up == nil || *up != 0 {
		t.Errorf("24h uptime: got %v, want 0 from the one run outside "+
			"the window", up)
	}
}

func TestRun_RestartDoesNotAlertAgain(t *testing.T) {
	srv := statusServer(t, 500, "")
	path := t.TempDir() + "/status.db"
	cfg := Config{HistoryPath: path, Checks: []CheckConfig{{
		ID: "api", URL: srv.URL, FailureThreshold: 1,
	}}}

	first := newHarness(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- first.srv.Run(ctx) }()
	first.nextOf("api")
	cancel()
	<-done
	if err := first.srv.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if n := len(first.changeList()); n != 1 {
		t.Fatalf("first start: got %d changes, want 1", n)
	}

	second := newHarness(t, cfg)
	if s := second.component("api").Status; s != StatusDown {
		t.Errorf("after restart before a check: %s, want down", s)
	}
	second.run()
	second.nextOf("api")
	if got := second.changeList(); len(got) != 0 {
		t.Errorf("after restart: got %+v, want no change", got)
	}
	if up := second.component("api").UptimePct.Last24h; up == nil || *up != 0 {
		t.Errorf("24h uptime after restart: got %v, want 0 from 2 runs", up)
	}
}

func TestRun_FreshnessProbe(t *testing.T) {
	newest := start.Add(-90 * time.Minute)
	probe := &FreshnessProbe{
		ComponentID: "backup-redis", ComponentName: "Redis backups",
		ComponentGroup: "Backups", Objective: time.Hour,
		Newest: func(context.Context) (time.Time, error) { return newest, nil },
		Now:    func() time.Time { return start },
	}
	h := newHarness(t, Config{Probes: []Probe{probe}})
	h.run()
	r := h.nextOf("backup-redis")
	if r.Status != StatusDegraded {
		t.Errorf("90 min old against 1h: %s, want degraded", r.Status)
	}
	c := h.component("backup-redis")
	if c.Status != StatusDegraded || c.Kind != "freshness" {
		t.Errorf("component: %s %s, want degraded freshness", c.Status, c.Kind)
	}
	if c.AgeSeconds == nil || *c.AgeSeconds != 5400 {
		t.Errorf("age: got %v, want 5400 s", c.AgeSeconds)
	}
	if c.LastSuccessAt == nil || !c.LastSuccessAt.Equal(newest) {
		t.Errorf("last success: got %v, want %v", c.LastSuccessAt, newest)
	}
	changes := h.changeList()
	if len(changes) != 1 || changes[0].To != StatusDegraded {
		t.Errorf("changes: got %+v, want one to degraded", changes)
	}
}
