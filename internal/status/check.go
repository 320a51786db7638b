package status

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/lifeline-backup/lifeline/internal/status/condition"
)

// maxRedirects is how many redirects a check with FollowRedirects
// follows, the same as net/http's default client.
const maxRedirects = 10

// check is a validated CheckConfig ready to run.
type check struct {
	cfg      CheckConfig
	client   *http.Client
	conds    []namedCondition
	degraded []namedCondition
	windows  []window
	// hider replaces the URL and its host in public texts, nil
	// without HideURL.
	hider *strings.Replacer
}

// newCheck applies defaults to cfg and validates it. The error names
// the check and lists every problem.
func newCheck(cfg CheckConfig) (*check, error) {
	applyDefaults(&cfg)
	errs := validateCheck(cfg)
	conds, condErrs := parseConditions("condition", cfg.Conditions)
	degraded, degErrs := parseConditions("degraded condition",
		cfg.DegradedConditions)
	errs = append(append(errs, condErrs...), degErrs...)
	windows := make([]window, 0, len(cfg.Maintenance))
	for i, w := range cfg.Maintenance {
		parsed, err := parseWindow(w)
		if err != nil {
			errs = append(errs, fmt.Errorf("maintenance %d: %w", i+1, err))
		}
		windows = append(windows, parsed)
	}
	if len(errs) > 0 {
		for i, err := range errs {
			errs[i] = fmt.Errorf("check %q: %w", cfg.ID, err)
		}
		return nil, errors.Join(errs...)
	}
	c := &check{cfg: cfg, conds: conds, degraded: degraded, windows: windows}
	c.client = newClient(cfg)
	if cfg.HideURL {
		c.hider = urlHider(cfg)
	}
	return c, nil
}

// newClient returns the HTTP client of one check. It opens a new
// connection for every run, so each run measures and tests a connect.
func newClient(cfg CheckConfig) *http.Client {
	transport := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: cfg.Timeout}).DialContext,
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: cfg.InsecureTLS},
		TLSHandshakeTimeout: cfg.Timeout,
		DisableKeepAlives:   true,
		ForceAttemptHTTP2:   true,
	}
	client := &http.Client{Transport: transport}
	client.CheckRedirect = func(_ *http.Request, via []*http.Request) error {
		if !cfg.FollowRedirects {
			return http.ErrUseLastResponse
		}
		if len(via) >= maxRedirects {
			return fmt.Errorf("stopped after %d redirects", maxRedirects)
		}
		return nil
	}
	return client
}

// urlHider returns a replacer of the URL, host and host name of cfg.
func urlHider(cfg CheckConfig) *strings.Replacer {
	pairs := []string{cfg.URL, hidden}
	host := tcpAddress(cfg.URL)
	if u, err := url.Parse(cfg.URL); err == nil && u.Host != "" {
		host = u.Host
	}
	pairs = append(pairs, host, hidden)
	if name, _, err := net.SplitHostPort(host); err == nil {
		pairs = append(pairs, name, hidden)
	}
	return strings.NewReplacer(pairs...)
}

// hidden replaces hidden URLs and addresses in public texts.
const hidden = "[hidden]"

// run runs the check once within its timeout. at is the start time on
// the server's clock.
func (c *check) run(ctx context.Context, at time.Time) Result {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	var obs observation
	if c.cfg.Kind == "tcp" {
		obs = c.dial(ctx)
	} else {
		obs = c.request(ctx)
	}
	if errors.Is(obs.err, context.DeadlineExceeded) {
		obs.err = fmt.Errorf("timed out after %v: %w", c.cfg.Timeout, obs.err)
	}
	return c.judge(obs, at)
}

// observation is what one run saw, before conditions are applied.
type observation struct {
	result condition.Result
	err    error
}

// judge evaluates the conditions on obs and decides the status.
func (c *check) judge(obs observation, at time.Time) Result {
	r := Result{
		At:           at,
		HTTPStatus:   obs.result.Status,
		ResponseTime: obs.result.ResponseTime,
		IP:           obs.result.IP,
	}
	if obs.err != nil {
		r.Error = obs.err.Error()
	}
	passed := evaluate(c.conds, &obs.result, &r)
	if len(c.conds) == 0 && obs.err == nil {
		passed = c.defaultPass(&r)
	}
	degradedPassed := evaluate(c.degraded, &obs.result, &r)
	switch {
	case obs.err != nil || !passed:
		r.Status = StatusDown
	case !degradedPassed:
		r.Status = StatusDegraded
	default:
		r.Status = StatusUp
	}
	return r
}

// defaultPass applies the rule for checks without conditions: an HTTP
// status below 400, or any TCP connection.
func (c *check) defaultPass(r *Result) bool {
	if c.cfg.Kind == "tcp" || r.HTTPStatus < 400 {
		return true
	}
	r.Error = fmt.Sprintf("HTTP status %d, want below 400", r.HTTPStatus)
	return false
}

// evaluate appends each condition's outcome to r and reports whether
// all passed.
func evaluate(
	conds []namedCondition, obs *condition.Result, r *Result,
) bool {
	all := true
	for _, nc := range conds {
		ok, detail := nc.cond.Eval(obs)
		r.Conditions = append(r.Conditions, ConditionResult{
			Condition: nc.text, Success: ok, Detail: detail,
		})
		all = all && ok
	}
	return all
}
