// Package notify sends a message to a chat channel or an HTTP endpoint
// when a job fails and when it recovers.
//
// A Notifier delivers one Event to one receiver: Slack posts to a Slack
// incoming webhook and Webhook posts the Event as JSON. Both retry network
// errors, 429 and 5xx responses with backoff and honour Retry-After. A
// Dispatcher sits in front of the notifiers and decides what to send, so a
// job that keeps failing raises one alert, not one per run.
//
// Webhook URLs are secrets: no error, log line or String result of this
// package contains the URL's path, query or user information. The package
// does not schedule jobs or read the configuration file.
package notify

import (
	"context"
	"net/http"
	"time"
)

// Status is the outcome that an Event reports.
type Status string

// The statuses of an Event.
const (
	// Failed reports that a job failed after succeeding or after
	// having no known state.
	Failed Status = "failed"
	// Recovered reports the first success after a failure.
	Recovered Status = "recovered"
	// Succeeded reports a success that follows a success.
	Succeeded Status = "succeeded"
)

// Event is one notification about one run of a job.
type Event struct {
	// Job is "backup", "prune", "check", "restore", "drill" or the id
	// of a status component.
	Job string `json:"job"`
	// Source is the name of the source, or empty.
	Source string `json:"source"`
	// Tier is the name of the retention tier, or empty.
	Tier   string `json:"tier"`
	Status Status `json:"status"`
	// Message is one line that the caller has already cleared of
	// secrets.
	Message string    `json:"message"`
	Time    time.Time `json:"time"`
	// Details are optional facts such as "snapshot" or "records".
	Details map[string]string `json:"details"`
}

// Notifier delivers events to one receiver.
type Notifier interface {
	// Notify delivers e, retrying temporary failures until the
	// retries run out or ctx ends.
	Notify(ctx context.Context, e Event) error
	// String returns the kind of notifier and the host it posts to,
	// never the secret part of its URL.
	String() string
}

// Default values of Options.
const (
	DefaultTimeout    = 10 * time.Second
	DefaultMaxRetries = 5
	DefaultMinBackoff = time.Second
	DefaultMaxBackoff = 60 * time.Second
)

// MaxRetryAfter caps the wait that a Retry-After header can request.
const MaxRetryAfter = 10 * time.Minute

// Options tune how a notifier posts. The zero value selects the defaults.
type Options struct {
	// Client sends the requests. The default has a timeout of
	// DefaultTimeout and does not follow redirects, so a redirect
	// fails as a permanent error.
	Client *http.Client
	// MaxRetries is the number of retries after the first attempt.
	// Zero selects DefaultMaxRetries and a negative value disables
	// retries.
	MaxRetries int
	// MinBackoff and MaxBackoff bound the wait between attempts when
	// the receiver sends no Retry-After header.
	MinBackoff, MaxBackoff time.Duration
	// Sleep waits between attempts. It must return ctx.Err() when ctx
	// ends first. The default uses a timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock used to read a Retry-After date.
	Now func() time.Time
}

// withDefaults returns o with every zero field set to its default.
func (o Options) withDefaults() Options {
	if o.Client == nil {
		o.Client = &http.Client{
			Timeout:       DefaultTimeout,
			CheckRedirect: noRedirect,
		}
	}
	if o.MaxRetries == 0 {
		o.MaxRetries = DefaultMaxRetries
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = DefaultMinBackoff
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = DefaultMaxBackoff
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = o.MinBackoff
	}
	if o.Sleep == nil {
		o.Sleep = sleep
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

func noRedirect(*http.Request, []*http.Request) error {
	return http.ErrUseLastResponse
}

// sleep waits for d or until ctx ends, whichever comes first.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
