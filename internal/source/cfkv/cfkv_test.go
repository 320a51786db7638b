package cfkv

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lifeline-backup/lifeline/internal/source"
	"github.com/lifeline-backup/lifeline/internal/source/cfkv/cftest"
)

func TestNew_Validates(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no account", Config{Token: "t"}, "missing account id"},
		{"no token", Config{AccountID: "a"}, "missing api token"},
		{"bad url", Config{AccountID: "a", Token: "t", BaseURL: "ftp://x"},
			"invalid base url"},
		{"empty namespace", Config{AccountID: "a", Token: "t",
			Namespaces: []string{""}}, "namespace 0 is empty"},
		{"twice", Config{AccountID: "a", Token: "t",
			Namespaces: []string{"x", "x"}}, `namespace "x" listed twice`},
		{"concurrency", Config{AccountID: "a", Token: "t", Concurrency: -1},
			"invalid concurrency"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New: error %v, want one containing %q", err,
					tc.want)
			}
		})
	}
}

func TestNamespaces_PagesAndResolves(t *testing.T) {
	srv := newServer(t)
	var ids []string
	for i := range 150 {
		ids = append(ids, srv.CreateNamespace(fmt.Sprintf("ns-%03d", i)))
	}
	srv.Put(ids[149], "k", cftest.Entry{Value: []byte("last")})
	s, _ := newSource(t, srv, nil)

	names, err := s.Namespaces(t.Context())
	if err != nil {
		t.Fatalf("Namespaces: %v", err)
	}
	if len(names) != 150 || !slices.Contains(names, "ns-149") {
		t.Fatalf("Namespaces() returned %d names, want 150 with ns-149",
			len(names))
	}
	for _, name := range []string{"ns-149", ids[149]} {
		recs := readAll(t, s, name)
		if len(recs) != 1 || string(recs[0].Value) != "last" {
			t.Errorf("Read(%q) = %d records, want the one of ns-149",
				name, len(recs))
		}
	}
}

func TestRead_UnconfiguredNamespace(t *testing.T) {
	srv := newServer(t)
	srv.CreateNamespace("a")
	srv.CreateNamespace("b")
	s, _ := newSource(t, srv, func(c *Config) {
		c.Namespaces = []string{"a"}
	})
	_, err := s.Read(t.Context(), "b")
	if !errors.Is(err, source.ErrUnknownNamespace) {
		t.Errorf("Read of an unconfigured namespace: error %v, want "+
			"ErrUnknownNamespace", err)
	}
}

func TestRead_RetriesServerErrors(t *testing.T) {
	srv := newServer(t)
	id := srv.CreateNamespace("ns")
	srv.Put(id, "k", cftest.Entry{Value: []byte("v")})
	s, sl := newSource(t, srv, nil)
	srv.SetFaults(cftest.Faults{ServerErrors: 2})

	recs := readAll(t, s, "ns")
	if len(recs) != 1 {
		t.Errorf("read %d records, want 1", len(recs))
	}
	want := []time.Duration{time.Second, 2 * time.Second}
	if got := sl.recorded(); !slices.Equal(got, want) {
		t.Errorf("waits = %v, want %v", got, want)
	}
}

func TestRead_GivesUpWithoutToken(t *testing.T) {
	srv := newServer(t)
	id := srv.CreateNamespace("ns")
	srv.Put(id, "k", cftest.Entry{Value: []byte("v")})
	s, sl := newSource(t, srv, nil)
	if _, err := s.Namespaces(t.Context()); err != nil {
		t.Fatalf("Namespaces: %v", err)
	}
	srv.SetFaults(cftest.Faults{ServerErrors: 1000})

	_, err := s.Read(t.Context(), "ns")
	if err == nil {
		t.Fatal("Read through endless 500 responses returned no error")
	}
	for _, want := range []string{`"ns"`, "HTTP 500", "error 10001",
		"6 attempts"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	checkNoToken(t, "Read error", err.Error())
	if n := len(sl.recorded()); n != maxAttempts-1 {
		t.Errorf("waited %d times, want %d", n, maxAttempts-1)
	}
}

func TestRead_WrongTokenError(t *testing.T) {
	srv := newServer(t)
	srv.CreateNamespace("ns")
	s, _ := newSource(t, srv, func(c *Config) {
		c.Token = testToken + "-wrong"
	})
	_, err := s.Read(t.Context(), "ns")
	if err == nil {
		t.Fatal("Read with a wrong token returned no error")
	}
	if !strings.Contains(err.Error(), "HTTP 403: error 10000: "+
		"Authentication error") {
		t.Errorf("error %q does not carry Cloudflare's code and message",
			err)
	}
	checkNoToken(t, "Read error", err.Error())
	checkNoToken(t, "Describe()", s.Describe())
	if srv.Stats().AuthFailures != 1 {
		t.Errorf("server saw %d failed authentications, want 1",
			srv.Stats().AuthFailures)
	}
}

func TestConfig_PrintsNoToken(t *testing.T) {
	cfg := Config{Name: "kv", AccountID: "acct", Token: testToken}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		checkNoToken(t, "Config printed with "+verb,
			fmt.Sprintf(verb, cfg))
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		checkNoToken(t, "Source printed with "+verb, fmt.Sprintf(verb, s))
	}
	var b strings.Builder
	slog.New(slog.NewTextHandler(&b, nil)).Info("source", "config", cfg)
	checkNoToken(t, "slog output", b.String())
}

func TestNewLimiter_StaysUnderLimit(t *testing.T) {
	for _, n := range []int{2, 10, 1200, 100000} {
		l := newLimiter(n)
		perPeriod := float64(l.Burst()) +
			float64(l.Limit())*RatePeriod.Seconds()
		if perPeriod > float64(n)+1e-6 {
			t.Errorf("newLimiter(%d) lets %.2f requests through per "+
				"period", n, perPeriod)
		}
		if perPeriod < 0.9*float64(n) {
			t.Errorf("newLimiter(%d) lets only %.2f requests through "+
				"per period", n, perPeriod)
		}
	}
	if newLimiter(-1) != nil {
		t.Error("newLimiter(-1) returned a limiter, want none")
	}
}
