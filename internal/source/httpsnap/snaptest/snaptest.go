// Package snaptest starts the reference snapshot server of
// examples/snapshot-server on 127.0.0.1 for tests.
package snaptest

import (
	"crypto/rand"
	"encoding/hex"
	"net/http/httptest"
	"testing"

	"github.com/lifeline-backup/lifeline/examples/snapshot-server/snapserver"
	"github.com/lifeline-backup/lifeline/internal/source/httpsnap"
)

// Server is a running reference server.
type Server struct {
	*snapserver.Server
	// URL is the endpoint URL for httpsnap.Config.URL.
	URL string
	// Token is the bearer token the server accepts.
	Token string
}

// Start starts a server with an empty store, named namespace in its
// stream headers, on a free port of 127.0.0.1. t.Cleanup stops it.
func Start(t testing.TB, namespace string) *Server {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("read random token: %v", err)
	}
	return StartWithToken(t, namespace, hex.EncodeToString(b))
}

// StartWithToken is Start with a given bearer token.
func StartWithToken(t testing.TB, namespace, token string) *Server {
	t.Helper()
	h := snapserver.New(namespace, token)
	// httptest listens on 127.0.0.1 with a free port.
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	return &Server{Server: h, URL: hs.URL + "/state", Token: token}
}

// Config returns the source configuration for the server, with name as
// the source name and namespace.
func (s *Server) Config(name string) httpsnap.Config {
	return httpsnap.Config{Name: name, URL: s.URL, Token: s.Token}
}
