package status

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"time"
)

// request runs an HTTP check.
func (c *check) request(ctx context.Context) observation {
	var body io.Reader
	if c.cfg.Body != "" {
		body = strings.NewReader(c.cfg.Body)
	}
	var conn connTrace
	ctx = httptrace.WithClientTrace(ctx, conn.trace())
	req, err := http.NewRequestWithContext(ctx, c.cfg.Method, c.cfg.URL, body)
	if err != nil {
		return observation{err: err}
	}
	setHeaders(req, c.cfg.Headers)

	start := time.Now()
	resp, err := c.client.Do(req)
	if err != nil {
		return conn.observation(time.Since(start), err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxBodySize))
	obs := conn.observation(time.Since(start), err)
	obs.result.Status = resp.StatusCode
	obs.result.Body = data
	obs.result.Connected = true
	obs.result.CertificateExpiration = certExpiration(resp.TLS)
	return obs
}

// userAgent is sent unless the check sets its own User-Agent.
const userAgent = "lifeline-status"

func setHeaders(req *http.Request, headers map[string]string) {
	req.Header.Set("User-Agent", userAgent)
	for name, value := range headers {
		if strings.EqualFold(name, "Host") {
			req.Host = value
			continue
		}
		req.Header.Set(name, value)
	}
}

// certExpiration returns the time left on the server's certificate, 0
// without TLS.
func certExpiration(state *tls.ConnectionState) time.Duration {
	if state == nil || len(state.PeerCertificates) == 0 {
		return 0
	}
	return time.Until(state.PeerCertificates[0].NotAfter)
}

// connTrace records whether and where an HTTP request connected. The
// transport may call it from its dialing goroutine.
type connTrace struct {
	mu        sync.Mutex
	connected bool
	ip        string
}

func (t *connTrace) trace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		ConnectDone: func(_, addr string, err error) {
			if err != nil {
				return
			}
			t.mu.Lock()
			defer t.mu.Unlock()
			t.connected = true
			t.ip = hostOf(addr)
		},
	}
}

func (t *connTrace) observation(elapsed time.Duration, err error) observation {
	t.mu.Lock()
	defer t.mu.Unlock()
	obs := observation{err: err}
	obs.result.ResponseTime = elapsed
	obs.result.Connected = t.connected
	obs.result.IP = t.ip
	return obs
}

// hostOf returns the host part of a host:port address.
func hostOf(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return host
}

// dial runs a TCP check.
func (c *check) dial(ctx context.Context) observation {
	start := time.Now()
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "tcp", tcpAddress(c.cfg.URL))
	obs := observation{err: err}
	obs.result.ResponseTime = time.Since(start)
	if err != nil {
		return obs
	}
	obs.result.Connected = true
	obs.result.IP = hostOf(conn.RemoteAddr().String())
	_ = conn.Close()
	return obs
}
