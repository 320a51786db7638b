package cfkv

import (
	"testing"
	"time"

	"github.com/lifeline-backup/lifeline/internal/source"
	"github.com/lifeline-backup/lifeline/internal/source/sourcetest"
)

// TestConformance runs the shared source suite against a fresh local
// server per case, so the large-namespace case reads the default
// 100,000 keys.
func TestConformance(t *testing.T) {
	servers := map[string]func(key string){}
	sourcetest.Run(t, sourcetest.Harness{
		New: func(t *testing.T) (source.Source, string) {
			srv := newServer(t)
			id := srv.CreateNamespace("conformance")
			servers[t.Name()] = func(key string) { srv.Delete(id, key) }
			s, _ := newSource(t, srv, nil)
			return s, "conformance"
		},
		Delete: func(t *testing.T, _ string, key []byte) {
			servers[t.Name()](string(key))
		},
		Secrets: []string{testToken},
		Caps: sourcetest.Caps{
			// Workers KV keys are UTF-8 strings.
			BinaryKeys:   false,
			BinaryValues: true,
			// NOTE: the local server accepts empty values, but the API
			// reference does not say whether Cloudflare does.
			EmptyValues: true,
			// Workers KV metadata must be JSON, and the suite writes
			// plain text, which Write leaves out as invalid. The
			// package's own tests round-trip JSON metadata.
			Metadata: false,
			// KV keeps whole Unix seconds. The suite's expiries lie an
			// hour ahead, past Cloudflare's 60-second minimum.
			Expiry:            true,
			ExpiryGranularity: time.Second,
			MaxKeyLen:         MaxKeyBytes,
		},
	})
}
