package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lifeline-backup/lifeline/internal/blob/s3"
)

// keyEnv is the environment variable that contains the key "k1" in every
// configuration written by the end-to-end tests.
const keyEnv = "LIFELINE_KEY_K1"

// e2e is one end-to-end scenario: a configuration file in a temporary
// folder and the secrets that must never show in the command's output.
type e2e struct {
	t      *testing.T
	dir    string
	config string
	// secrets lists key material and credentials that no command may
	// print, on standard output or standard error.
	secrets []string
}

// result is the outcome of one command.
type result struct {
	args   []string
	code   int
	stdout string
	stderr string
}

// newE2E creates a scenario in a new temporary folder, generates the key
// k1 with 'lifeline keys generate' and exports it in keyEnv.
func newE2E(t *testing.T) *e2e {
	t.Helper()
	e := &e2e{t: t, dir: t.TempDir()}
	e.config = filepath.Join(e.dir, "lifeline.yaml")
	e.setKey(e.generateKey())
	return e
}

// generateKey runs 'lifeline keys generate' and returns the new key.
func (e *e2e) generateKey() string {
	e.t.Helper()
	var stdout, stderr bytes.Buffer
	code := run([]string{"keys", "generate"}, &stdout, &stderr)
	if code != exitOK {
		e.t.Fatalf("keys generate: exit code %d, stderr: %s", code,
			stderr.String())
	}
	key := strings.TrimSpace(stdout.String())
	if key == "" {
		e.t.Fatal("keys generate printed nothing")
	}
	e.secrets = append(e.secrets, key)
	return key
}

// setKey exports key as the value of the key k1.
func (e *e2e) setKey(key string) {
	e.t.Helper()
	e.t.Setenv(keyEnv, key)
}

// addSecret records a value that no command output may contain.
func (e *e2e) addSecret(s string) {
	e.secrets = append(e.secrets, s)
}

// localRepo returns the folder of a local repository inside the
// scenario's folder and its file:// URL.
func (e *e2e) localRepo() (dir, url string) {
	dir = filepath.Join(e.dir, "repo")
	return dir, "file://" + dir
}

// writeConfig writes the configuration file: repository is the body of
// the repository: section, sources the items of the sources: list, each
// as YAML lines.
func (e *e2e) writeConfig(repository string, sources ...string) {
	e.t.Helper()
	var b strings.Builder
	b.WriteString("repository:\n")
	b.WriteString(indent(repository, "  "))
	b.WriteString("keys:\n  - id: k1\n    env: " + keyEnv + "\n")
	b.WriteString("sources:\n")
	for _, s := range sources {
		b.WriteString(indent(s, "    "))
	}
	e.writeConfigText(b.String())
}

// writeConfigText writes text as the configuration file.
func (e *e2e) writeConfigText(text string) {
	e.t.Helper()
	if err := os.WriteFile(e.config, []byte(text), 0o600); err != nil {
		e.t.Fatalf("write config: %v", err)
	}
}

// indent prefixes every line of text with prefix. With the four-space
// prefix of a list item, the first line starts with "  - " instead.
func indent(text, prefix string) string {
	var b strings.Builder
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	for i, line := range lines {
		if i == 0 && len(prefix) == 4 {
			b.WriteString("  - " + line + "\n")
			continue
		}
		b.WriteString(prefix + line + "\n")
	}
	return b.String()
}

// fileRepository returns the repository: section of a local repository.
func fileRepository(url string) string {
	return "url: " + url + "\n"
}

// s3Repository returns the repository: section of a repository in the
// bucket of cfg under prefix.
func s3Repository(cfg s3.Config, prefix string) string {
	return "url: s3://" + cfg.Bucket + "/" + prefix + "\n" +
		"endpoint: " + cfg.Endpoint + "\n" +
		"region: " + cfg.Region + "\n" +
		"path_style: true\n"
}

// setS3Credentials exports the S3 credentials that lifeline reads and
// records the secret key as a secret.
func (e *e2e) setS3Credentials(accessKey, secretKey string) {
	e.t.Helper()
	e.t.Setenv("AWS_ACCESS_KEY_ID", accessKey)
	e.t.Setenv("AWS_SECRET_ACCESS_KEY", secretKey)
	e.addSecret(secretKey)
}

// redisSource returns the YAML of a Redis source with the default
// namespace "all" (every key of the URL's database).
func redisSource(name, url string) string {
	return fmt.Sprintf("name: %s\ntype: redis\nurl: %s\n", name, url)
}

// boltSource returns the YAML of a bbolt source with every top-level
// bucket as a namespace.
func boltSource(name, path string) string {
	return fmt.Sprintf("name: %s\ntype: bolt\npath: %s\n", name, path)
}

// run runs one lifeline command with the scenario's configuration and
// JSON logs. It fails the test when the output contains a secret, a
// panic or a stack trace.
func (e *e2e) run(command ...string) result {
	e.t.Helper()
	args := append([]string{}, command[0])
	args = append(args, "--config", e.config, "--log-format", "json")
	args = append(args, command[1:]...)
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	res := result{args: command, code: code, stdout: stdout.String(),
		stderr: stderr.String()}
	e.checkOutput(res)
	return res
}

// checkOutput fails the test for a secret, panic or stack trace in the
// output of res.
func (e *e2e) checkOutput(res result) {
	e.t.Helper()
	for _, s := range e.secrets {
		if s == "" {
			continue
		}
		if strings.Contains(res.stdout, s) {
			e.t.Errorf("%v: standard output contains a secret", res.args)
		}
		if strings.Contains(res.stderr, s) {
			e.t.Errorf("%v: standard error contains a secret", res.args)
		}
	}
	for _, bad := range []string{"goroutine ", "panic", ".go:"} {
		if strings.Contains(res.stderr, bad) {
			e.t.Errorf("%v: standard error contains %q:\n%s", res.args,
				bad, res.stderr)
		}
	}
}

// mustRun runs a command and fails the test unless it exits 0.
func (e *e2e) mustRun(command ...string) result {
	e.t.Helper()
	res := e.run(command...)
	if res.code != exitOK {
		e.t.Fatalf("%v: exit code %d, want 0\nstderr: %s\nstdout: %s",
			command, res.code, res.stderr, res.stdout)
	}
	return res
}

// mustFail runs a command that must fail: a non-zero exit code and
// exactly one line on standard error, starting with "lifeline: ". It
// returns that line.
func (e *e2e) mustFail(command ...string) string {
	e.t.Helper()
	res := e.run(command...)
	if res.code == exitOK {
		e.t.Fatalf("%v: exit code 0, want a failure\nstdout: %s",
			command, res.stdout)
	}
	e.t.Logf("%v: exit code %d, stderr: %s", command, res.code, res.stderr)
	lines := strings.Split(strings.TrimRight(res.stderr, "\n"), "\n")
	if len(lines) != 1 {
		e.t.Errorf("%v: standard error has %d lines, want 1:\n%s",
			command, len(lines), res.stderr)
	}
	if !strings.HasPrefix(res.stderr, "lifeline: ") {
		e.t.Errorf("%v: standard error = %q, want a message starting "+
			"with \"lifeline: \"", command, res.stderr)
	}
	return res.stderr
}

// wantContains fails the test unless msg contains every one of want.
func wantContains(t *testing.T, what, msg string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("%s = %q, want it to contain %q", what, msg, w)
		}
	}
}

// logLines decodes the JSON log lines of a command's standard output.
func logLines(t *testing.T, stdout string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(stdout))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

// logLine returns the first log line with the message msg.
func logLine(t *testing.T, stdout, msg string) map[string]any {
	t.Helper()
	for _, m := range logLines(t, stdout) {
		if m["msg"] == msg {
			return m
		}
	}
	t.Fatalf("no log line %q in output:\n%s", msg, stdout)
	return nil
}

// logCount returns the numeric field name of a log line.
func logCount(t *testing.T, line map[string]any, name string) int64 {
	t.Helper()
	v, ok := line[name].(float64)
	if !ok {
		t.Fatalf("log line %v has no number %q", line, name)
	}
	return int64(v)
}

// moduleRoot returns the folder of go.mod above the working directory.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
}

// sharedData returns the path of a file under the shared test data
// folder next to the module root.
func sharedData(t *testing.T, elem ...string) string {
	t.Helper()
	parts := append([]string{moduleRoot(t), "..", "shared", "data"},
		elem...)
	return filepath.Join(parts...)
}
