package repo

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

// fuzzManifestID is the backup id the fuzzed manifests are opened as.
const fuzzManifestID = "20260101T000000Z-0badf00d"

// FuzzDecodeManifest decodes arbitrary manifest text: it must either
// fail with ErrDamaged or give a manifest of the right backup that
// encodes and decodes to itself.
func FuzzDecodeManifest(f *testing.F) {
	f.Add([]byte(`{"version":1,"id":"` + fuzzManifestID + `","tier":"full",` +
		`"time":"2026-01-01T00:00:00Z","namespaces":[{"source":"app",` +
		`"type":"bolt","namespace":"users","chunks":[{"name":"data/ab/ab",` +
		`"records":2,"size":90}],"records":2,"raw_bytes":20,"hash":"00"}]}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"id":"` + fuzzManifestID + `","namespaces":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := decodeManifest(fuzzManifestID, data)
		if err != nil {
			if !errors.Is(err, ErrDamaged) {
				t.Fatalf("error %v is not ErrDamaged", err)
			}
			return
		}
		if m.ID != fuzzManifestID {
			t.Fatalf("manifest of backup %q accepted", m.ID)
		}
		m.StoredBytes()
		m.Records()
		m.Sources()
		once, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("encode a decoded manifest: %v", err)
		}
		again, err := decodeManifest(fuzzManifestID, once)
		if err != nil {
			t.Fatalf("decode an encoded manifest: %v", err)
		}
		twice, err := json.Marshal(again)
		if err != nil || !bytes.Equal(once, twice) {
			t.Fatalf("manifest changes on a round trip:\n%s\n%s", once,
				twice)
		}
	})
}
