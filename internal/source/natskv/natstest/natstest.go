// Package natstest runs a NATS server with JetStream inside the test
// process.
//
// Each server listens on a free port of 127.0.0.1, keeps its streams in
// a temporary directory and stops when the test ends. The package is for
// tests only and is not imported by lifeline itself.
package natstest

import (
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// startTimeout bounds how long Start waits for the server to accept
// connections.
const startTimeout = 10 * time.Second

// MaxPayload is the servers' max payload, 8 MiB instead of the default
// 1 MiB, so a value of 1 MiB fits in a message with its headers.
const MaxPayload = 8 << 20

// Server is a running NATS server that the test owns.
type Server struct {
	// URL is the client URL, always on 127.0.0.1.
	URL string
}

// Start starts a NATS server with JetStream and no streams.
func Start(t testing.TB) *Server {
	t.Helper()
	opts := &server.Options{
		Host:       "127.0.0.1",
		Port:       server.RANDOM_PORT,
		JetStream:  true,
		StoreDir:   t.TempDir(),
		MaxPayload: MaxPayload,
		NoLog:      true,
		NoSigs:     true,
	}
	s, err := server.NewServer(opts)
	if err != nil {
		t.Fatalf("new NATS server: %v", err)
	}
	go s.Start()
	t.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	if !s.ReadyForConnections(startTimeout) {
		t.Fatalf("NATS server not ready after %s", startTimeout)
	}
	return &Server{URL: s.ClientURL()}
}

// JetStream returns a JetStream context on a connection that is closed
// when the test ends.
func (s *Server) JetStream(t testing.TB) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(s.URL)
	if err != nil {
		t.Fatalf("connect to NATS %s: %v", s.URL, err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("open JetStream: %v", err)
	}
	return js
}

// CreateBucket creates a KV bucket with cfg and fails the test on an
// error.
func (s *Server) CreateBucket(t testing.TB,
	cfg jetstream.KeyValueConfig) jetstream.KeyValue {
	t.Helper()
	kv, err := s.JetStream(t).CreateKeyValue(t.Context(), cfg)
	if err != nil {
		t.Fatalf("create bucket %q: %v", cfg.Bucket, err)
	}
	return kv
}
