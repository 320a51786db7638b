package cfkv

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lifeline-backup/lifeline/internal/source"
	"github.com/lifeline-backup/lifeline/internal/source/cfkv/cftest"
)

// testToken is the API token of the test servers. No error or
// description may contain it.
const testToken = "cf-secret-token-7d3b9e41"

const testAccount = "0123456789abcdef0123456789abcdef"

func newServer(t *testing.T) *cftest.Server {
	t.Helper()
	return cftest.New(t, cftest.Options{AccountID: testAccount,
		Token: testToken})
}

// sleeper records the waits that a Source requests instead of waiting.
type sleeper struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *sleeper) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeper) recorded() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

// newSource returns a Source for srv without a rate limit and with
// recorded sleeps. A non-nil edit changes the Config first.
func newSource(t *testing.T, srv *cftest.Server,
	edit func(*Config)) (*Source, *sleeper) {
	t.Helper()
	sl := &sleeper{}
	cfg := Config{
		Name:      "kv",
		AccountID: srv.AccountID,
		Token:     srv.Token,
		BaseURL:   srv.URL,
		RateLimit: -1,
		Sleep:     sl.sleep,
	}
	if edit != nil {
		edit(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, sl
}

// readAll reads a namespace and returns copies of its records.
func readAll(t *testing.T, s *Source, ns string) []source.Record {
	t.Helper()
	ctx := t.Context()
	it, err := s.Read(ctx, ns)
	if err != nil {
		t.Fatalf("Read(%q): %v", ns, err)
	}
	defer it.Close()
	var out []source.Record
	for {
		rec, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("Next after %d records of %q: %v", len(out), ns, err)
		}
		out = append(out, source.Record{
			Key:       bytes.Clone(rec.Key),
			Value:     bytes.Clone(rec.Value),
			Metadata:  bytes.Clone(rec.Metadata),
			ExpiresAt: rec.ExpiresAt,
		})
	}
}

// checkNoToken fails the test when text contains the token.
func checkNoToken(t *testing.T, what, text string) {
	t.Helper()
	if strings.Contains(text, testToken) {
		t.Errorf("%s contains the API token: %s", what, text)
	}
}
