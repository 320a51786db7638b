package httpsnap

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"testing"
	"time"
)

// snapshotBody builds a valid snapshot response body from record lines.
func snapshotBody(lines ...string) []byte {
	var b bytes.Buffer
	b.WriteString(`{"lifeline_snapshot":1,"namespace":"all"}` + "\n")
	h := sha256.New()
	for _, l := range lines {
		b.WriteString(l + "\n")
		h.Write([]byte(l + "\n"))
	}
	b.WriteString(`{"end":true,"records":` +
		string(rune('0'+len(lines))) + `,"sha256":"` +
		hex.EncodeToString(h.Sum(nil)) + `"}` + "\n")
	return b.Bytes()
}

// decodeSnapshot reads a snapshot response body as Read does after the
// request: the header line, then records up to the trailer.
func decodeSnapshot(body []byte) (int, error) {
	it := &iterator{where: "fuzz", namespace: "all", hash: sha256.New(),
		timeout: time.Hour}
	it.idle = time.AfterFunc(time.Hour, func() {})
	defer it.idle.Stop()
	it.lines = newLineReader(bytes.NewReader(body), MaxLineBytes)
	line, err := it.nextLine()
	if err != nil {
		return 0, err
	}
	h, err := parseHeader(line)
	if err != nil {
		return 0, err
	}
	it.announced = h.Records
	n := 0
	for {
		rec, err := it.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		if rec.Key == nil {
			return n, errors.New("record without a key")
		}
		n++
	}
}

// FuzzSnapshotBody decodes arbitrary snapshot responses: a body is
// either rejected or yields at most as many records as its trailer
// counts, and never panics.
func FuzzSnapshotBody(f *testing.F) {
	f.Add(snapshotBody(`{"key":"YQ==","value":"MQ=="}`,
		`{"key":"Yg==","value":"Mg==","expires_at":"2999-01-01T00:00:00Z"}`))
	f.Add(snapshotBody())
	f.Add([]byte(`{"lifeline_snapshot":1,"namespace":"all","records":-1}` +
		"\n"))
	f.Add([]byte(`{"lifeline_snapshot":1}` + "\n" + `{"key":"YQ=="}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		n, err := decodeSnapshot(body)
		if err != nil {
			return
		}
		if n > bytes.Count(body, []byte("\n")) {
			t.Fatalf("%d records from %d lines", n,
				bytes.Count(body, []byte("\n")))
		}
	})
}

// TestDecodeSnapshotSeed makes sure the fuzz seed is a valid body, so
// the fuzzer starts from inputs that reach the record decoder.
func TestDecodeSnapshotSeed(t *testing.T) {
	n, err := decodeSnapshot(snapshotBody(`{"key":"YQ==","value":"MQ=="}`,
		`{"key":"Yg==","value":"Mg=="}`))
	if err != nil || n != 2 {
		t.Fatalf("decode seed: %d records, error %v; want 2 records", n, err)
	}
}
