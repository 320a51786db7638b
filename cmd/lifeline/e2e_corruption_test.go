package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lifeline-backup/lifeline/internal/blob/local"
	"github.com/lifeline-backup/lifeline/internal/repo"
	"github.com/lifeline-backup/lifeline/internal/seal"
)

// damage is one way to harm an object file.
type damage string

const (
	flipAByte    damage = "flip"
	truncateHalf damage = "truncateHalf"
	removeFile   damage = "delete"
)

// apply damages the file at path.
func (d damage) apply(t *testing.T, path string) {
	t.Helper()
	if d == removeFile {
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		return
	}
	body, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if d == flipAByte {
		// Byte 0 of a JSON lock is its brace; elsewhere the middle.
		i := len(body) / 2
		if strings.HasPrefix(string(body), "{") {
			i = 0
		}
		body[i] ^= 0xff
	} else {
		body = body[:len(body)/2]
	}
	if err := os.WriteFile(path, body, 0o600); err != nil {
		t.Fatal(err)
	}
}

// corruptionRepo is the repository every corruption case starts from: a
// full backup F and incrementals I1 and I2 of a bbolt source, a drill
// result and a live lock object of a process that is gone.
type corruptionRepo struct {
	*crashEnv
	repoDir  string
	pristine string
	full     string
	inc1     string
	inc2     string
	objects  map[string]string
}

func newCorruptionRepo(t *testing.T) *corruptionRepo {
	c := &corruptionRepo{crashEnv: newCrashEnvRecords(t, "", 5, 2000)}
	c.repoDir, _ = c.localRepo()
	c.full = c.backupInProcess("full")
	c.inc1 = c.backupInProcess("incremental")
	c.inc2 = c.backupInProcess("incremental")
	c.mustRun("drill", "--source", "app")
	c.objects = c.objectNames()
	c.writeLock()
	c.pristine = filepath.Join(c.dir, "pristine")
	if out, err := exec.Command("cp", "-a", c.repoDir,
		c.pristine).CombinedOutput(); err != nil {
		t.Fatalf("copy repository: %v\n%s", err, out)
	}
	return c
}

// backupInProcess takes one backup with the in-process command and
// records it.
func (c *crashEnv) backupInProcess(tier string) string {
	c.t.Helper()
	c.changeSource()
	state := boltDigest(c.t, c.src)
	res := c.mustRun("backup", "--tier", tier, "--source", "app")
	c.noteCommitted(res.stdout, state)
	return c.order[len(c.order)-1]
}

// objectNames finds one object of each kind in the repository.
func (c *corruptionRepo) objectNames() map[string]string {
	c.t.Helper()
	store, err := local.New(c.repoDir)
	if err != nil {
		c.t.Fatal(err)
	}
	key, err := seal.KeyFromEnv("k1", keyEnv)
	if err != nil {
		c.t.Fatal(err)
	}
	keys, err := seal.NewKeyring(key)
	if err != nil {
		c.t.Fatal(err)
	}
	r, err := repo.Open(c.t.Context(), store, keys)
	if err != nil {
		c.t.Fatal(err)
	}
	entry := func(id string) repo.Namespace {
		s, err := r.LoadSnapshot(c.t.Context(), id)
		if err != nil {
			c.t.Fatal(err)
		}
		e, ok := s.Entry("app", "sessions")
		if !ok || len(e.Chunks) == 0 || len(e.Index) == 0 {
			c.t.Fatalf("backup %s has no chunks of app/sessions", id)
		}
		return e
	}
	drills, err := filepath.Glob(filepath.Join(c.repoDir, "drills", "*", "*"))
	if err != nil || len(drills) != 1 {
		c.t.Fatalf("drill results: %v %v", drills, err)
	}
	drill, _ := filepath.Rel(c.repoDir, drills[0])
	return map[string]string{
		"data chunk of F":  entry(c.full).Chunks[0].Name,
		"data chunk of I1": entry(c.inc1).Chunks[0].Name,
		"index chunk of F": entry(c.full).Index[0].Name,
		"manifest of F":    "snapshots/" + c.full,
		"data key wrap":    "wraps/" + c.full + "/k1",
		"key check":        "keys/k1",
		"lock object":      "locks/20200101T000000.000000000Z-0123456789abcdef",
		"drill result":     filepath.ToSlash(drill),
	}
}

// writeLock stores a live shared lock of a process that is gone.
func (c *corruptionRepo) writeLock() {
	c.t.Helper()
	path := filepath.Join(c.repoDir, c.objects["lock object"])
	body := fmt.Sprintf(`{"exclusive":false,"operation":"backup",`+
		`"host":"gone","pid":1,"created":"2020-01-01T00:00:00Z",`+
		`"expires":%q}`, time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		c.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		c.t.Fatal(err)
	}
}

// reset puts the pristine repository back.
func (c *corruptionRepo) reset() {
	c.t.Helper()
	if err := os.RemoveAll(c.repoDir); err != nil {
		c.t.Fatal(err)
	}
	if out, err := exec.Command("cp", "-a", c.pristine,
		c.repoDir).CombinedOutput(); err != nil {
		c.t.Fatalf("copy repository: %v\n%s", err, out)
	}
}

// corruptionCase is one object kind and what damage to it must cause.
type corruptionCase struct {
	kind string
	// affected are the backups check must name with the object; nil
	// with detect set means an object of no backup.
	affected []string
	// refused maps each backup whose restore must be refused to the
	// backup the refusal must suggest ("" for none).
	refused map[string]string
	// harmless lists damages that lose nothing and that check need not
	// report, with the reason.
	harmless map[damage]string
}

func (c *corruptionRepo) cases() []corruptionCase {
	f, i1, i2 := c.full, c.inc1, c.inc2
	all := map[string]string{f: "", i1: "", i2: ""}
	return []corruptionCase{
		{kind: "data chunk of F", affected: []string{f, i1, i2},
			refused: all},
		{kind: "data chunk of I1", affected: []string{i1, i2},
			refused: map[string]string{i1: f, i2: f}},
		{kind: "index chunk of F", affected: []string{f}},
		{kind: "manifest of F", affected: []string{f, i1, i2},
			refused: all},
		{kind: "data key wrap", affected: []string{f, i1, i2},
			refused: all},
		{kind: "key check", harmless: map[damage]string{
			removeFile: "the next command writes it again"}},
		{kind: "lock object", harmless: map[damage]string{
			removeFile: "a removed lock is an unlocked repository"}},
		{kind: "drill result", harmless: map[damage]string{
			removeFile: "nothing refers to a drill result"}},
	}
}

// TestE2E_Corruption damages each kind of object in turn by flipping a
// byte, truncating it or deleting it. Check must name the object and the
// backups it affects. Restore must refuse those backups and suggest the
// nearest good one, and the other backups must still restore.
func TestE2E_Corruption(t *testing.T) {
	c := newCorruptionRepo(t)
	tried, detected, harmless := 0, 0, 0
	for _, cc := range c.cases() {
		for _, d := range []damage{flipAByte, truncateHalf, removeFile} {
			name := cc.kind + "/" + string(d)
			ok := t.Run(name, func(t *testing.T) {
				parent := c.e2e.t
				c.e2e.t = t
				defer func() { c.e2e.t = parent }()
				c.reset()
				d.apply(t, filepath.Join(c.repoDir, c.objects[cc.kind]))
				if why, ok := cc.harmless[d]; ok {
					t.Logf("harmless: %s", why)
					c.mustRun("check", "--read-data")
				} else {
					c.wantReported(cc)
				}
				c.wantRestores(cc, d)
			})
			tried++
			switch {
			case !ok:
			case cc.harmless[d] != "":
				harmless++
			default:
				detected++
			}
		}
	}
	t.Logf("corruption: %d of %d damaging cases detected, %d harmless "+
		"by design, %d tried", detected, tried-harmless, harmless, tried)
}

// wantReported runs check --read-data and wants it to fail naming the
// object and exactly the affected backups.
func (c *corruptionRepo) wantReported(cc corruptionCase) {
	t := c.t
	t.Helper()
	object := c.objects[cc.kind]
	res := c.run("check", "--read-data")
	if res.code == exitOK {
		t.Fatalf("check passed with %s damaged", object)
	}
	for _, line := range logLines(t, res.stdout) {
		// A backup without any wrap is reported by its wraps folder.
		named, _ := line["object"].(string)
		if named != object && !(strings.HasSuffix(named, "/") &&
			strings.HasPrefix(object, named)) {
			continue
		}
		got := strings.Split(line["backups"].(string), ",")
		if line["backups"] == "" {
			got = nil
		}
		slices.Sort(got)
		want := slices.Clone(cc.affected)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("check names backups %v for %s, want %v", got,
				object, want)
		}
		return
	}
	t.Errorf("check does not name %s:\n%s", object, res.stdout)
}

// wantRestores restores each backup into an empty scratch file: a
// refused one must fail naming a backup and the suggested one, the
// others must give their recorded state.
func (c *corruptionRepo) wantRestores(cc corruptionCase, d damage) {
	t := c.t
	t.Helper()
	for _, id := range []string{c.full, c.inc1, c.inc2} {
		if err := os.RemoveAll(c.scratch); err != nil {
			t.Fatal(err)
		}
		suggest, refused := cc.refused[id]
		if !refused {
			c.restoreEquals(id)
			continue
		}
		msg := c.mustFail("restore", "--snapshot", id, "--to", "scratch")
		if cc.kind == "manifest of F" && d == removeFile && id == c.full {
			wantContains(t, "restore of a removed backup", msg, id,
				"not found")
			continue
		}
		wantContains(t, "refusal", msg, "restore refused, nothing was "+
			"written", "backup ")
		if suggest == "" {
			wantContains(t, "refusal", msg, "no older backup")
		} else {
			wantContains(t, "refusal", msg, "--snapshot "+suggest)
		}
		if boltDigest(t, c.scratch) != boltDigest(t, "") {
			t.Errorf("refused restore of %s wrote to the target", id)
		}
	}
}

// TestE2E_DamagedLockBlocksUntilUnlock shows that a damaged lock object
// stops backups with a message naming it, and that unlock --force
// removes it.
func TestE2E_DamagedLockBlocksUntilUnlock(t *testing.T) {
	c := newCorruptionRepo(t)
	lock := c.objects["lock object"]
	truncateHalf.apply(t, filepath.Join(c.repoDir, lock))
	msg := c.mustFail("backup", "--source", "app")
	wantContains(t, "backup error", msg, lock, "unlock --force")
	res := c.mustRun("unlock", "--force")
	wantContains(t, "unlock output", res.stdout, "damaged lock object "+lock)
	c.backupInProcess("incremental")
	c.mustRun("check", "--read-data")
}
