// Package etcd is the source adapter for an etcd v3 cluster.
//
// Each namespace is a key prefix. Record.Key is the etcd key with the
// prefix removed, so a namespace can be restored under another prefix.
// An empty prefix is the whole keyspace.
//
// Read takes one consistent snapshot: the first page fixes a revision
// and every later page reads at that revision, so a backup matches the
// keyspace as it was at one moment. Pages hold at most PageSize keys,
// so memory does not grow with the namespace. If etcd compacts that
// revision before the read ends, the read fails.
//
// The iterators of Read and Changes implement source.Cursored. The
// cursor is the etcd revision the read saw, as 8 bytes big-endian.
// Changes watches the namespace from the revision after the cursor up
// to the revision current when it starts. It returns the newest value
// of each changed key and a tombstone for each key deleted since the
// cursor, and holds the newest value of every changed key in memory
// until it returns them. When etcd has compacted the history back to
// the cursor, Changes returns source.ErrCursorExpired.
//
// A key attached to a lease gets ExpiresAt = the time of the read plus
// the lease's remaining TTL plus half a second, because etcd reports the
// remaining TTL in whole seconds, rounded down. Records carry no
// Metadata. Write attaches records with an expiry to new leases granted
// with the remaining TTL rounded up to whole seconds, with one lease for
// all the records of a Write call that share a TTL.
//
// A restore guarantees each key's value and, for keys with a lease, an
// expiry within about a second of the original. It does not keep lease
// IDs, which keys shared a lease, or keep-alives: a restored lease
// expires when its TTL runs out even if a client kept the original one
// alive. etcd raises TTLs below its minimum (about two seconds with the
// default heartbeat) to that minimum. CreateRevision, ModRevision and
// Version of the restored keys are new.
package etcd

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/lifeline-backup/lifeline/internal/source"
)

const (
	// DefaultDialTimeout bounds connecting when Config.DialTimeout is 0.
	DefaultDialTimeout = 5 * time.Second
	// PageSize is the number of keys one Get of Read returns.
	PageSize = 1000
	// TxnOps is the number of operations in one transaction of Write.
	// etcd rejects transactions with more than --max-txn-ops, 128 by
	// default.
	TxnOps = 100
	// TxnBytes bounds the keys and values of one transaction of Write.
	// etcd rejects requests larger than --max-request-bytes, 1.5 MiB by
	// default.
	TxnBytes = 1 << 20
)

// Namespace is a key prefix that is backed up as a unit.
type Namespace struct {
	Name string
	// Prefix selects the keys; the empty string selects every key.
	Prefix string
}

// Config describes one etcd cluster and the namespaces read from it.
type Config struct {
	// Name is the source name from the configuration.
	Name string
	// Endpoints lists the client URLs, such as http://127.0.0.1:2379.
	Endpoints []string
	// Namespaces lists the namespaces; at least one is required.
	Namespaces []Namespace
	// Username and Password authenticate with etcd's auth, when set.
	// The password never appears in errors or in Describe.
	Username string
	Password string
	// DialTimeout bounds connecting; 0 means DefaultDialTimeout.
	DialTimeout time.Duration
}

// Source reads and writes the namespaces of one etcd cluster. It
// connects on first use and is safe for concurrent use.
type Source struct {
	cfg Config

	mu     sync.Mutex
	client *clientv3.Client
}

var (
	_ source.Source     = (*Source)(nil)
	_ source.Describer  = (*Source)(nil)
	_ source.ChangeFeed = (*Source)(nil)

	_ source.ConcurrentWriter = (*Source)(nil)
)

// New validates cfg and returns a Source for it. It does not connect.
func New(cfg Config) (*Source, error) {
	if err := checkEndpoints(cfg.Endpoints); err != nil {
		return nil, err
	}
	if err := checkNamespaces(cfg.Namespaces); err != nil {
		return nil, err
	}
	if cfg.DialTimeout < 0 {
		return nil, fmt.Errorf("invalid etcd config: dial timeout %s "+
			"is negative", cfg.DialTimeout)
	}
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = DefaultDialTimeout
	}
	if cfg.Password != "" && cfg.Username == "" {
		return nil, errors.New("invalid etcd config: password " +
			"without username")
	}
	cfg.Endpoints = slices.Clone(cfg.Endpoints)
	cfg.Namespaces = slices.Clone(cfg.Namespaces)
	return &Source{cfg: cfg}, nil
}

// checkEndpoints rejects a missing endpoint list and endpoints with
// credentials, which belong in Username and Password.
func checkEndpoints(endpoints []string) error {
	if len(endpoints) == 0 {
		return errors.New("invalid etcd config: missing endpoints")
	}
	for i, e := range endpoints {
		if e == "" {
			return fmt.Errorf("invalid etcd config: endpoint %d is "+
				"empty", i)
		}
		if u, err := url.Parse(e); err == nil && u.User != nil {
			return fmt.Errorf("invalid etcd config: endpoint %d "+
				"contains credentials; set username and password "+
				"instead", i)
		}
	}
	return nil
}

func checkNamespaces(namespaces []Namespace) error {
	if len(namespaces) == 0 {
		return errors.New("invalid etcd config: missing namespaces")
	}
	seen := map[string]bool{}
	for i, ns := range namespaces {
		if ns.Name == "" {
			return fmt.Errorf("invalid etcd config: namespace %d has "+
				"an empty name", i)
		}
		if seen[ns.Name] {
			return fmt.Errorf("invalid etcd config: namespace %q "+
				"listed twice", ns.Name)
		}
		seen[ns.Name] = true
	}
	return nil
}

// WriteConcurrency returns 4: Write calls with distinct keys run in
// transactions of their own, so several may run at once.
func (s *Source) WriteConcurrency() int {
	return 4
}

// Describe returns "etcd" and the endpoints.
func (s *Source) Describe() string {
	return "etcd " + strings.Join(s.cfg.Endpoints, ",")
}

// Namespaces returns the configured namespace names.
func (s *Source) Namespaces(context.Context) ([]string, error) {
	names := make([]string, len(s.cfg.Namespaces))
	for i, ns := range s.cfg.Namespaces {
		names[i] = ns.Name
	}
	return names, nil
}

// Close closes the connection, if one was made.
func (s *Source) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client == nil {
		return nil
	}
	err := s.client.Close()
	s.client = nil
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("close %s: %w", s.Describe(), err)
	}
	return nil
}

// namespace returns the configured namespace called name.
func (s *Source) namespace(name string) (Namespace, error) {
	for _, ns := range s.cfg.Namespaces {
		if ns.Name == name {
			return ns, nil
		}
	}
	return Namespace{}, fmt.Errorf("namespace %q is not configured for "+
		"%s: %w", name, s.Describe(), source.ErrUnknownNamespace)
}

// connect returns the client, creating it on first use.
func (s *Source) connect() (*clientv3.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client != nil {
		return s.client, nil
	}
	c, err := clientv3.New(clientv3.Config{
		Endpoints:   s.cfg.Endpoints,
		DialTimeout: s.cfg.DialTimeout,
		Username:    s.cfg.Username,
		Password:    s.cfg.Password,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", s.Describe(), err)
	}
	s.client = c
	return c, nil
}

// keyRange returns the etcd range [start, end) of the keys under
// prefix. For the empty prefix it is every key: etcd keys are never
// empty, and the range end "\x00" means no upper bound.
func keyRange(prefix string) (start, end string) {
	if prefix == "" {
		return "\x00", "\x00"
	}
	return prefix, clientv3.GetPrefixRangeEnd(prefix)
}
