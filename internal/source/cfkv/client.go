package cfkv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"
)

const (
	// maxAttempts bounds the tries of one request, retries included.
	maxAttempts = 6
	// firstBackoff is the wait after the first failed attempt. It
	// doubles with every further attempt up to maxBackoff.
	firstBackoff = time.Second
	maxBackoff   = 30 * time.Second
	// rateLimitedWait is the wait after a 429 without Retry-After.
	// Cloudflare's limits page states that a client over the limit is blocked
	// for five minutes, and its Retry-After header, when sent, gives
	// the actual wait.
	rateLimitedWait = 60 * time.Second
	// maxResponseBytes bounds a response body: the largest value plus
	// room for headers of the JSON envelope.
	maxResponseBytes = MaxValueBytes + 1<<20
	requestTimeout   = 5 * time.Minute
)

// APIError is a failed API request: the HTTP status and the errors of
// Cloudflare's response envelope.
type APIError struct {
	Status int
	// Errors holds the codes and messages of the response's "errors"
	// array, empty when the body was not an envelope.
	Errors []Message
}

// Message is one entry of the "errors" or "messages" array of a
// Cloudflare API response.
type Message struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "cloudflare api: HTTP %d", e.Status)
	for i, m := range e.Errors {
		if i == 0 {
			b.WriteString(":")
		} else {
			b.WriteString(";")
		}
		fmt.Fprintf(&b, " error %d: %s", m.Code, m.Message)
	}
	return b.String()
}

// envelope is the JSON body of every API response except a value read.
type envelope struct {
	Success    bool            `json:"success"`
	Errors     []Message       `json:"errors"`
	Result     json.RawMessage `json:"result"`
	ResultInfo json.RawMessage `json:"result_info"`
}

// client sends authenticated, rate-limited requests and retries them.
type client struct {
	base    string
	account string
	token   string
	http    *http.Client
	limiter *rate.Limiter
	sleep   func(ctx context.Context, d time.Duration) error
}

func newClient(cfg Config) *client {
	c := &client{
		base:    strings.TrimSuffix(cfg.BaseURL, "/"),
		account: cfg.AccountID,
		token:   cfg.Token,
		http:    cfg.Client,
		limiter: newLimiter(cfg.RateLimit),
		sleep:   cfg.Sleep,
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: requestTimeout}
	}
	if c.sleep == nil {
		c.sleep = sleepContext
	}
	return c
}

// newLimiter returns a token bucket that lets at most perPeriod requests
// through in any RatePeriod: the burst plus what refills in one period
// add up to perPeriod, or to 2 when perPeriod is 1. A negative perPeriod
// returns nil, no limit.
func newLimiter(perPeriod int) *rate.Limiter {
	if perPeriod < 0 {
		return nil
	}
	burst := max(1, perPeriod/100)
	refill := time.Duration(max(1, perPeriod-burst))
	// Rounding the interval up keeps the refill within the period.
	every := (RatePeriod + refill - 1) / refill
	return rate.NewLimiter(rate.Every(every), burst)
}

func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// request is one API call. path is relative to the account and already
// escaped.
type request struct {
	method string
	path   string
	query  url.Values
	body   []byte
}

// response is the body and headers of a successful response.
type response struct {
	body   []byte
	header http.Header
}

// do sends req until it succeeds, fails for good or runs out of
// attempts. Only 429, 5xx and network errors are retried. Every request
// this package sends is idempotent, so a retry cannot apply one twice.
func (c *client) do(ctx context.Context, req request) (*response, error) {
	var last error
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		resp, wait, err := c.attempt(ctx, req)
		if err == nil {
			return resp, nil
		}
		if wait < 0 || ctx.Err() != nil {
			return nil, err
		}
		last = err
		if attempt == maxAttempts {
			break
		}
		if wait == 0 {
			wait = backoff(attempt)
		}
		if err := c.sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("%s %s: giving up after %d attempts: %w",
		req.method, req.path, maxAttempts, last)
}

func backoff(attempt int) time.Duration {
	d := firstBackoff << (attempt - 1)
	return min(d, maxBackoff)
}

// attempt sends req once. On failure, wait is negative when the error is
// final, zero when the caller picks a backoff, and positive when the
// server asked for that wait.
func (c *client) attempt(ctx context.Context,
	req request) (*response, time.Duration, error) {
	if c.limiter != nil {
		if err := c.limiter.Wait(ctx); err != nil {
			return nil, -1, err
		}
	}
	hr, err := c.newHTTPRequest(ctx, req)
	if err != nil {
		return nil, -1, err
	}
	resp, err := c.http.Do(hr)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return nil, 0, fmt.Errorf("%s %s: read response: %w",
			req.method, req.path, err)
	}

	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return nil, retryAfter(resp.Header), apiError(resp.StatusCode, body)
	case resp.StatusCode >= 500:
		return nil, 0, apiError(resp.StatusCode, body)
	case resp.StatusCode >= 300:
		return nil, -1, apiError(resp.StatusCode, body)
	}
	return &response{body: body, header: resp.Header}, 0, nil
}

func (c *client) newHTTPRequest(ctx context.Context,
	req request) (*http.Request, error) {
	u := c.base + "/accounts/" + url.PathEscape(c.account) + req.path
	if len(req.query) > 0 {
		u += "?" + req.query.Encode()
	}
	var body io.Reader
	if req.body != nil {
		body = bytes.NewReader(req.body)
	}
	hr, err := http.NewRequestWithContext(ctx, req.method, u, body)
	if err != nil {
		return nil, fmt.Errorf("build request %s %s: %w",
			req.method, req.path, err)
	}
	hr.Header.Set("Authorization", "Bearer "+c.token)
	if req.body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	return hr, nil
}

// retryAfter returns the wait a 429 response requests, in seconds or as an
// HTTP date, or rateLimitedWait when it names none.
func retryAfter(h http.Header) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return rateLimitedWait
	}
	if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
		return max(time.Duration(secs)*time.Second, time.Millisecond)
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), time.Millisecond)
	}
	return rateLimitedWait
}

// apiError builds the error of a failed response from its envelope. A body
// that is no envelope is left out, because it could echo request data.
func apiError(status int, body []byte) error {
	e := &APIError{Status: status}
	var env envelope
	if json.Unmarshal(body, &env) == nil {
		e.Errors = env.Errors
	}
	return e
}

// doJSON sends req and decodes the envelope's result into result and its
// result_info into info. Either may be nil.
func (c *client) doJSON(ctx context.Context, req request,
	result, info any) error {
	resp, err := c.do(ctx, req)
	if err != nil {
		return err
	}
	var env envelope
	if err := json.Unmarshal(resp.body, &env); err != nil {
		return fmt.Errorf("%s %s: decode response: %w",
			req.method, req.path, err)
	}
	if !env.Success {
		return &APIError{Status: http.StatusOK, Errors: env.Errors}
	}
	if result != nil && len(env.Result) > 0 {
		if err := json.Unmarshal(env.Result, result); err != nil {
			return fmt.Errorf("%s %s: decode result: %w",
				req.method, req.path, err)
		}
	}
	if info != nil && len(env.ResultInfo) > 0 {
		if err := json.Unmarshal(env.ResultInfo, info); err != nil {
			return fmt.Errorf("%s %s: decode result_info: %w",
				req.method, req.path, err)
		}
	}
	return nil
}

// isNotFound reports whether err is a 404 response.
func isNotFound(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status == http.StatusNotFound
}
