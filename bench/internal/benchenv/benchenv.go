// Package benchenv contains the steps that lifeline's benchmark
// programs share: finding the module, building lifeline, creating a
// key, printing progress and writing results.
package benchenv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// ModuleRoot returns the nearest directory at or above the working
// directory that contains go.mod.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find module root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find module root: no go.mod at or " +
				"above the working directory; run from the repository")
		}
		dir = parent
	}
}

// BuildLifeline builds the lifeline command of the module at root into
// dir and returns the binary's path.
func BuildLifeline(ctx context.Context, root, dir string) (string, error) {
	bin := filepath.Join(dir, "lifeline")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin,
		"./cmd/lifeline")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build lifeline: %w\n%s", err, out)
	}
	return bin, nil
}

// GenerateKey runs 'lifeline keys generate' and returns the new key.
func GenerateKey(ctx context.Context, bin string) (string, error) {
	out, err := exec.CommandContext(ctx, bin, "keys", "generate").Output()
	if err != nil {
		return "", fmt.Errorf("lifeline keys generate: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// Progress prints one progress line with the time to standard error.
func Progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s  %s\n", time.Now().Format("15:04:05"),
		fmt.Sprintf(format, args...))
}

// NProc returns the output of nproc, or runtime.NumCPU when it fails.
func NProc(ctx context.Context) int {
	out, err := exec.CommandContext(ctx, "nproc").Output()
	if err != nil {
		return runtime.NumCPU()
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		return runtime.NumCPU()
	}
	return n
}

// WriteJSON writes v as indented JSON to path.
func WriteJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	return nil
}

// Verdict returns PASS, or MISS with the names of the missed targets.
func Verdict(missed ...string) string {
	if len(missed) == 0 {
		return "PASS"
	}
	return "MISS (" + strings.Join(missed, ", ") + ")"
}
