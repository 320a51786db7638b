package cfkv

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"
	"time"
)

// fixedResponse is an http.RoundTripper that returns the same response
// to the first request and an empty successful page to the others, so
// listings end. It never opens a connection.
type fixedResponse struct {
	status int
	body   []byte
	header http.Header
	calls  int
}

func (f *fixedResponse) RoundTrip(req *http.Request) (*http.Response, error) {
	f.calls++
	status, body := f.status, f.body
	if f.calls > 1 {
		status, body = http.StatusOK, []byte(`{"success":true,"result":[]}`)
	}
	return &http.Response{StatusCode: status, Header: f.header.Clone(),
		Body: io.NopCloser(bytes.NewReader(body)), Request: req}, nil
}

// fuzzStatuses maps a fuzzed byte to the statuses the client treats
// differently.
var fuzzStatuses = []int{200, 200, 404, 429, 500, 503, 400, 403}

// FuzzAPIResponse decodes arbitrary Cloudflare API responses through the
// namespace and key listings and the value read: each call returns a
// result or an error, never panics, and stops retrying.
func FuzzAPIResponse(f *testing.F) {
	f.Add(uint8(0), []byte(`{"success":true,"result":[{"id":"n1",`+
		`"title":"sessions"}],"result_info":{"page":1,"per_page":100,`+
		`"count":1,"total_count":1}}`), "")
	f.Add(uint8(0), []byte(`{"success":true,"result":[{"name":"k",`+
		`"expiration":1900000000,"metadata":{"a":1}}],`+
		`"result_info":{"count":1,"cursor":""}}`), "")
	f.Add(uint8(3), []byte(`{"success":false,"errors":[{"code":10000,`+
		`"message":"rate limited"}]}`), "1")
	f.Add(uint8(2), []byte(`{"success":false,"errors":[{"code":10009,`+
		`"message":"key not found"}]}`), "")
	f.Add(uint8(0), []byte(`{"success":true,"result":null}`), "")
	f.Fuzz(func(t *testing.T, status uint8, body []byte, retry string) {
		for _, call := range []func(*client) error{
			func(c *client) error {
				_, err := c.listNamespaces(context.Background())
				return err
			},
			func(c *client) error {
				_, _, err := c.listKeys(context.Background(), "n1", "")
				return err
			},
			func(c *client) error {
				_, _, err := c.getValue(context.Background(), "n1", "k")
				return err
			},
		} {
			rt := &fixedResponse{
				status: fuzzStatuses[int(status)%len(fuzzStatuses)],
				body:   body, header: http.Header{"Retry-After": {retry}},
			}
			c := newClient(Config{AccountID: "acct", Token: "t",
				BaseURL: "http://127.0.0.1:1", RateLimit: -1,
				Client: &http.Client{Transport: rt},
				Sleep:  func(context.Context, time.Duration) error { return nil }})
			err := call(c)
			if rt.calls > maxAttempts+1 {
				t.Fatalf("%d requests for one call", rt.calls)
			}
			if err != nil && bytes.Contains([]byte(err.Error()), []byte("Bearer")) {
				t.Fatalf("error carries the token: %v", err)
			}
		}
	})
}
