package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/lifeline-backup/lifeline/internal/config"
	"github.com/lifeline-backup/lifeline/internal/metrics"
	"github.com/lifeline-backup/lifeline/internal/schedule"
	"github.com/lifeline-backup/lifeline/internal/source/redis/redistest"
)

// newMarker returns a random text that can only appear in a repository
// if lifeline stored it in plain.
func newMarker(t *testing.T, what string) string {
	t.Helper()
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "mark" + what + hex.EncodeToString(b)
}

// encodings returns the forms in which a marker must not appear: plain,
// base64 (standard and URL, padded and raw, at each of the three byte
// alignments) and hex.
func encodings(marker string) map[string][]byte {
	out := map[string][]byte{"plain": []byte(marker),
		"hex": []byte(hex.EncodeToString([]byte(marker)))}
	for shift := range 3 {
		s := []byte(strings.Repeat("x", shift) + marker)
		for name, enc := range map[string]*base64.Encoding{
			"base64": base64.StdEncoding, "base64url": base64.URLEncoding,
		} {
			e := enc.EncodeToString(s)
			// Drop the characters that depend on the prefix and the
			// padding, keeping those that encode the marker alone.
			skip := (shift*8 + 5) / 6
			body := strings.TrimRight(e, "=")[skip:]
			body = body[:len(body)-2]
			out[fmt.Sprintf("%s@%d", name, shift)] = []byte(body)
		}
	}
	return out
}

// scanRepository fails the test if any file under dir contains a
// marker in any of its encodings, and checks file and folder modes.
func scanRepository(t *testing.T, dir string, markers []string) int {
	t.Helper()
	files := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry,
		err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if d.IsDir() {
			if info.Mode().Perm() != 0o700 {
				t.Errorf("folder %s has mode %o, want 700", rel,
					info.Mode().Perm())
			}
			return nil
		}
		files++
		if info.Mode().Perm() != 0o600 {
			t.Errorf("file %s has mode %o, want 600", rel, info.Mode().Perm())
		}
		body, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range markers {
			for name, enc := range encodings(m) {
				if bytes.Contains(body, enc) {
					t.Errorf("object %s contains the marker %s (%s)", rel,
						m, name)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("scan %s: %v", dir, err)
	}
	return files
}

// TestE2E_NoPlaintextInRepository backs up marked records from a bbolt
// file and a Redis server, with gzip and then zstd, full and
// incremental, and finds none of the marks in any stored byte.
func TestE2E_NoPlaintextInRepository(t *testing.T) {
	e := newE2E(t)
	var markers []string
	mark := func(what string) string {
		m := newMarker(t, what)
		markers = append(markers, m)
		return m
	}
	boltPath := filepath.Join(e.dir, "app.db")
	bucket, key, value := mark("bucket"), mark("key"), mark("value")
	nested := mark("nested")
	db, err := bbolt.Open(boltPath, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucket([]byte(bucket))
		if err != nil {
			return err
		}
		if err := b.Put([]byte(key), []byte(value)); err != nil {
			return err
		}
		n, err := b.CreateBucket([]byte(nested))
		if err != nil {
			return err
		}
		return n.Put([]byte("k"), []byte(value+value))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	srv := redistest.Start(t)
	rc := srv.Client(t)
	ctx := t.Context()
	rkey, rvalue, hfield := mark("rkey"), mark("rvalue"), mark("hfield")
	if err := rc.Set(ctx, rkey, rvalue, time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rc.HSet(ctx, mark("hash"), hfield, rvalue).Err(); err != nil {
		t.Fatal(err)
	}
	source := mark("src")
	dir, url := e.localRepo()
	for i, comp := range []string{"gzip", "zstd"} {
		e.writeConfigText(fmt.Sprintf("repository:\n  url: %s\n"+
			"compression: %s\nkeys:\n  - id: k1\n    env: %s\nsources:\n"+
			"  - name: %s\n    type: bolt\n    path: %s\n"+
			"  - name: cache\n    type: redis\n    url: %s\n",
			url, comp, keyEnv, source, boltPath, srv.URL(0)))
		if i == 0 {
			e.mustRun("init")
		}
		e.mustRun("backup", "--tier", "full")
		if err := rc.Set(ctx, rkey, rvalue+"2", time.Hour).Err(); err != nil {
			t.Fatal(err)
		}
		e.mustRun("backup", "--tier", "incremental")
	}
	e.mustRun("drill", "--source", source)
	files := scanRepository(t, dir, markers)
	if files < 10 {
		t.Fatalf("scanned %d files, want a repository with backups", files)
	}
	t.Logf("scanned %d objects for %d markers", files, len(markers))
}

// TestE2E_ServeHTTPLimits checks the timeouts and size limits of the
// /metrics and /healthz server, sends an oversize request, and looks for
// secrets in what both endpoints return.
func TestE2E_ServeHTTPLimits(t *testing.T) {
	secret := newMarker(t, "secret")
	d := &daemon{cfg: &config.Config{}, metrics: metrics.New(),
		log:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		clock: schedule.RealClock(), started: time.Now()}
	d.cfg.Serve.Listen = "127.0.0.1:0"
	d.metrics.Backup("cache", "full", time.Second, 10, 100, nil, time.Now())
	srv, err := d.listen(http.NotFoundHandler())
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer srv.Shutdown(context.Background())
	for name, v := range map[string]time.Duration{
		"ReadHeaderTimeout": srv.ReadHeaderTimeout,
		"ReadTimeout":       srv.ReadTimeout,
		"WriteTimeout":      srv.WriteTimeout,
		"IdleTimeout":       srv.IdleTimeout,
	} {
		if v <= 0 {
			t.Errorf("%s is not set", name)
		}
	}
	if srv.MaxHeaderBytes <= 0 || srv.MaxHeaderBytes > 1<<20 {
		t.Errorf("MaxHeaderBytes = %d, want a limit up to 1 MiB",
			srv.MaxHeaderBytes)
	}
	base := "http://" + srv.Addr
	for _, path := range []string{"/metrics", "/healthz"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %s", path, resp.Status)
		}
		if strings.Contains(string(body), secret) ||
			strings.Contains(string(body), keyEnv) {
			t.Errorf("GET %s returns a secret", path)
		}
	}
	// A body over the limit is cut off: the server never reads it all.
	big := strings.NewReader(strings.Repeat("x", 1<<20))
	resp, err := http.Post(base+"/healthz", "text/plain", big)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode < 400 {
			t.Errorf("POST of 1 MiB to /healthz: %s, want an error",
				resp.Status)
		}
	}
	conn, err := net.Dial("tcp", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n",
		strings.Repeat("y", 2<<20))
	reply, _ := io.ReadAll(io.LimitReader(conn, 4096))
	if !bytes.Contains(reply, []byte("431")) &&
		!bytes.Contains(reply, []byte("400")) {
		t.Errorf("a 2 MiB header got %q, want 431 or 400",
			firstLine(reply))
	}
}

func firstLine(b []byte) string {
	line, _, _ := strings.Cut(string(b), "\n")
	return line
}

// TestE2E_UnsupportedOptionsRejected checks that options lifeline does
// not support make the config invalid instead of being ignored.
func TestE2E_UnsupportedOptionsRejected(t *testing.T) {
	e := newE2E(t)
	_, url := e.localRepo()
	keys := "keys:\n  - id: k1\n    env: " + keyEnv + "\n"
	for name, tc := range map[string]struct{ text, want string }{
		"top-level encryption": {
			"repository:\n  url: " + url + "\n" + keys +
				"encryption: none\n", "encryption"},
		"repository field": {
			"repository:\n  url: " + url + "\n  encryption: none\n" + keys,
			"encryption"},
		"key field": {
			"repository:\n  url: " + url + "\nkeys:\n  - id: k1\n    env: " +
				keyEnv + "\n    value: c2VjcmV0\n", "value"},
		"compression none": {
			"repository:\n  url: " + url + "\n" + keys +
				"compression: none\n", "compression"},
	} {
		t.Run(name, func(t *testing.T) {
			e.t = t
			e.writeConfigText(tc.text)
			msg := e.mustFail("init")
			wantContains(t, "config error", msg, tc.want, "line ")
			if _, err := os.Stat(filepath.Join(e.dir, "repo")); err == nil {
				t.Errorf("a rejected config created the repository")
			}
		})
	}
}

// TestMarkerEncodingsFindBase64 checks that the scan finds a marker
// base64-encoded at any offset inside other data, so a clean scan means
// something.
func TestMarkerEncodingsFindBase64(t *testing.T) {
	marker := newMarker(t, "probe")
	for offset := range 3 {
		data := []byte(strings.Repeat("\x00\xff", offset) + "[" + marker +
			"]" + strings.Repeat("z", offset))
		for _, enc := range []*base64.Encoding{base64.StdEncoding,
			base64.URLEncoding, base64.RawStdEncoding} {
			stream := []byte(enc.EncodeToString(data))
			found := false
			for _, form := range encodings(marker) {
				found = found || bytes.Contains(stream, form)
			}
			if !found {
				t.Errorf("marker at offset %d not found in %s", offset,
					stream)
			}
		}
	}
}
