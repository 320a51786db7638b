// Package cftest runs a local server for tests that responds like
// Cloudflare's REST API for Workers KV, on 127.0.0.1.
//
// It serves the endpoints that package cfkv uses, as Cloudflare's API
// reference describes them:
//
//   - the namespaces list, with page and per_page;
//   - the keys list, with limit (10 to 1,000), cursor and prefix, keys
//     in byte order with expiration and metadata, and result_info of
//     count and cursor, the cursor empty on the last page;
//   - value and metadata reads of URL-encoded key names, where a value
//     read sends the "expiration" header;
//   - the bulk write (PUT .../bulk) and both bulk deletes
//     (POST .../bulk/delete and the older DELETE .../bulk).
//
// It checks the "Authorization: Bearer" header and the documented
// limits: 10,000 pairs and 100,000,000 bytes per bulk request, keys of 1
// to 512 bytes other than "." and "..", metadata of at most 1,024 bytes,
// values of at most 25 MiB, and expirations at least 60 seconds ahead. A
// request that breaks a limit fails whole, with the error envelope
// {"success":false,"errors":[{"code":..,"message":..}],"messages":[],"result":null}.
// The error codes and messages are the server's own choice, modelled on
// ones Cloudflare users report, so tests must not depend on them.
//
// Faults can be switched on to test clients: empty pages with a cursor,
// a cursor handed back again, 429 responses with Retry-After, 500
// responses and bulk writes that report keys as unsuccessful.
package cftest

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"
)

// Limits that the server enforces.
const (
	MaxBulkPairs     = 10000
	MaxBulkBytes     = 100_000_000
	MaxKeyBytes      = 512
	MaxMetadataBytes = 1024
	MaxValueBytes    = 25 << 20
	MinExpiry        = 60 // seconds
	MaxKeyPage       = 1000
	MinKeyPage       = 10
	MaxNamespacePage = 100
)

// Options configures a Server. The zero value is usable.
type Options struct {
	// AccountID is the only account the server has; empty means
	// "account".
	AccountID string
	// Token is the API token that requests must carry; empty means
	// "token".
	Token string
	// Now is the server's clock for expirations; nil means time.Now.
	Now func() time.Time
}

// Faults make the server misbehave. Each count is used up by the
// requests it affects.
type Faults struct {
	// TooManyRequests responds to that many next requests with 429 and a
	// Retry-After header of RetryAfter seconds.
	TooManyRequests int
	RetryAfter      int
	// ServerErrors responds to that many next requests with 500.
	ServerErrors int
	// EmptyPages makes that many next key listings return no keys and
	// a cursor to the same position.
	EmptyPages int
	// RepeatCursors makes that many next key listings that return keys
	// hand back the request's own cursor, so the next listing serves
	// the same page again.
	RepeatCursors int
	// Unsuccessful makes the next bulk write store all but its first
	// Unsuccessful pairs and list those keys in unsuccessful_keys.
	Unsuccessful int
}

// Stats counts what the server did.
type Stats struct {
	Requests        int
	TooManyRequests int
	ServerErrors    int
	EmptyPages      int
	RepeatedCursors int
	Unsuccessful    int
	// Values counts value reads, BulkWrites bulk write requests.
	Values     int
	BulkWrites int
	// AuthFailures counts requests with a missing or wrong token.
	AuthFailures int
}

// Entry is one stored key's value, metadata and expiration.
type Entry struct {
	Value []byte
	// Metadata is compact JSON, or nil.
	Metadata json.RawMessage
	// Expiration is in Unix seconds; 0 means never.
	Expiration int64
}

// Server is a running fake of the Workers KV API.
type Server struct {
	// URL is the API base, like https://api.cloudflare.com/client/v4.
	URL       string
	AccountID string
	Token     string

	now func() time.Time
	srv *httptest.Server

	mu         sync.Mutex
	namespaces []*namespace
	faults     Faults
	stats      Stats
}

type namespace struct {
	id      string
	title   string
	entries map[string]Entry
	sorted  []string // sorted keys, nil when stale
}

// New starts a server on a free port of 127.0.0.1 and stops it when the
// test ends.
func New(t testing.TB, opt Options) *Server {
	t.Helper()
	s := &Server{AccountID: opt.AccountID, Token: opt.Token, now: opt.Now}
	if s.AccountID == "" {
		s.AccountID = "account"
	}
	if s.Token == "" {
		s.Token = "token"
	}
	if s.now == nil {
		s.now = time.Now
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("cftest: listen on 127.0.0.1: %v", err)
	}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.srv.Listener.Close()
	s.srv.Listener = l
	s.srv.Start()
	t.Cleanup(s.srv.Close)
	s.URL = s.srv.URL + "/client/v4"
	return s
}

// CreateNamespace adds a namespace with title and returns its id, 32
// hexadecimal digits as Cloudflare's are.
func (s *Server) CreateNamespace(title string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := fmt.Sprintf("%032x", len(s.namespaces)+1)
	s.namespaces = append(s.namespaces, &namespace{id: id, title: title,
		entries: map[string]Entry{}})
	return id
}

// Put stores an entry directly, without the API's checks.
func (s *Server) Put(nsID, key string, e Entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ns := s.find(nsID)
	if ns == nil {
		panic("cftest: Put into unknown namespace " + nsID)
	}
	ns.put(key, e)
}

// Delete removes a key directly, as another client of the account would.
func (s *Server) Delete(nsID, key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ns := s.find(nsID); ns != nil {
		ns.remove(key)
	}
}

// Entries returns a copy of the namespace's live entries.
func (s *Server) Entries(nsID string) map[string]Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	ns := s.find(nsID)
	if ns == nil {
		return nil
	}
	now := s.now().Unix()
	out := make(map[string]Entry, len(ns.entries))
	for k, e := range ns.entries {
		if live(e, now) {
			out[k] = e
		}
	}
	return out
}

// SetFaults replaces the pending faults.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f
}

// Stats returns the counters so far.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

func (s *Server) find(id string) *namespace {
	for _, ns := range s.namespaces {
		if ns.id == id {
			return ns
		}
	}
	return nil
}

func (ns *namespace) put(key string, e Entry) {
	if _, ok := ns.entries[key]; !ok {
		ns.sorted = nil
	}
	ns.entries[key] = e
}

func (ns *namespace) remove(key string) {
	if _, ok := ns.entries[key]; ok {
		delete(ns.entries, key)
		ns.sorted = nil
	}
}

// keys returns the keys in byte order, which Go's string order is.
func (ns *namespace) keys() []string {
	if ns.sorted == nil {
		ns.sorted = make([]string, 0, len(ns.entries))
		for k := range ns.entries {
			ns.sorted = append(ns.sorted, k)
		}
		slices.Sort(ns.sorted)
	}
	return ns.sorted
}

func live(e Entry, now int64) bool {
	return e.Expiration == 0 || e.Expiration > now
}
