package main

import (
	"fmt"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// configKey is one item of the keys: list of a configuration.
type configKey struct{ id, env string }

// keyScenario is a local repository of one bbolt source "app" with
// backups under key k1 and then under a key from 'keys rotate', and an
// empty bbolt target "copy" for restores.
type keyScenario struct {
	*e2e
	repoDir, url, appPath string
	keys                  []configKey
	// rotated is the key that 'keys rotate' printed.
	rotated configKey
	// ids lists the backups oldest first, and contents what each contains.
	ids      []string
	contents map[string]map[string]string
	restores int
}

// writeKeysConfig writes the configuration with the keys of s.keys and
// the bbolt file copyPath as source "copy".
func (s *keyScenario) writeKeysConfig(copyPath string) {
	s.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "repository:\n  url: %s\nkeys:\n", s.url)
	for _, k := range s.keys {
		fmt.Fprintf(&b, "  - id: %s\n    env: %s\n", k.id, k.env)
	}
	b.WriteString("sources:\n")
	b.WriteString(indent(boltSource("app", s.appPath), "    "))
	b.WriteString(indent(boltSource("copy", copyPath), "    "))
	s.writeConfigText(b.String())
}

// setKeys makes keys the keyring of the configuration.
func (s *keyScenario) setKeys(keys ...configKey) {
	s.t.Helper()
	s.keys = keys
	s.writeKeysConfig(filepath.Join(s.dir, "unused.db"))
}

// backup changes the source for hour h, takes a backup of tier and
// records its id and content.
func (s *keyScenario) backup(h int, tier string) {
	s.t.Helper()
	content := changeBolt(s.t, s.appPath, h)
	s.mustRun("backup", "--tier", tier, "--source", "app")
	ids := s.backupIDs()
	if len(ids) != len(s.ids)+1 {
		s.t.Fatalf("snapshots lists %d backups, want %d", len(ids),
			len(s.ids)+1)
	}
	for _, id := range ids {
		if _, ok := s.contents[id]; !ok {
			s.ids = append(s.ids, id)
			s.contents[id] = content
		}
	}
}

// restoreRun runs 'restore --snapshot id --to copy' into a new bbolt
// file and returns the result and the file's path.
func (s *keyScenario) restoreRun(id string) (result, string) {
	s.t.Helper()
	s.restores++
	path := filepath.Join(s.dir, fmt.Sprintf("copy-%d.db", s.restores))
	s.writeKeysConfig(path)
	return s.run("restore", "--snapshot", id, "--to", "copy"), path
}

// wantRestores restores every backup into a new file and compares it
// with the content the backup was taken of.
func (s *keyScenario) wantRestores() {
	s.t.Helper()
	for _, id := range s.ids {
		res, path := s.restoreRun(id)
		if res.code != exitOK {
			s.t.Errorf("restore %s: exit code %d, stderr: %s", id,
				res.code, res.stderr)
			continue
		}
		got := readBoltBucket(s.t, path)
		if want := s.contents[id]; !maps.Equal(got, want) {
			s.t.Errorf("backup %s restores %v, want %v", id, got, want)
		}
	}
}

var (
	rotatedKeyRE = regexp.MustCompile(`(?m)^New key (\S+?)\. `)
	exportRE     = regexp.MustCompile(`(?m)^\s*export (\w+)=(\S+)$`)
)

// rotate runs 'keys rotate', exports the printed key in the printed
// variable and returns it. It checks that the printed config lines name
// the key and the variable.
func (s *keyScenario) rotate() configKey {
	s.t.Helper()
	out := s.mustRun("keys", "rotate").stdout
	idMatch := rotatedKeyRE.FindStringSubmatch(out)
	exportMatch := exportRE.FindStringSubmatch(out)
	if idMatch == nil || exportMatch == nil {
		s.t.Fatalf("keys rotate output has no key id or export line:\n%s",
			out)
	}
	k := configKey{id: idMatch[1], env: exportMatch[1]}
	wantContains(s.t, "keys rotate output", out, "keys:\n",
		"  - id: "+k.id+"\n", "    env: "+k.env+"\n")
	// Only rotate may print the new key, so from here on it is a secret.
	s.addSecret(exportMatch[2])
	s.t.Setenv(k.env, exportMatch[2])
	return k
}

// newKeyScenario makes two backups under k1, rotates, puts the new key
// first in the keyring and makes a third backup, an incremental that
// builds on the second.
func newKeyScenario(t *testing.T) *keyScenario {
	t.Helper()
	s := &keyScenario{e2e: newE2E(t),
		contents: map[string]map[string]string{}}
	s.repoDir, s.url = s.localRepo()
	s.appPath = filepath.Join(s.dir, "app.db")
	k1 := configKey{id: "k1", env: keyEnv}
	s.setKeys(k1)
	s.mustRun("init")
	s.backup(0, "full")
	s.backup(1, "incremental")

	s.rotated = s.rotate()
	if s.rotated.id == "k1" {
		t.Fatalf("keys rotate printed key id k1, which is in use")
	}
	s.setKeys(s.rotated, k1)
	s.backup(2, "incremental")
	return s
}

// keyStatus runs 'keys status' and returns its rows by key id, each as
// its whitespace-separated fields.
func (s *keyScenario) keyStatus() map[string][]string {
	s.t.Helper()
	out := s.mustRun("keys", "status").stdout
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "KEY") {
		s.t.Fatalf("keys status output has no header:\n%s", out)
	}
	rows := map[string][]string{}
	for _, line := range lines[1:] {
		fields := strings.Fields(line)
		rows[fields[0]] = fields
	}
	return rows
}

// wantKeyRow fails the test unless the status row of id starts with
// want, the fields after the key id, and contains note.
func (s *keyScenario) wantKeyRow(rows map[string][]string, id string,
	note string, want ...string) {
	s.t.Helper()
	row, ok := rows[id]
	if !ok {
		s.t.Errorf("keys status has no row for %s, rows: %v", id, rows)
		return
	}
	got := row[1:min(len(row), 1+len(want))]
	if !slices.Equal(got, want) {
		s.t.Errorf("keys status row of %s = %q, want it to start with %q",
			id, row[1:], want)
	}
	wantContains(s.t, "keys status note of "+id, strings.Join(row, " "),
		note)
}

func TestE2E_KeyRotationRewrap(t *testing.T) {
	s := newKeyScenario(t)
	k1 := configKey{id: "k1", env: keyEnv}
	rows := s.keyStatus()
	// Columns: in keyring, backups, backups that only this key opens.
	s.wantKeyRow(rows, "k1", "", "true", "2", "2")
	s.wantKeyRow(rows, s.rotated.id, "encrypts new backups",
		"true", "1", "1")

	out := s.mustRun("keys", "rewrap").stdout
	wantContains(t, "keys rewrap output", out,
		fmt.Sprintf("rewrapped 2 backups under key %q", s.rotated.id),
		"removed 2 wraps under other keys")
	rows = s.keyStatus()
	s.wantKeyRow(rows, s.rotated.id, "", "true", "3", "3")
	s.wantKeyRow(rows, "k1", "", "true", "0", "0")

	// Without k1 in the keyring every backup still restores.
	s.setKeys(s.rotated)
	s.wantRestores()

	out = s.mustRun("keys", "retire", "k1").stdout
	wantContains(t, "keys retire output", out, `retired key "k1"; 0 backups`)
	if _, ok := s.keyStatus()["k1"]; ok {
		t.Errorf("keys status still lists k1 after keys retire")
	}
	s.wantRestores()
	s.mustRun("check", "--read-data")

	// A retired key put back in the config opens nothing new, but does
	// no harm.
	s.setKeys(s.rotated, k1)
	s.wantRestores()
}

func TestE2E_KeyMissingWithoutRewrap(t *testing.T) {
	s := newKeyScenario(t)
	k1 := configKey{id: "k1", env: keyEnv}
	s.setKeys(s.rotated)

	// The first two backups, and the third that builds on the second,
	// need k1.
	for _, id := range s.ids {
		res, _ := s.restoreRun(id)
		if res.code == exitOK {
			t.Errorf("restore %s without k1: exit code 0, want a failure",
				id)
			continue
		}
		wantContains(t, "restore "+id+" message", res.stderr, "k1",
			"not in the keyring")
	}

	rows := s.keyStatus()
	s.wantKeyRow(rows, "k1", "missing: its backups cannot be restored",
		"false", "2", "2")
	s.wantKeyRow(rows, s.rotated.id, "encrypts new backups",
		"true", "1", "1")

	msg := s.mustFail("keys", "retire", "k1")
	wantContains(t, "keys retire message", msg, `key "k1"`,
		"2 backups open with no other key", "keys rewrap", "--force")
	wraps := repoObjects(t, s.repoDir, "wraps/")
	if n := countSuffix(wraps, "/k1"); n != 2 {
		t.Errorf("after the rejected retire %d wraps under k1 are left, "+
			"want 2", n)
	}

	out := s.mustRun("keys", "retire", "k1", "--force").stdout
	wantContains(t, "keys retire --force output", out,
		`retired key "k1"; 2 backups that only it opened are now unreadable`)
	wraps = repoObjects(t, s.repoDir, "wraps/")
	if n := countSuffix(wraps, "/k1"); n != 0 {
		t.Errorf("after retire --force %d wraps under k1 are left, want 0",
			n)
	}

	// Even with k1 back in the keyring, its backups stay unreadable.
	s.setKeys(s.rotated, k1)
	for _, id := range s.ids {
		res, _ := s.restoreRun(id)
		if res.code == exitOK {
			t.Errorf("restore %s after retiring k1: exit code 0, want "+
				"a failure", id)
		}
	}
}

// countSuffix returns how many names end with suffix.
func countSuffix(names []string, suffix string) int {
	n := 0
	for _, name := range names {
		if strings.HasSuffix(name, suffix) {
			n++
		}
	}
	return n
}
