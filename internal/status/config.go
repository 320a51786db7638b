package status

import (
	"context"
	"time"
)

// Defaults applied by New to zero fields.
const (
	DefaultInterval         = time.Minute
	DefaultTimeout          = 10 * time.Second
	DefaultFailureThreshold = 3
	DefaultSuccessThreshold = 2
	DefaultProbeInterval    = time.Minute
	DefaultProbeTimeout     = 30 * time.Second
	DefaultRefresh          = time.Minute
	DefaultTitle            = "Status"
)

// MaxBodySize is the number of bytes of a response body that an HTTP
// check reads, and so what conditions on [BODY] see.
const MaxBodySize = 1 << 20

// Config is the configuration of a Server.
type Config struct {
	// Title is the heading of the page. Empty means DefaultTitle.
	Title string
	// Checks are the HTTP and TCP checks.
	Checks []CheckConfig
	// Probes are the built-in components, such as backup freshness.
	Probes []Probe
	// ProbeInterval is how often each probe runs. Zero means
	// DefaultProbeInterval.
	ProbeInterval time.Duration
	// ProbeTimeout bounds one run of a probe. Zero means
	// DefaultProbeTimeout.
	ProbeTimeout time.Duration
	// HistoryPath is the bbolt file for history and confirmed states.
	// It is required.
	HistoryPath string
	// RawRetention is how long raw results are kept. Zero means 48
	// hours.
	RawRetention time.Duration
	// SummaryRetention is how long hourly and daily summaries are
	// kept. Zero means 90 days.
	SummaryRetention time.Duration
	// Refresh is how often the page fetches new data. Zero means
	// DefaultRefresh.
	Refresh time.Duration
	// OnChange, if set, receives every confirmed state change. It is
	// called from the goroutine of the component, so a slow callback
	// delays only that component's next check. A change is stored as
	// alerted once OnChange returns, so a restart does not send it
	// again.
	OnChange func(ctx context.Context, c Change)
}

// CheckConfig is one HTTP or TCP check shown as a component.
type CheckConfig struct {
	// ID identifies the component in URLs and history. It contains
	// only letters, digits, '-', '_' and '.'.
	ID string
	// Name is shown on the page. Empty means ID.
	Name string
	// Group is the heading under which the component is shown.
	Group string
	// Kind is "http" or "tcp". Empty means "http".
	Kind string
	// URL is an http or https URL for "http", and host:port or
	// tcp://host:port for "tcp".
	URL string
	// Method is the HTTP method. Empty means GET.
	Method string
	// Headers are set on each request. A "Host" entry sets the
	// request's host.
	Headers map[string]string
	// Body is sent as the request body.
	Body string
	// Interval is the time between the starts of two checks. Zero
	// means DefaultInterval.
	Interval time.Duration
	// Timeout bounds one check, connection and body included. Zero
	// means DefaultTimeout.
	Timeout time.Duration
	// FollowRedirects makes an HTTP check follow up to 10 redirects.
	// Without it the redirect response itself is the result.
	FollowRedirects bool
	// InsecureTLS skips verification of the server's certificate.
	InsecureTLS bool
	// Conditions must all pass for the component to be up, and a
	// failing one makes it down. They use the syntax of package
	// condition. Without conditions, an HTTP check passes on a status
	// below 400 and a TCP check on a connection.
	Conditions []string
	// DegradedConditions make the component degraded, not down, when
	// one of them fails while all Conditions pass.
	DegradedConditions []string
	// FailureThreshold is the number of consecutive failing results
	// that confirm down or degraded. Zero means 3.
	FailureThreshold int
	// SuccessThreshold is the number of consecutive passing results
	// that confirm up. Zero means 2.
	SuccessThreshold int
	// HideURL keeps the URL, its host and the address connected to
	// out of the page and the API.
	HideURL bool
	// HideErrors keeps error texts and condition details out of the
	// page and the API.
	HideErrors bool
	// Maintenance are the windows during which the component shows
	// StatusMaintenance and sends no change.
	Maintenance []Window
}

// Window is a recurring maintenance window in UTC. Exactly one of Cron
// and Daily is set.
type Window struct {
	// Cron is a 5-field cron expression or a descriptor such as
	// "@weekly" for the start of the window.
	Cron string
	// Daily is a start time "HH:MM", the same as Cron "MM HH * * *".
	Daily string
	// Duration is the length of the window.
	Duration time.Duration
}
