package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/lifeline-backup/lifeline/internal/status"
)

// chromiumPath is where Debian's chromium package installs the browser.
const chromiumPath = "/usr/bin/chromium"

// slowDelay is how long the slow endpoint waits before it responds,
// above the 200 ms of its degraded condition.
const slowDelay = 400 * time.Millisecond

// componentView is what the page shows of one component.
type componentView struct {
	Label   string `json:"label"`
	Classes string `json:"classes"`
	HTTP    string `json:"http"`
	Time    string `json:"time"`
	Color   string `json:"color"`
}

// readComponentsJS returns the componentView of every component on the
// page, by id.
const readComponentsJS = `(() => {
  const out = {};
  document.querySelectorAll("article.comp").forEach((el) => {
    const state = el.querySelector(".state");
    out[el.dataset.id] = {
      label: el.querySelector('[data-f="status"]').textContent,
      classes: state.className,
      http: el.querySelector('[data-f="http"]').textContent,
      time: el.querySelector('[data-f="rt"]').textContent,
      color: getComputedStyle(state).color,
    };
  });
  return out;
})()`

// readBannerJS returns the label and classes of the page's banner as a
// componentView.
const readBannerJS = `(() => {
  const el = document.getElementById("banner");
  return {
    label: el.querySelector(".label").textContent,
    classes: el.className,
  };
})()`

// newBrowser starts headless Chromium with a new empty profile and
// returns a browser context that ends with the test.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("chromium not found at %s: %v; install it with "+
			"'make deps' (apt-get install chromium)", chromiumPath, err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		// The sandbox needs user namespaces that root in a container
		// does not have.
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1000, 900),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(
		context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	})
	return ctx
}

// artifactDir returns the folder for files that outlive the test:
// $LIFELINE_ARTIFACTS, else lifeline-artifacts in the system's
// temporary folder.
func artifactDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("LIFELINE_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "lifeline-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("create artifact folder: %v", err)
	}
	return dir
}

// screenshot writes a full-page PNG of the browser's page to the
// artifact folder and logs its path.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	// Quality 100 makes a PNG, lower qualities a JPEG.
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(artifactDir(t), name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatalf("write screenshot: %v", err)
	}
	t.Logf("screenshot: %s", path)
}

// readComponents returns what the page shows of each component.
func readComponents(t *testing.T, ctx context.Context) map[string]componentView {
	t.Helper()
	views, err := chromedp.Run(ctx,
		chromedp.Evaluate[map[string]componentView](readComponentsJS))
	if err != nil {
		t.Fatalf("read components from the page: %v", err)
	}
	return views
}

// slowServer returns 200 after slowDelay.
func slowServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-time.After(slowDelay):
			case <-r.Context().Done():
				return
			}
			w.WriteHeader(http.StatusOK)
		}))
	t.Cleanup(srv.Close)
	return srv
}

// msPattern matches the response time that the page shows.
var msPattern = regexp.MustCompile(`^(\d+) ms$`)

// wantView checks the state, colour class, code and response time that
// the page shows of component id.
func wantView(t *testing.T, views map[string]componentView, id string,
	want status.Status, label, code string) componentView {
	t.Helper()
	v, ok := views[id]
	if !ok {
		t.Fatalf("page has no component %q: %+v", id, views)
	}
	if v.Label != label {
		t.Errorf("%s: label %q, want %q", id, v.Label, label)
	}
	if !regexp.MustCompile(`\bs-` + string(want) + `\b`).
		MatchString(v.Classes) {
		t.Errorf("%s: state classes %q, want s-%s", id, v.Classes, want)
	}
	if v.HTTP != code {
		t.Errorf("%s: HTTP text %q, want %q", id, v.HTTP, code)
	}
	if !msPattern.MatchString(v.Time) {
		t.Errorf("%s: response time %q, want a number of ms", id, v.Time)
	}
	return v
}

func TestBrowser_StatusPage(t *testing.T) {
	bin := buildLifeline(t)
	healthy := newSwitchServer(t, true)
	slow := slowServer(t)
	failing := newSwitchServer(t, false)
	cond := `conditions: ["[STATUS] == 200"]`
	s := newStatusServe(t, bin, "title: Lifeline test status\n"+
		"refresh: 1s\nchecks:\n"+
		indent(checkYAML("healthy", healthy.URL, "name: Healthy API",
			"group: Services", cond), "  ")+
		indent(checkYAML("slow", slow.URL, "name: Slow API",
			"group: Services", "timeout: 5s", cond,
			`degraded_conditions: ["[RESPONSE_TIME] < 200"]`), "  ")+
		indent(checkYAML("failing", failing.URL, "name: Failing API",
			"group: Services", cond), "  "), "")
	s.start()
	s.waitStatuses(map[string]status.Status{
		"healthy": status.StatusUp,
		"slow":    status.StatusDegraded,
		"failing": status.StatusDown,
	})

	ctx := newBrowser(t)
	err := chromedp.Do(ctx,
		chromedp.Navigate(s.base+"/"),
		chromedp.WaitVisible(chromedp.CSS(`article[data-id="failing"]`)),
	)
	if err != nil {
		t.Fatalf("load the status page: %v", err)
	}
	title, err := chromedp.Run(ctx, chromedp.Title())
	if err != nil {
		t.Fatalf("read the page title: %v", err)
	}
	if title != "Lifeline test status" {
		t.Errorf("page title %q, want %q", title, "Lifeline test status")
	}
	banner, err := chromedp.Run(ctx, chromedp.Evaluate[componentView](
		readBannerJS))
	if err != nil {
		t.Fatalf("read the banner: %v", err)
	}
	if banner.Label != "Some systems are down" {
		t.Errorf("banner %q, want %q", banner.Label,
			"Some systems are down")
	}
	wantContains(t, "banner classes", banner.Classes, "s-down")

	light := readComponents(t, ctx)
	up := wantView(t, light, "healthy", status.StatusUp, "Operational",
		"HTTP 200")
	degraded := wantView(t, light, "slow", status.StatusDegraded,
		"Degraded", "HTTP 200")
	down := wantView(t, light, "failing", status.StatusDown, "Down",
		"HTTP 500")
	if m := msPattern.FindStringSubmatch(degraded.Time); m != nil {
		ms, _ := strconv.Atoi(m[1])
		if ms < int(slowDelay.Milliseconds()) {
			t.Errorf("slow: response time %d ms, want at least %d ms",
				ms, slowDelay.Milliseconds())
		}
	}
	wantDistinctColors(t, "light", up, degraded, down)
	screenshot(t, ctx, "status-page-light.png")

	_, err = chromedp.Call(ctx, emulation.SetEmulatedMedia,
		emulation.SetEmulatedMediaParams{Features: []*emulation.MediaFeature{
			{Name: "prefers-color-scheme", Value: "dark"}}})
	if err != nil {
		t.Fatalf("emulate dark mode: %v", err)
	}
	dark := readComponents(t, ctx)
	wantDistinctColors(t, "dark", dark["healthy"], dark["slow"],
		dark["failing"])
	if dark["healthy"].Color == up.Color {
		t.Errorf("up colour %s is the same in dark and light mode",
			up.Color)
	}
	screenshot(t, ctx, "status-page-dark.png")

	wantRecoveryWithoutReload(t, ctx, failing)
	screenshot(t, ctx, "status-page-recovered.png")
	s.stop()
}

// wantDistinctColors fails the test unless up, degraded and down are
// shown in three different colours.
func wantDistinctColors(t *testing.T, mode string,
	up, degraded, down componentView) {
	t.Helper()
	if up.Color == degraded.Color || up.Color == down.Color ||
		degraded.Color == down.Color {
		t.Errorf("%s mode colours: up %s, degraded %s, down %s, want "+
			"three different ones", mode, up.Color, degraded.Color,
			down.Color)
	}
}

// wantRecoveryWithoutReload makes the failing endpoint return 200 and
// waits for the open page to show it up. A marker on window proves that
// the page was updated in place and not reloaded.
func wantRecoveryWithoutReload(t *testing.T, ctx context.Context,
	failing *switchServer) {
	t.Helper()
	const marker = "window.lifelineTestMarker"
	_, err := chromedp.Run(ctx,
		chromedp.Evaluate[string](marker+` = "kept"`))
	if err != nil {
		t.Fatalf("set marker: %v", err)
	}
	failing.ok.Store(true)

	deadline := time.Now().Add(processWait)
	var views map[string]componentView
	for {
		views = readComponents(t, ctx)
		if views["failing"].Label == "Operational" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the page still shows failing as %q after %v: %+v",
				views["failing"].Label, processWait, views["failing"])
		}
		time.Sleep(200 * time.Millisecond)
	}
	wantView(t, views, "failing", status.StatusUp, "Operational",
		"HTTP 200")

	markerAfter, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		`typeof `+marker+` === "string" ? `+marker+` : "missing"`))
	if err != nil {
		t.Fatalf("read marker: %v", err)
	}
	if markerAfter != "kept" {
		t.Errorf("window marker = %q after the update, want %q: the page "+
			"was reloaded", markerAfter, "kept")
	}
}
