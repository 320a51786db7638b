package status

import (
	"encoding/json"
	"encoding/xml"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestAPIStatus_Shape(t *testing.T) {
	srv := statusServer(t, 200, "ok")
	h := newHarness(t, Config{Checks: []CheckConfig{{
		ID: "api", Name: "API", Group: "Public", URL: srv.URL,
		Conditions:       []string{"[STATUS] == 200"},
		SuccessThreshold: 1,
	}}})
	h.run()
	h.nextOf("api")

	resp, body := h.get("/api/status", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status: got %d, want 200", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("content type: got %q, want application/json", ct)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatalf("decode: %v\n%s", err, body)
	}
	wantKeys(t, "document", doc, "generated_at", "refresh_seconds",
		"overall", "components")
	wantTime(t, "generated_at", doc["generated_at"])
	if doc["refresh_seconds"] != 60.0 || doc["overall"] != "up" {
		t.Errorf("refresh %v overall %v, want 60 and up",
			doc["refresh_seconds"], doc["overall"])
	}

	comps := doc["components"].([]any)
	if len(comps) != 1 {
		t.Fatalf("components: got %d, want 1", len(comps))
	}
	comp := comps[0].(map[string]any)
	wantKeys(t, "component", comp, "id", "name", "group", "kind",
		"status", "since", "last_check", "uptime_pct")
	wantTime(t, "since", comp["since"])
	if comp["id"] != "api" || comp["group"] != "Public" || comp["kind"] != "http" {
		t.Errorf("component: got %v", comp)
	}
	if _, ok := comp["age_seconds"]; ok {
		t.Errorf("http check has age_seconds, want it only for probes")
	}

	last := comp["last_check"].(map[string]any)
	wantKeys(t, "last_check", last, "at", "http_status",
		"response_time_ms", "error", "conditions")
	wantTime(t, "at", last["at"])
	if ms, ok := last["response_time_ms"].(float64); !ok || ms != float64(int64(ms)) {
		t.Errorf("response_time_ms: got %v, want whole milliseconds", last["response_time_ms"])
	}
	cond := last["conditions"].([]any)[0].(map[string]any)
	wantKeys(t, "condition", cond, "condition", "success", "detail")
	if cond["condition"] != "[STATUS] == 200" || cond["success"] != true {
		t.Errorf("condition: got %v", cond)
	}

	uptime := comp["uptime_pct"].(map[string]any)
	wantKeys(t, "uptime_pct", uptime, "24h", "7d", "30d", "90d")
	if uptime["24h"] != 100.0 || uptime["90d"] != 100.0 {
		t.Errorf("uptime: got %v, want 100", uptime)
	}
}

func wantKeys(t *testing.T, name string, m map[string]any, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			t.Errorf("%s: missing key %q in %v", name, k, m)
		}
	}
}

func wantTime(t *testing.T, name string, v any) {
	t.Helper()
	s, _ := v.(string)
	at, err := time.Parse(time.RFC3339, s)
	if err != nil || !strings.HasSuffix(s, "Z") {
		t.Errorf("%s: got %v, want an RFC 3339 time in UTC", name, v)
		return
	}
	if at.Before(start.Add(-time.Hour)) {
		t.Errorf("%s: got %v, want the fake clock's time", name, at)
	}
}

func TestAPIStatus_ETag(t *testing.T) {
	srv := statusServer(t, 200, "ok")
	h := newHarness(t, Config{Checks: []CheckConfig{{
		ID: "api", URL: srv.URL, Interval: time.Minute,
	}}})
	h.run()
	h.nextOf("api")

	resp, body := h.get("/api/status", nil)
	etag := resp.Header.Get("ETag")
	if etag == "" || body == "" {
		t.Fatalf("first response: etag %q, body %d bytes", etag, len(body))
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "public, max-age=10" {
		t.Errorf("cache control: got %q", cc)
	}
	resp, body = h.get("/api/status", http.Header{"If-None-Match": {etag}})
	if resp.StatusCode != http.StatusNotModified || body != "" {
		t.Errorf("same etag: got %d with %d bytes, want 304 and no body",
			resp.StatusCode, len(body))
	}
	resp, _ = h.get("/api/status",
		http.Header{"If-None-Match": {`"other", W/` + etag}})
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("etag in a list: got %d, want 304", resp.StatusCode)
	}

	h.advance(1, time.Minute)
	h.nextOf("api")
	resp, _ = h.get("/api/status", http.Header{"If-None-Match": {etag}})
	if resp.StatusCode != http.StatusOK {
		t.Errorf("after a new result: got %d, want 200", resp.StatusCode)
	}
	if resp.Header.Get("ETag") == etag {
		t.Errorf("after a new result: etag unchanged")
	}
}

func TestHandler_HidesURLAndErrors(t *testing.T) {
	// A closed port gives an error text with the address in it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, port, _ := net.SplitHostPort(addr)
	secretBody := statusServer(t, 200, `{"token":"s3cr3t-token"}`)

	h := newHarness(t, Config{Checks: []CheckConfig{
		{ID: "url-hidden", URL: "http://" + addr + "/private-path",
			HideURL: true, FailureThreshold: 1},
		{ID: "both-hidden", URL: "http://" + addr + "/private-path",
			HideURL: true, HideErrors: true, FailureThreshold: 1},
		{ID: "errors-hidden", URL: secretBody.URL + "/private-path",
			HideURL: true, HideErrors: true, FailureThreshold: 1,
			Conditions: []string{`[BODY].token == "other"`}},
	}})
	h.run()
	var raw []string
	for range 3 {
		raw = append(raw, h.next().r.Error)
	}
	if !strings.Contains(strings.Join(raw, " "), addr) {
		t.Fatalf("raw errors %q do not contain %s, so the test proves nothing",
			raw, addr)
	}

	secrets := []string{addr, "127.0.0.1", port, "private-path",
		"s3cr3t", secretBody.URL}
	for _, path := range []string{"/", "/api/status",
		"/api/status/url-hidden/history", "/badge/url-hidden.svg"} {
		_, body := h.get(path, nil)
		for _, secret := range secrets {
			if strings.Contains(body, secret) {
				t.Errorf("%s contains %q", path, secret)
			}
		}
	}
	c := h.component("url-hidden")
	if c.Status != StatusDown || !strings.Contains(c.LastCheck.Error, hidden) {
		t.Errorf("url hidden: %s %q, want down with %s in the error",
			c.Status, c.LastCheck.Error, hidden)
	}
	if e := h.component("both-hidden").LastCheck.Error; e != "" {
		t.Errorf("errors hidden: error %q, want none", e)
	}
	conds := h.component("errors-hidden").LastCheck.Conditions
	if len(conds) != 1 || conds[0].Detail != "" || conds[0].Success {
		t.Errorf("errors hidden: conditions %+v, want failed without detail", conds)
	}
}

func TestBadge(t *testing.T) {
	srv := statusServer(t, 200, "ok")
	h := newHarness(t, Config{Checks: []CheckConfig{{
		ID: "api", Name: "API <v2>", URL: srv.URL, SuccessThreshold: 1,
	}}})
	h.run()
	h.nextOf("api")

	resp, body := h.get("/badge/api.svg", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status: got %d, want 200", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "image/svg+xml" {
		t.Errorf("content type: got %q", ct)
	}
	var svg struct {
		XMLName xml.Name
		Title   string `xml:"title"`
	}
	if err := xml.Unmarshal([]byte(body), &svg); err != nil {
		t.Fatalf("badge is not well-formed XML: %v\n%s", err, body)
	}
	if svg.XMLName.Local != "svg" || svg.Title != "API <v2>: Operational" {
		t.Errorf("badge: root %q title %q, want svg and the state",
			svg.XMLName.Local, svg.Title)
	}
	if !strings.Contains(body, badgeColors[StatusUp]) {
		t.Errorf("badge: missing the color of up")
	}
	for _, path := range []string{"/badge/nope.svg", "/badge/api.png"} {
		if resp, _ := h.get(path, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: got %d, want 404", path, resp.StatusCode)
		}
	}
}

func TestHistory_Endpoint(t *testing.T) {
	srv := statusServer(t, 200, "ok")
	h := newHarness(t, Config{Checks: []CheckConfig{{ID: "api", URL: srv.URL}}})
	h.run()
	h.nextOf("api")

	_, body := h.get("/api/status/api/history?days=90", nil)
	var doc HistoryReport
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatalf("decode: %v", err)
	}
	if len(doc.Days) != 90 {
		t.Fatalf("days: got %d, want 90", len(doc.Days))
	}
	today := doc.Days[89]
	if today.Date != "2025-03-10" || today.Status != StatusUp ||
		today.UptimePct == nil || *today.UptimePct != 100 {
		t.Errorf("today: got %+v, want 2025-03-10 up 100", today)
	}
	if d := doc.Days[0]; d.UptimePct != nil || d.Status != StatusUnknown {
		t.Errorf("90 days ago: got %+v, want no data", d)
	}
	_, body = h.get("/api/status/api/history?days=7", nil)
	if err := json.Unmarshal([]byte(body), &doc); err != nil || len(doc.Days) != 7 {
		t.Errorf("days=7: got %d days, error %v", len(doc.Days), err)
	}
	for path, code := range map[string]int{
		"/api/status/api/history?days=0":   http.StatusBadRequest,
		"/api/status/api/history?days=91":  http.StatusBadRequest,
		"/api/status/api/history?days=x":   http.StatusBadRequest,
		"/api/status/nope/history?days=10": http.StatusNotFound,
	} {
		if resp, _ := h.get(path, nil); resp.StatusCode != code {
			t.Errorf("%s: got %d, want %d", path, resp.StatusCode, code)
		}
	}
}

func TestPage_Content(t *testing.T) {
	up := statusServer(t, 200, "ok")
	down := statusServer(t, 500, "")
	h := newHarness(t, Config{Title: "Acme status", Checks: []CheckConfig{
		{ID: "web", Name: "Website", Group: "Public", URL: up.URL,
			SuccessThreshold: 1},
		{ID: "api", Name: "API", Group: "Public", URL: down.URL,
			FailureThreshold: 1},
	}})
	h.run()
	h.next()
	h.next()

	resp, page := h.get("/", nil)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("content type: got %q", ct)
	}
	for _, want := range []string{
		"<title>Acme status</title>",
		`class="banner s-down"`, "Some systems are down",
		"Website", "Operational", "API", ">Down<",
		"HTTP 200", "HTTP 500", " ms<",
		"100.00%", "prefers-color-scheme: dark", `name="viewport"`,
		`title="2025-03-10: 100.00% uptime"`,
		`title="2025-03-10: 0.00% uptime, 1 failed checks"`,
		"fetch(\"api/status\"", "Connection lost, showing data from",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if n := strings.Count(page, `class="bar `); n != 180 {
		t.Errorf("bars: got %d, want 90 for each of 2 components", n)
	}
	for _, external := range []string{"src=", "href=", "@import", "url("} {
		if strings.Contains(page, external) {
			t.Errorf("page loads an external asset: contains %q", external)
		}
	}
	if resp, _ := h.get("/nope", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("/nope: got %d, want 404", resp.StatusCode)
	}
}

func TestNew_Validation(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{HistoryPath: dir + "/s.db", Checks: []CheckConfig{
		{ID: "bad-cond", URL: "http://127.0.0.1:1/",
			Conditions: []string{"[STATUS] = 200"}},
		{ID: "bad-kind", Kind: "udp", URL: "127.0.0.1:1"},
		{ID: "bad-url", URL: "ftp://127.0.0.1/"},
		{ID: "bad-window", URL: "http://127.0.0.1:1/",
			Maintenance: []Window{{Daily: "25:00", Duration: time.Hour}}},
		{ID: "dup", URL: "http://127.0.0.1:1/"},
		{ID: "dup", URL: "http://127.0.0.1:1/"},
		{ID: "bad id", URL: "http://127.0.0.1:1/"},
		{ID: "fast", URL: "http://127.0.0.1:1/", Interval: time.Nanosecond},
		{ID: "negative", URL: "http://127.0.0.1:1/", FailureThreshold: -1},
	}}
	_, err := New(cfg, newFakeClock(), nil)
	if err == nil {
		t.Fatal("New accepted an invalid config")
	}
	for _, want := range []string{
		`check "bad-cond": condition 1: parse condition "[STATUS] = 200"`,
		`check "bad-kind": invalid kind "udp"`,
		`check "bad-url": invalid url "ftp://127.0.0.1/"`,
		`check "bad-window": maintenance 1: invalid daily time "25:00"`,
		`duplicate component id "dup"`,
		`invalid id "bad id"`,
		`check "fast": invalid interval 1ns, want at least 1s`,
		`check "negative": invalid thresholds: failure -1`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}
