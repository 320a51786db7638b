// Package snapserver is a reference implementation of the server side of
// lifeline's HTTP snapshot protocol (docs/http-snapshot.md), over an
// in-memory map. It is written apart from lifeline's client on purpose,
// so tests of the client check it against a second reading of the
// protocol.
//
// A Server is an http.Handler for GET /snapshot and POST /restore. It
// has fault settings that break its snapshot responses, for tests.
package snapserver

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultMaxBody is the largest restore body a Server accepts unless
// MaxBody is set.
const DefaultMaxBody = 64 << 20

const ndjson = "application/x-ndjson"

// Record is the value, metadata and expiry stored under one key.
type Record struct {
	Value []byte
	// Metadata is nil for a record without metadata.
	Metadata []byte
	// ExpiresAt is the zero time for a record that never expires.
	ExpiresAt time.Time
}

// Fault makes snapshot responses fail on purpose.
type Fault struct {
	// Cut closes the connection after CutAfter record lines, with no
	// trailer, as a crashed server or a dropped connection would.
	Cut      bool
	CutAfter int
	// DropTrailer ends the response cleanly but without its trailer.
	DropTrailer bool
	// WrongHash sends a trailer whose SHA-256 does not match the lines.
	WrongHash bool
}

// Server stores records in memory and serves them over the protocol. It
// is safe for concurrent use.
type Server struct {
	namespace string
	token     string
	// MaxBody is the largest restore body accepted. Zero means
	// DefaultMaxBody. Set it before serving.
	MaxBody int64
	// Now returns the current time for expiry. Nil means time.Now. Set
	// it before serving.
	Now func() time.Time

	mu      sync.Mutex
	records map[string]Record
	fault   Fault
}

// New returns an empty server that names its data namespace in stream
// headers and accepts requests that carry token.
func New(namespace, token string) *Server {
	return &Server{namespace: namespace, token: token,
		records: map[string]Record{}}
}

// Put stores rec under key.
func (s *Server) Put(key []byte, rec Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records[string(key)] = rec
}

// Get returns the record stored under key, expired or not.
func (s *Server) Get(key []byte) (Record, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.records[string(key)]
	return rec, ok
}

// Delete removes key.
func (s *Server) Delete(key []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.records, string(key))
}

// Len returns the number of keys stored, expired or not.
func (s *Server) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.records)
}

// SetFault sets how the following snapshot responses fail. The zero
// Fault turns faults off.
func (s *Server) SetFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = f
}

// ServeHTTP routes /snapshot and /restore after checking the token.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(r) {
		writeError(w, http.StatusUnauthorized,
			"missing or wrong bearer token")
		return
	}
	var method string
	var handle func(http.ResponseWriter, *http.Request)
	switch {
	case strings.HasSuffix(r.URL.Path, "/snapshot"):
		method, handle = http.MethodGet, s.snapshot
	case strings.HasSuffix(r.URL.Path, "/restore"):
		method, handle = http.MethodPost, s.restore
	default:
		writeError(w, http.StatusNotFound, "unknown path "+r.URL.Path+
			"; use /snapshot or /restore")
		return
	}
	if r.Method != method {
		w.Header().Set("Allow", method)
		writeError(w, http.StatusMethodNotAllowed,
			r.URL.Path+" accepts only "+method)
		return
	}
	handle(w, r)
}

func (s *Server) authorized(r *http.Request) bool {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || s.token == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(s.token)) == 1
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// wireRecord is a record line of a snapshot or restore body.
type wireRecord struct {
	Key       *[]byte    `json:"key,omitempty"`
	Value     []byte     `json:"value"`
	Metadata  []byte     `json:"metadata"`
	ExpiresAt *time.Time `json:"expires_at"`
	Deleted   bool       `json:"deleted,omitempty"`
}

type header struct {
	Version   int    `json:"lifeline_snapshot"`
	Namespace string `json:"namespace"`
	Records   *int   `json:"records,omitempty"`
}

type trailer struct {
	End     bool   `json:"end"`
	Records int    `json:"records"`
	SHA256  string `json:"sha256"`
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}

// copyLive returns the keys of the live records in key order and the
// records, copied under the lock, so a snapshot is one moment's state.
func (s *Server) copyLive() ([]string, map[string]Record, Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	live := make(map[string]Record, len(s.records))
	for k, rec := range s.records {
		if rec.ExpiresAt.IsZero() || rec.ExpiresAt.After(now) {
			live[k] = rec
		}
	}
	keys := make([]string, 0, len(live))
	for k := range live {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys, live, s.fault
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
