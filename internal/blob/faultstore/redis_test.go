package faultstore_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/lifeline-backup/lifeline/internal/backup"
	"github.com/lifeline-backup/lifeline/internal/repo"
	"github.com/lifeline-backup/lifeline/internal/source/redis"
	"github.com/lifeline-backup/lifeline/internal/source/redis/redistest"
)

// resetProxy forwards TCP connections on 127.0.0.1 to a server and
// resets each one after the server has sent budget bytes through it.
type resetProxy struct {
	ln     net.Listener
	target string
	budget int64
	resets atomic.Int64
	wg     sync.WaitGroup
}

func startResetProxy(t *testing.T, target string, budget int64) *resetProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy listen: %v", err)
	}
	p := &resetProxy{ln: ln, target: target, budget: budget}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		ln.Close()
		p.wg.Wait()
	})
	return p
}

func (p *resetProxy) addr() string { return p.ln.Addr().String() }

func (p *resetProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go p.serve(c.(*net.TCPConn))
	}
}

// serve copies both ways until the server has sent the budget, then
// closes the client side with SO_LINGER 0, which sends a reset.
func (p *resetProxy) serve(client *net.TCPConn) {
	defer p.wg.Done()
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		client.Close()
		return
	}
	go func() {
		io.Copy(server, client)
		server.Close()
	}()
	n, err := io.CopyN(client, server, p.budget)
	if err == nil && n == p.budget {
		p.resets.Add(1)
		client.SetLinger(0)
	}
	client.Close()
	server.Close()
}

// TestRedisConnectionReset backs up Redis through a proxy that resets
// the connection midway: the backup fails and says why, and no backup
// or half-written one is visible.
func TestRedisConnectionReset(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client(t)
	pipe := c.Pipeline()
	for i := range 20000 {
		pipe.Set(t.Context(), fmt.Sprintf("key:%06d", i),
			strings.Repeat("v", 100), 0)
	}
	if _, err := pipe.Exec(t.Context()); err != nil {
		t.Fatalf("load keys: %v", err)
	}
	proxy := startResetProxy(t, srv.Addr, 256<<10)
	src, err := redis.New(redis.Config{Name: "cache",
		URL: "redis://" + proxy.addr() + "/0"})
	if err != nil {
		t.Fatalf("redis.New: %v", err)
	}
	defer src.Close()

	e := newEnv(t)
	m, err := e.runBackup(t.Context(), "cache", "redis", src)
	if err == nil {
		t.Fatalf("backup through a resetting proxy succeeded: %s", m.ID)
	}
	t.Logf("backup error: %v", err)
	if proxy.resets.Load() == 0 {
		t.Fatal("the proxy reset no connection")
	}
	if !errors.Is(err, backup.ErrNothingBackedUp) ||
		!strings.Contains(err.Error(), "cache/all") ||
		!strings.Contains(err.Error(), "connection reset") {
		t.Errorf("error %q does not name the namespace and the reset", err)
	}
	if ids := e.snapshotIDs(t); len(ids) != 0 {
		t.Errorf("backups visible after the failure: %v", ids)
	}
	res, err := e.repo.Check(t.Context(), repo.CheckOptions{ReadPercent: 100})
	if err != nil || len(res.Problems) > 0 || res.Backups != 0 {
		t.Errorf("check after the failure: %v %+v", err, res)
	}
}
