package httpsnap_test

import (
	"testing"

	"github.com/lifeline-backup/lifeline/internal/source"
	"github.com/lifeline-backup/lifeline/internal/source/httpsnap/snaptest"
	"github.com/lifeline-backup/lifeline/internal/source/sourcetest"
)

func TestConformance(t *testing.T) {
	// Subtests run one at a time, so Delete acts on the server of the
	// subtest that New started last.
	const token = "conformance-token-7f3a9c"
	var current *snaptest.Server
	sourcetest.Run(t, sourcetest.Harness{
		New: func(t *testing.T) (source.Source, string) {
			current = snaptest.StartWithToken(t, "conformance", token)
			return newSource(t, current, "conformance"), "conformance"
		},
		Delete: func(_ *testing.T, _ string, key []byte) {
			current.Delete(key)
		},
		Secrets: []string{token},
		Caps: sourcetest.Caps{
			BinaryKeys:   true,
			BinaryValues: true,
			EmptyValues:  true,
			EmptyKeys:    true,
			Metadata:     true,
			Expiry:       true,
			MaxKeyLen:    64 << 10,
		},
	})
}
