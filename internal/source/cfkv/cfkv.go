// Package cfkv is the source adapter for Cloudflare Workers KV, reached
// through Cloudflare's REST API (client/v4) with an API token.
//
// Every KV namespace of the account is a lifeline namespace, named by
// its title. A namespace configured by its id is named by that id.
//
// # What a backup holds
//
// Read lists the keys 1,000 at a time with the cursor of the keys list
// endpoint, which returns each key's expiration and metadata, and reads
// each value with one GET of the values endpoint. Record.Key is the key
// name as UTF-8 bytes, Record.Value the raw value bytes, Record.Metadata
// the key's metadata as the JSON text the listing returned (nil for a key
// without metadata), and Record.ExpiresAt the listed expiration, whole
// Unix seconds. The REST listing has no list_complete field (the Workers
// binding's list has one): it ends when result_info carries an empty
// cursor, so an empty page with a cursor does not end it. A key that a
// repeated cursor lists twice is returned once, because Read keeps a
// 128-bit hash of every key it has returned. Its memory therefore grows
// with the namespace, by an estimated 40 bytes per key (the hash plus Go
// map overhead). A key deleted between the listing and the value read is left out.
//
// Values are read one request each because the bulk get endpoint
// (POST .../bulk/get, up to 100 keys) is documented for text values only
// and returns values inside JSON, which cannot carry arbitrary bytes.
// Under Cloudflare's default limit of 1,200 API requests per five
// minutes, that is about four values per second.
//
// # What a restore guarantees
//
// Write sends up to 10,000 pairs and at most 100,000,000 bytes per bulk
// write request (PUT .../bulk). A value that is valid UTF-8 is sent as a
// JSON string and any other value base64-encoded with "base64": true, so
// values come back byte for byte. Metadata is sent back as the same JSON
// text and the expiry as the same Unix second. An expiry with a fraction
// of a second is rounded up. Tombstones are deleted with the bulk delete
// endpoint (POST .../bulk/delete), only in Replace mode.
//
// Cloudflare rejects a whole bulk request when one pair breaks a limit,
// so Write leaves such records out, unchanged, and reports them through
// Skipped. Those are records with
//
//   - an expiry less than 60 seconds after now, the later of the now
//     argument and the wall clock;
//   - a key that is empty, "." or "..", not valid UTF-8 or longer than
//     512 bytes;
//   - metadata that is not JSON or longer than 1,024 bytes;
//   - a value over 25 MiB.
//
// The bulk write endpoint overwrites, so KeepExisting needs to know which
// keys exist. The first KeepExisting Write to a namespace lists its keys
// once and keeps that index, updated with this Source's own writes and
// deletes. A Write with a different now builds a new index, and the
// restore engine passes one now per restored namespace. Keys that
// another client writes during a restore are missing from the index, and
// KV's listings are eventually consistent, so such keys can be
// overwritten.
//
// # Requests
//
// A client-side limiter spaces requests (Config.RateLimit per five
// minutes). Responses 429 are retried after their Retry-After header,
// and 5xx responses and network errors after an exponential backoff, up
// to six attempts in all. Errors name the namespace and carry the
// Cloudflare error codes and messages of the response body. They never
// contain the token or a value.
//
// # Sources
//
// The endpoints, fields and limits follow Cloudflare's published
// documentation, read for this package on these pages of
// developers.cloudflare.com: the API reference for KV namespaces (list),
// keys (list), values (get), metadata (get), bulk update, bulk delete and
// bulk get under /api/resources/kv/; the Workers KV pages
// /kv/api/list-keys/, /kv/api/read-key-value-pairs/ and
// /kv/api/write-key-value-pairs/; and the API rate limits page
// /fundamentals/api/reference/limits/. The adapter has been tested only
// against the local server in package cftest, which follows those pages,
// never against Cloudflare itself.
package cfkv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/lifeline-backup/lifeline/internal/source"
)

// Limits of Workers KV that Write checks before it sends a record, from
// Cloudflare's KV documentation.
const (
	// MaxKeyBytes is the longest key name, in UTF-8 bytes.
	MaxKeyBytes = 512
	// MaxMetadataBytes is the longest metadata, as serialized JSON.
	MaxMetadataBytes = 1024
	// MaxValueBytes is the largest value, 25 MiB.
	MaxValueBytes = 25 << 20
	// MinExpiry is how far after now an expiry must lie.
	MinExpiry = 60 * time.Second
)

// Defaults for the zero fields of Config.
const (
	// DefaultBaseURL is the address of Cloudflare's API.
	DefaultBaseURL = "https://api.cloudflare.com/client/v4"
	// DefaultRateLimit is Cloudflare's global API rate limit, in requests
	// per RatePeriod.
	DefaultRateLimit = 1200
	// RatePeriod is the window that Config.RateLimit counts requests in.
	RatePeriod = 5 * time.Minute
	// DefaultConcurrency is how many values Read fetches at once.
	DefaultConcurrency = 8
)

// Config configures a Workers KV source.
type Config struct {
	// Name is the source name from the configuration.
	Name string
	// AccountID is the Cloudflare account that owns the namespaces.
	AccountID string
	// Token is the API token. It is sent only in the Authorization
	// header, never printed and never part of an error.
	Token string
	// Namespaces lists namespace ids or titles to back up; empty means
	// every namespace of the account.
	Namespaces []string
	// BaseURL is the API address; empty means DefaultBaseURL.
	BaseURL string
	// Client sends the requests; nil means a client with a timeout of
	// five minutes per request.
	Client *http.Client
	// RateLimit is the number of requests per RatePeriod; 0 means
	// DefaultRateLimit and a negative value turns the limiter off.
	RateLimit int
	// Concurrency is how many values Read fetches at once; 0 means
	// DefaultConcurrency.
	Concurrency int
	// Sleep waits between attempts of a request; nil means a timer
	// that stops early when ctx ends. Tests inject it.
	Sleep func(ctx context.Context, d time.Duration) error
}

// String describes the configuration without the token, so that
// printing a Config with fmt shows no secret.
func (c Config) String() string {
	return fmt.Sprintf("cfkv config %q (account %s, token redacted)",
		c.Name, c.AccountID)
}

// GoString is String, for the %#v verb.
func (c Config) GoString() string { return c.String() }

// LogValue is String, for log/slog.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

// Source reads and writes the KV namespaces of one Cloudflare account.
// It is safe for concurrent use.
type Source struct {
	cfg Config
	api *client

	// writeMu lets one Write run at a time, so the key indexes need
	// no lock of their own.
	writeMu sync.Mutex

	mu      sync.Mutex
	ids     map[string]string // namespace name to id
	indexes map[string]*keyIndex
	skipped []Skip
}

var (
	_ source.Source    = (*Source)(nil)
	_ source.Describer = (*Source)(nil)
)

// New validates cfg and returns a Source for it. It sends no request.
func New(cfg Config) (*Source, error) {
	if err := validate(&cfg); err != nil {
		return nil, fmt.Errorf("new cfkv source %q: %w", cfg.Name, err)
	}
	cfg.Namespaces = slices.Clone(cfg.Namespaces)
	return &Source{
		cfg:     cfg,
		api:     newClient(cfg),
		ids:     map[string]string{},
		indexes: map[string]*keyIndex{},
	}, nil
}

func validate(cfg *Config) error {
	if cfg.AccountID == "" {
		return errors.New("missing account id")
	}
	if cfg.Token == "" {
		return errors.New("missing api token")
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") ||
		u.Host == "" {
		return fmt.Errorf("invalid base url %q: want an http or https url",
			cfg.BaseURL)
	}
	if cfg.RateLimit == 0 {
		cfg.RateLimit = DefaultRateLimit
	}
	if cfg.Concurrency < 0 {
		return fmt.Errorf("invalid concurrency %d: want 0 or more",
			cfg.Concurrency)
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	for i, ns := range cfg.Namespaces {
		if ns == "" {
			return fmt.Errorf("namespace %d is empty", i)
		}
		if slices.Contains(cfg.Namespaces[:i], ns) {
			return fmt.Errorf("namespace %q listed twice", ns)
		}
	}
	return nil
}

// String is Describe, so that printing a Source shows no token.
func (s *Source) String() string { return s.Describe() }

// GoString is Describe, for the %#v verb.
func (s *Source) GoString() string { return s.Describe() }

// Describe returns "cfkv account" and the account id, without the token.
func (s *Source) Describe() string {
	return "cfkv account " + s.cfg.AccountID
}

// Namespaces returns the configured namespaces or, when none are
// configured, the titles of every namespace of the account.
func (s *Source) Namespaces(ctx context.Context) ([]string, error) {
	if len(s.cfg.Namespaces) > 0 {
		return slices.Clone(s.cfg.Namespaces), nil
	}
	all, err := s.api.listNamespaces(ctx)
	if err != nil {
		return nil, fmt.Errorf("list namespaces of %s: %w",
			s.Describe(), err)
	}
	names := make([]string, len(all))
	for i, ns := range all {
		names[i] = ns.Title
	}
	return names, nil
}

// Close releases idle connections of the default HTTP client.
func (s *Source) Close() error {
	if s.cfg.Client == nil {
		s.api.http.CloseIdleConnections()
	}
	return nil
}

// resolve returns the id of the namespace named name, an id or a title.
// An id wins over a title that happens to equal it.
func (s *Source) resolve(ctx context.Context, name string) (string, error) {
	if name == "" || (len(s.cfg.Namespaces) > 0 &&
		!slices.Contains(s.cfg.Namespaces, name)) {
		return "", fmt.Errorf("namespace %q is not configured for %s: %w",
			name, s.Describe(), source.ErrUnknownNamespace)
	}
	s.mu.Lock()
	id, ok := s.ids[name]
	s.mu.Unlock()
	if ok {
		return id, nil
	}

	all, err := s.api.listNamespaces(ctx)
	if err != nil {
		return "", fmt.Errorf("find namespace %q of %s: %w",
			name, s.Describe(), err)
	}
	id = findNamespace(all, name)
	if id == "" {
		return "", fmt.Errorf("namespace %q not found in %s: %w",
			name, s.Describe(), source.ErrUnknownNamespace)
	}
	s.mu.Lock()
	s.ids[name] = id
	s.mu.Unlock()
	return id, nil
}

func findNamespace(all []namespaceInfo, name string) string {
	for _, ns := range all {
		if ns.ID == name {
			return ns.ID
		}
	}
	for _, ns := range all {
		if ns.Title == name {
			return ns.ID
		}
	}
	return ""
}
