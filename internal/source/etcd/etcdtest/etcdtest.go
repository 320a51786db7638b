// Package etcdtest runs a single-member etcd server inside the test
// process.
//
// Each server listens on free ports of 127.0.0.1, keeps its data in a
// temporary directory and stops when the test ends. The package is for
// tests only and is not imported by lifeline itself.
package etcdtest

import (
	"context"

	"net"
	"net/url"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// startTimeout bounds how long Start waits for the server to be ready.
const startTimeout = 30 * time.Second

// Server is a running embedded etcd server that the test owns.
type Server struct {
	// Endpoint is the client URL, always on 127.0.0.1.
	Endpoint string
	etcd     *embed.Etcd
}

// Start starts an etcd server with an empty keyspace and fails the test
// if it is not ready within startTimeout.
func Start(t testing.TB) *Server {
	t.Helper()
	cfg := embed.NewConfig()
	cfg.Name = "test"
	cfg.Dir = t.TempDir()
	// The server logs errors while it shuts down, which would only
	// clutter the test output.
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	clientURL := freeURL(t)
	peerURL := freeURL(t)
	cfg.ListenClientUrls = []url.URL{clientURL}
	cfg.AdvertiseClientUrls = []url.URL{clientURL}
	cfg.ListenPeerUrls = []url.URL{peerURL}
	cfg.AdvertisePeerUrls = []url.URL{peerURL}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)

	e, err := embed.StartEtcd(cfg)
	if err != nil {
		t.Fatalf("start embedded etcd: %v", err)
	}
	t.Cleanup(e.Close)
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		t.Fatalf("embedded etcd failed: %v", err)
	case <-time.After(startTimeout):
		t.Fatalf("embedded etcd not ready after %s", startTimeout)
	}
	return &Server{Endpoint: clientURL.String(), etcd: e}
}

// Client returns a client of the server that is closed when the test
// ends.
func (s *Server) Client(t testing.TB) *clientv3.Client {
	t.Helper()
	c, err := clientv3.New(clientv3.Config{
		Endpoints:   []string{s.Endpoint},
		DialTimeout: 5 * time.Second,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		t.Fatalf("connect to etcd %s: %v", s.Endpoint, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Compact compacts the server's history up to its current revision and
// returns that revision.
func (s *Server) Compact(t testing.TB) int64 {
	t.Helper()
	ctx := context.Background()
	c := s.Client(t)
	resp, err := c.Get(ctx, "\x00", clientv3.WithFromKey(),
		clientv3.WithCountOnly())
	if err != nil {
		t.Fatalf("get etcd revision: %v", err)
	}
	rev := resp.Header.Revision
	if _, err := c.Compact(ctx, rev, clientv3.WithCompactPhysical()); err != nil {
		t.Fatalf("compact etcd at revision %d: %v", rev, err)
	}
	return rev
}

// freeURL returns an http URL on a port of 127.0.0.1 that was free a
// moment ago.
func freeURL(t testing.TB) url.URL {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	addr := l.Addr().String()
	l.Close()
	return url.URL{Scheme: "http", Host: addr}
}
