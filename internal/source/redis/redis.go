// Package redis is the source adapter for a Redis server.
//
// It reads keys with SCAN and DUMP, so every value is kept in Redis's own
// serialization whatever its type, and writes them back with RESTORE.
// Each namespace is a key pattern on one database. The package does not
// read or write Redis Cluster, whose keys live on several servers.
package redis

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/lifeline-backup/lifeline/internal/source"
)

var _ source.Source = (*Source)(nil)
var _ source.Describer = (*Source)(nil)

const (
	// DefaultScanCount is the COUNT hint sent with each SCAN.
	DefaultScanCount = 1000
	// DefaultBatch is the number of keys read or written per round trip.
	DefaultBatch = 500

	dialTimeout = 5 * time.Second
)

// Namespace is a set of keys on one database that is backed up as a
// unit.
type Namespace struct {
	Name string
	// Match is the SCAN MATCH pattern. The empty string means "*".
	Match string
	// DB is the database number. -1 means the database of the URL.
	DB int
}

// Config describes one Redis server and the namespaces read from it.
type Config struct {
	Name string
	// URL is a redis://, rediss:// or unix:// URL. It may contain a
	// password, which never appears in errors or in Describe.
	URL string
	// Namespaces lists the namespaces. When it is empty the source has
	// one namespace "all" with every key of the URL's database.
	Namespaces []Namespace
	// ScanCount is the COUNT hint of SCAN; 0 means DefaultScanCount.
	ScanCount int
	// Batch is the number of keys per pipeline; 0 means DefaultBatch.
	Batch int
}

// Source reads and writes the namespaces of one Redis server. It
// connects on first use and is safe for concurrent use.
type Source struct {
	opts       goredis.Options
	namespaces []Namespace
	scanCount  int
	batch      int

	mu       sync.Mutex
	clients  map[int]*goredis.Client
	follower *follower
}

// New validates cfg and returns a Source for it. It does not connect.
func New(cfg Config) (*Source, error) {
	opts, err := parseURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	scanCount, err := positiveOr(cfg.ScanCount, DefaultScanCount, "scan count")
	if err != nil {
		return nil, err
	}
	batch, err := positiveOr(cfg.Batch, DefaultBatch, "batch")
	if err != nil {
		return nil, err
	}
	namespaces, err := checkNamespaces(cfg.Namespaces, opts.DB)
	if err != nil {
		return nil, err
	}

	opts.DialTimeout = dialTimeout
	opts.DialerRetries = 1
	opts.MaxRetries = -1
	opts.DisableIdentity = true
	return &Source{
		opts:       *opts,
		namespaces: namespaces,
		scanCount:  scanCount,
		batch:      batch,
		clients:    make(map[int]*goredis.Client),
	}, nil
}

// parseURL parses a Redis URL without letting the URL, and with it a
// password, into the error.
func parseURL(raw string) (*goredis.Options, error) {
	if raw == "" {
		return nil, errors.New("invalid redis config: missing URL")
	}
	opts, err := goredis.ParseURL(raw)
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		err = urlErr.Err
	}
	if err != nil {
		return nil, fmt.Errorf("invalid redis URL: %w", err)
	}
	return opts, nil
}

func positiveOr(v, def int, name string) (int, error) {
	switch {
	case v == 0:
		return def, nil
	case v < 0:
		return 0, fmt.Errorf("invalid redis config: %s %d is negative",
			name, v)
	}
	return v, nil
}

// checkNamespaces fills in defaults and rejects empty or repeated names
// and invalid database numbers.
func checkNamespaces(in []Namespace, urlDB int) ([]Namespace, error) {
	if len(in) == 0 {
		in = []Namespace{{Name: "all", DB: -1}}
	}
	out := make([]Namespace, 0, len(in))
	seen := make(map[string]bool)
	for _, ns := range in {
		switch {
		case ns.Name == "":
			return nil, errors.New(
				"invalid redis config: namespace without a name")
		case seen[ns.Name]:
			return nil, fmt.Errorf(
				"invalid redis config: namespace %q repeated", ns.Name)
		case ns.DB < -1:
			return nil, fmt.Errorf(
				"invalid redis config: namespace %q: database %d is negative",
				ns.Name, ns.DB)
		}
		seen[ns.Name] = true
		if ns.Match == "" {
			ns.Match = "*"
		}
		if ns.DB == -1 {
			ns.DB = urlDB
		}
		out = append(out, ns)
	}
	return out, nil
}

// Describe returns "redis" and the server address, such as
// "redis 127.0.0.1:6379". It never contains the password.
func (s *Source) Describe() string {
	return "redis " + s.opts.Addr
}

// Namespaces returns the configured namespace names after checking with
// PING that the server is reachable.
func (s *Source) Namespaces(ctx context.Context) ([]string, error) {
	if err := s.ping(ctx, s.client(s.opts.DB)); err != nil {
		return nil, err
	}
	names := make([]string, len(s.namespaces))
	for i, ns := range s.namespaces {
		names[i] = ns.Name
	}
	return names, nil
}

// Close closes the connections to every database used.
func (s *Source) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	if s.follower != nil {
		errs = append(errs, s.follower.close())
		s.follower = nil
	}
	for db, c := range s.clients {
		errs = append(errs, c.Close())
		delete(s.clients, db)
	}
	return errors.Join(errs...)
}

func (s *Source) namespace(name string) (Namespace, error) {
	for _, ns := range s.namespaces {
		if ns.Name == name {
			return ns, nil
		}
	}
	return Namespace{}, fmt.Errorf("namespace %q of %s: %w",
		name, s.Describe(), source.ErrUnknownNamespace)
}

// client returns the client for database db, creating it on first use.
func (s *Source) client(db int) *goredis.Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.clients[db]; ok {
		return c
	}
	opts := s.opts
	opts.DB = db
	c := goredis.NewClient(&opts)
	s.clients[db] = c
	return c
}

func (s *Source) ping(ctx context.Context, c *goredis.Client) error {
	if err := c.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("connect to %s: %w", s.Describe(), err)
	}
	return nil
}
