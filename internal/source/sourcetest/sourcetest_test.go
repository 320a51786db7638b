package sourcetest_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/lifeline-backup/lifeline/internal/source"
	"github.com/lifeline-backup/lifeline/internal/source/sourcetest"
)

// faultEnv names the fault that TestMemorySource builds into the memory
// source, so TestSuiteCatchesFaults can run it in a child process.
const faultEnv = "SOURCETEST_FAULT"

const memorySecret = "memory-secret-7d21"

// TestMemorySource runs the suite on the memory source, which passes
// unless the environment variable faultEnv names a fault.
func TestMemorySource(t *testing.T) {
	fault := os.Getenv(faultEnv)
	var current *memorySource
	sourcetest.Run(t, sourcetest.Harness{
		New: func(t *testing.T) (source.Source, string) {
			current = newMemorySource("memory", memorySecret, fault)
			return current, "memory"
		},
		Delete: func(t *testing.T, namespace string, key []byte) {
			current.remove(key)
		},
		Secrets: []string{memorySecret},
		Caps: sourcetest.Caps{
			BinaryKeys:     true,
			BinaryValues:   true,
			EmptyValues:    true,
			EmptyKeys:      true,
			Metadata:       true,
			Expiry:         true,
			MaxKeyLen:      1 << 16,
			LargeNamespace: 5000,
		},
	})
}

// TestMemorySourceReadOnly runs the suite on a read-only memory source,
// filled through Caps.Seed.
func TestMemorySourceReadOnly(t *testing.T) {
	var current *memorySource
	sourcetest.Run(t, sourcetest.Harness{
		New: func(t *testing.T) (source.Source, string) {
			current = newMemorySource("memory", memorySecret, "")
			current.readOnly = true
			return current, "memory"
		},
		Delete: func(t *testing.T, namespace string, key []byte) {
			current.remove(key)
		},
		Secrets: []string{memorySecret},
		Caps: sourcetest.Caps{
			BinaryKeys:     true,
			BinaryValues:   true,
			EmptyValues:    true,
			Metadata:       true,
			LargeNamespace: 5000,
			ReadOnly:       true,
			Seed: func(t *testing.T, namespace string,
				recs []source.Record) {
				current.seed(recs)
			},
		},
	})
}

// TestSuiteCatchesFaults runs TestMemorySource in a child process once
// per fault and checks that the case meant to catch it fails.
func TestSuiteCatchesFaults(t *testing.T) {
	faults := []struct{ fault, failingCase string }{
		{"keep-overwrites", "KeepExisting"},
		{"tombstone-in-keep", "Tombstones"},
		{"expired-written", "ExpiredSkipped"},
		{"repeat-key", "RoundTrip"},
		{"drop-last", "LargeNamespace"},
		{"drop-metadata", "RoundTrip"},
		{"any-namespace", "UnknownNamespace"},
		{"secret-in-describe", "Describe"},
		{"fail-on-missing", "DeleteDuringRead"},
	}
	for _, f := range faults {
		t.Run(f.fault, func(t *testing.T) {
			cmd := exec.CommandContext(t.Context(), os.Args[0],
				"-test.run=^TestMemorySource$", "-test.v")
			cmd.Env = append(os.Environ(), faultEnv+"="+f.fault)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("suite passed a memory source with fault %q",
					f.fault)
			}
			want := "--- FAIL: TestMemorySource/" + f.failingCase + " "
			if !strings.Contains(string(out), want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		})
	}
}
