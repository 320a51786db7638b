// Package httpsnap is the source adapter for services that expose the
// HTTP snapshot protocol: GET {url}/snapshot streams every record as
// newline-delimited JSON and POST {url}/restore stores records. The
// protocol is specified in docs/http-snapshot.md at the repository root.
//
// One endpoint is one namespace. Read decodes the snapshot one line at a
// time, so its memory does not grow with the namespace. It fails with
// "response cut short" when the stream lacks its trailer or when the
// trailer's record count or SHA-256 does not match the lines received.
//
// Record.Metadata is the endpoint's opaque metadata, kept verbatim.
//
// Limits: a line may be at most MaxLineBytes long, and the protocol has
// no change feed, so an incremental backup reads the whole snapshot.
//
// A restore sends batches of records to the restore endpoint. What it
// guarantees depends on the service: lifeline checks the status and the
// counts of every response, and a service that follows the protocol
// stores a batch whole or not at all. Batches already stored stay stored
// when a later one fails.
package httpsnap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/lifeline-backup/lifeline/internal/source"
)

const (
	// DefaultTimeout bounds the wait for response headers, for each line
	// of a snapshot and for a whole restore request.
	DefaultTimeout = 60 * time.Second
	// MaxLineBytes is the longest line Read accepts, line feed included.
	MaxLineBytes = 32 << 20
	// maxBatchBytes is about the most line bytes one restore request
	// carries. A single larger record goes in a request of its own.
	maxBatchBytes = 8 << 20
	// maxErrorBody bounds how much of an error response is read.
	maxErrorBody = 4 << 10
)

// Config configures an HTTP snapshot source.
type Config struct {
	// Name is the source name from the configuration.
	Name string
	// URL is the endpoint, without the /snapshot or /restore suffix,
	// such as "https://api.example.com/state/sessions". It must not
	// contain credentials.
	URL string
	// Token is the bearer token sent with every request. It never
	// appears in errors or in Describe.
	Token string
	// Namespace names the endpoint's one namespace. Empty means Name.
	Namespace string
	// Client sends the requests. Nil means a client with its own copy
	// of http.DefaultTransport.
	Client *http.Client
	// Timeout bounds the wait for the response headers of each request,
	// the wait for each next line of a snapshot, and a whole restore
	// request. Zero means DefaultTimeout.
	Timeout time.Duration
}

// Source reads and writes the one namespace of a snapshot endpoint. It is
// safe for concurrent use.
type Source struct {
	base      *url.URL
	token     string
	namespace string
	client    *http.Client
	// ownClient is set when New made the client, so Close may release
	// its idle connections.
	ownClient bool
	timeout   time.Duration
}

var (
	_ source.Source    = (*Source)(nil)
	_ source.Describer = (*Source)(nil)
)

// New validates cfg and returns a source for its endpoint. It sends no
// request.
func New(cfg Config) (*Source, error) {
	base, err := parseURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	ns := cfg.Namespace
	if ns == "" {
		ns = cfg.Name
	}
	if ns == "" {
		return nil, fmt.Errorf("new http snapshot source %s: missing "+
			"name and namespace", display(base))
	}
	if cfg.Token == "" {
		return nil, fmt.Errorf("new http snapshot source %s: missing "+
			"token", display(base))
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("new http snapshot source %s: timeout %s "+
			"is negative", display(base), cfg.Timeout)
	}
	s := &Source{base: base, token: cfg.Token, namespace: ns,
		client: cfg.Client, timeout: cfg.Timeout}
	if s.client == nil {
		transport := http.DefaultTransport.(*http.Transport).Clone()
		s.client = &http.Client{Transport: transport}
		s.ownClient = true
	}
	if s.timeout == 0 {
		s.timeout = DefaultTimeout
	}
	return s, nil
}

// parseURL checks that raw is an absolute http or https URL without
// credentials, query or fragment, and drops a trailing slash.
func parseURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("new http snapshot source: missing URL")
	}
	u, err := url.Parse(raw)
	if err != nil {
		// The URL may hold a secret, so only the cause is shown.
		var urlErr *url.Error
		if errors.As(err, &urlErr) {
			err = urlErr.Err
		}
		return nil, fmt.Errorf("new http snapshot source: invalid "+
			"URL: %w", err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("new http snapshot source: URL scheme "+
			"%q is not http or https", u.Scheme)
	case u.Host == "":
		return nil, errors.New("new http snapshot source: URL has no host")
	case u.User != nil:
		return nil, errors.New("new http snapshot source: URL contains " +
			"credentials; put the token in the token setting")
	case u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("new http snapshot source %s: URL has a "+
			"query or fragment, which the protocol does not use",
			display(u))
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// display returns the URL for messages: scheme, host and path only.
func display(u *url.URL) string {
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}

// Describe returns "http snapshot" and the endpoint URL.
func (s *Source) Describe() string {
	return "http snapshot " + display(s.base)
}

// Namespaces returns the endpoint's one namespace.
func (s *Source) Namespaces(context.Context) ([]string, error) {
	return []string{s.namespace}, nil
}

// Close releases idle connections of the default client. A client from
// Config is left alone, because others may share it.
func (s *Source) Close() error {
	if s.ownClient {
		s.client.CloseIdleConnections()
	}
	return nil
}

func (s *Source) checkNamespace(namespace string) error {
	if namespace != s.namespace {
		return fmt.Errorf("namespace %q of http snapshot %s: the "+
			"endpoint has only %q: %w", namespace, display(s.base),
			s.namespace, source.ErrUnknownNamespace)
	}
	return nil
}

// endpoint returns the URL of the path below the base URL, as a string
// for requests and a redacted form for messages.
func (s *Source) endpoint(path string) (string, string) {
	u := *s.base
	u.Path += path
	return u.String(), display(&u)
}

// newRequest returns a request with the bearer token. A nil body sends
// none.
func (s *Source) newRequest(ctx context.Context, method, target string,
	body []byte) (*http.Request, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, r)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	return req, nil
}
