package notify

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// StatusError is the error for a response whose status is not 2xx.
type StatusError struct {
	Code int
	// Reason is the first line of the response body, such as Slack's
	// "invalid_payload", cut to 120 bytes and cleared of the URL's
	// secret parts.
	Reason string
}

// Error returns the status code and text, and the reason if any.
func (e *StatusError) Error() string {
	s := fmt.Sprintf("%d %s", e.Code, http.StatusText(e.Code))
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	return s
}

// maxReason is the number of body bytes kept in StatusError.Reason.
const maxReason = 120

// redacted replaces the secret parts of a URL in messages.
const redacted = "[redacted]"

// sender posts JSON bodies to one URL with retries. It keeps the secret
// parts of the URL out of every string and error it returns.
type sender struct {
	kind string
	raw  string
	u    *url.URL // nil when raw is not a valid http or https URL
	opts Options
}

func newSender(kind, raw string, opts Options) *sender {
	s := &sender{kind: kind, raw: raw, opts: opts.withDefaults()}
	if _, err := checkURL(raw); err == nil {
		s.u, _ = url.Parse(strings.TrimSpace(raw))
	}
	return s
}

// String returns the kind and the host, such as
// "slack webhook (hooks.slack.com)".
func (s *sender) String() string {
	if s.u == nil {
		return s.kind + " (invalid URL)"
	}
	return fmt.Sprintf("%s (%s)", s.kind, s.u.Host)
}

// post sends body, retrying network errors, 429 and 5xx responses.
func (s *sender) post(ctx context.Context, body []byte) error {
	if s.u == nil {
		return fmt.Errorf("send to %s: %w", s, errInvalidURL)
	}
	for attempt := 1; ; attempt++ {
		wait, err := s.try(ctx, body, attempt)
		if err == nil {
			return nil
		}
		if wait < 0 {
			return fmt.Errorf("send to %s: %w", s, err)
		}
		if attempt > s.opts.MaxRetries {
			return fmt.Errorf("send to %s: gave up after %s: %w",
				s, attempts(attempt), err)
		}
		if werr := s.wait(ctx, wait); werr != nil {
			return fmt.Errorf("send to %s: %w after %s, not retried: %w",
				s, err, attempts(attempt), werr)
		}
	}
}

func attempts(n int) string {
	if n == 1 {
		return "1 attempt"
	}
	return fmt.Sprintf("%d attempts", n)
}

// errPastDeadline is returned by wait when the next attempt would start
// after the context's deadline.
var errPastDeadline = errors.New("retry would start after the deadline")

// wait sleeps for d unless the context ends before d has passed.
func (s *sender) wait(ctx context.Context, d time.Duration) error {
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < d {
		return errPastDeadline
	}
	return s.opts.Sleep(ctx, d)
}

// try makes one attempt. On failure it returns the wait before the next
// attempt, or a negative wait when retrying cannot help.
func (s *sender) try(ctx context.Context, body []byte, attempt int) (
	time.Duration, error) {
	resp, err := s.do(ctx, body)
	if err != nil {
		if ctx.Err() != nil {
			return -1, err
		}
		return s.backoff(attempt), err
	}
	defer resp.Body.Close()

	if resp.StatusCode/100 == 2 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		return 0, nil
	}
	serr := &StatusError{Code: resp.StatusCode, Reason: s.reason(resp.Body)}
	if !retryable(resp.StatusCode) {
		return -1, serr
	}
	if d, ok := s.retryAfter(resp.Header); ok {
		return d, serr
	}
	return s.backoff(attempt), serr
}

func retryable(code int) bool {
	return code == http.StatusTooManyRequests || code/100 == 5
}

// do sends one request. Its errors contain no secret part of the URL.
func (s *sender) do(ctx context.Context, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.u.String(),
		bytes.NewReader(body))
	if err != nil {
		return nil, s.redact(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "lifeline")
	resp, err := s.opts.Client.Do(req)
	if err != nil {
		return nil, s.redact(err)
	}
	return resp, nil
}

// redact drops the URL that net/http puts into its errors. When the
// remaining message still contains a secret part, only the cleared
// message is kept, without the wrapped error.
func (s *sender) redact(err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	if msg := s.scrub(err.Error()); msg != err.Error() {
		return errors.New(msg)
	}
	return err
}

// scrub replaces every secret part of the URL in msg.
func (s *sender) scrub(msg string) string {
	secrets := []string{s.raw, strings.TrimSpace(s.raw)}
	if s.u != nil {
		secrets = append(secrets, s.u.String(), s.u.RawQuery,
			s.u.EscapedPath(), s.u.Path, s.u.User.String())
	}
	for _, secret := range secrets {
		// A path of "/" is no secret and occurs in many messages.
		if len(secret) > 1 {
			msg = strings.ReplaceAll(msg, secret, redacted)
		}
	}
	return msg
}

// reason returns the first line of a response body for StatusError.
func (s *sender) reason(body io.Reader) string {
	r := bufio.NewReader(io.LimitReader(body, maxReason))
	line, _ := r.ReadString('\n')
	_, _ = io.Copy(io.Discard, io.LimitReader(body, 1<<16))
	return s.scrub(strings.TrimSpace(line))
}

// retryAfter reads a Retry-After header given in seconds or as an HTTP
// date, and caps it at MaxRetryAfter.
func (s *sender) retryAfter(h http.Header) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		d = time.Duration(min(n, int64(MaxRetryAfter/time.Second))) *
			time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(s.opts.Now())
	} else {
		return 0, false
	}
	return min(max(d, 0), MaxRetryAfter), true
}

// backoff returns the wait before the attempt after the given one: the
// minimum doubled per attempt, capped at the maximum, with the upper half
// of it random so that senders do not retry in step.
func (s *sender) backoff(attempt int) time.Duration {
	d := s.opts.MinBackoff
	for i := 1; i < attempt && d < s.opts.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, s.opts.MaxBackoff)
	half := d / 2
	d = half + rand.N(d-half+1)
	return min(max(d, s.opts.MinBackoff), s.opts.MaxBackoff)
}
