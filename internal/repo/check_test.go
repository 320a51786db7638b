package repo

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lifeline-backup/lifeline/internal/source"
)

// checkRepo returns a repository with two committed backups of one
// namespace each, "first" and "second".
func checkRepo(t *testing.T) (tr *testRepo, first, second *Snapshot) {
	t.Helper()
	tr = initRepo(t)
	first = backup(t, tr.Repo, Full, t0, namespaceRecords{name: "db0",
		records: records("first", 100)})
	second = backup(t, tr.Repo, Full, t0.Add(time.Hour),
		namespaceRecords{name: "db0", records: records("second", 100)})
	return tr, first, second
}

func firstEntry(t *testing.T, s *Snapshot) Namespace {
	t.Helper()
	e, ok := s.Entry("cache", "db0")
	if !ok || len(e.Chunks) == 0 || len(e.Index) == 0 {
		t.Fatalf("backup %s has no data and index chunks for cache/db0",
			s.ID)
	}
	return e
}

func check(t *testing.T, tr *testRepo, percent float64) *CheckResult {
	t.Helper()
	res, err := reopen(t, tr).Check(t.Context(),
		CheckOptions{ReadPercent: percent})
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	return res
}

// findProblem returns the problem reported for object, failing the test
// if there is none or if any problem names another object.
func findProblem(t *testing.T, res *CheckResult, object string) Problem {
	t.Helper()
	var found *Problem
	for i, p := range res.Problems {
		if p.Object == object {
			found = &res.Problems[i]
			continue
		}
		t.Errorf("unexpected problem: %v", p)
	}
	if found == nil {
		t.Fatalf("no problem reported for %s; problems: %v", object,
			res.Problems)
	}
	return *found
}

func checkAffects(t *testing.T, p Problem, id string) {
	t.Helper()
	if !slices.Equal(p.Backups, []string{id}) {
		t.Errorf("problem affects %v, want [%s]", p.Backups, id)
	}
	if !strings.Contains(p.Error(), p.Object) || !strings.Contains(
		p.Error(), id) {
		t.Errorf("problem text %q does not name %s and %s", p.Error(),
			p.Object, id)
	}
}

func flipByte(body []byte) []byte {
	body[len(body)/2] ^= 0x40
	return body
}

func TestCheck_Clean(t *testing.T) {
	tr, _, _ := checkRepo(t)
	res := check(t, tr, 100)
	if len(res.Problems) != 0 {
		t.Errorf("problems in a clean repository: %v", res.Problems)
	}
	if res.Backups != 2 {
		t.Errorf("Backups = %d, want 2", res.Backups)
	}
	if res.ObjectsRead != res.ObjectsListed || res.ObjectsRead < 4 {
		t.Errorf("read %d of %d objects, want all and at least 4",
			res.ObjectsRead, res.ObjectsListed)
	}
	// Each record is read once from its data chunk and once from the
	// index.
	if res.RecordsRead != 400 {
		t.Errorf("RecordsRead = %d, want 400", res.RecordsRead)
	}
}

func TestCheck_ReadPercentZero(t *testing.T) {
	tr, first, _ := checkRepo(t)
	chunk := firstEntry(t, first).Chunks[0].Name
	replaceObject(t, tr.store, chunk, flipByte)
	res := check(t, tr, 0)
	if res.ObjectsRead != 0 {
		t.Errorf("ObjectsRead = %d, want 0", res.ObjectsRead)
	}
	// A same-size change goes unseen without reading.
	if len(res.Problems) != 0 {
		t.Errorf("problems without reading: %v", res.Problems)
	}
}

func TestCheck_FlippedDataByte(t *testing.T) {
	tr, first, _ := checkRepo(t)
	chunk := firstEntry(t, first).Chunks[0].Name
	replaceObject(t, tr.store, chunk, flipByte)

	p := findProblem(t, check(t, tr, 100), chunk)
	checkAffects(t, p, first.ID)
	if !errors.Is(p.Err, ErrDamaged) {
		t.Errorf("problem error %v, want ErrDamaged", p.Err)
	}
}

func TestCheck_FlippedIndexByte(t *testing.T) {
	tr, _, second := checkRepo(t)
	index := firstEntry(t, second).Index[0].Name
	replaceObject(t, tr.store, index, flipByte)

	p := findProblem(t, check(t, tr, 100), index)
	checkAffects(t, p, second.ID)
	if !errors.Is(p.Err, ErrDamaged) {
		t.Errorf("problem error %v, want ErrDamaged", p.Err)
	}
}

func TestCheck_MissingChunk(t *testing.T) {
	for _, percent := range []float64{0, 100} {
		tr, first, _ := checkRepo(t)
		chunk := firstEntry(t, first).Chunks[0].Name
		deleteObject(t, tr.store, chunk)

		p := findProblem(t, check(t, tr, percent), chunk)
		checkAffects(t, p, first.ID)
		if !strings.Contains(p.Err.Error(), "missing") {
			t.Errorf("read %v%%: problem error %q does not say missing",
				percent, p.Err)
		}
	}
}

func TestCheck_TruncatedChunk(t *testing.T) {
	tr, first, _ := checkRepo(t)
	chunk := firstEntry(t, first).Chunks[0].Name
	replaceObject(t, tr.store, chunk, func(b []byte) []byte {
		return b[:len(b)-1]
	})

	p := findProblem(t, check(t, tr, 0), chunk)
	checkAffects(t, p, first.ID)
	if !errors.Is(p.Err, ErrDamaged) {
		t.Errorf("problem error %v, want ErrDamaged", p.Err)
	}
}

func TestCheck_TruncatedManifest(t *testing.T) {
	tr, _, second := checkRepo(t)
	manifest := snapshotName(second.ID)
	replaceObject(t, tr.store, manifest, func(b []byte) []byte {
		return b[:len(b)/2]
	})

	res := check(t, tr, 100)
	p := findProblem(t, res, manifest)
	checkAffects(t, p, second.ID)
	if !errors.Is(p.Err, ErrDamaged) {
		t.Errorf("problem error %v, want ErrDamaged", p.Err)
	}
	if res.Backups != 2 {
		t.Errorf("Backups = %d, want 2", res.Backups)
	}
}

// TestCheck_ManifestDamagedAfterLoad damages a manifest that the same Repo
// loaded before, as a long-running process that backs up and checks
// would. Check must read the stored manifest, not a copy in memory.
func TestCheck_ManifestDamagedAfterLoad(t *testing.T) {
	tr, first, _ := checkRepo(t)
	manifest := snapshotName(first.ID)
	replaceObject(t, tr.store, manifest, func(b []byte) []byte {
		return b[:len(b)/2]
	})

	res, err := tr.Check(t.Context(), CheckOptions{ReadPercent: 100})
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	p := findProblem(t, res, manifest)
	checkAffects(t, p, first.ID)
}

func TestCheck_WrapRemoved(t *testing.T) {
	tr, first, _ := checkRepo(t)
	deleteObject(t, tr.store, wrapName(first.ID, "main"))

	p := findProblem(t, check(t, tr, 0), "wraps/"+first.ID+"/")
	checkAffects(t, p, first.ID)
	if !errors.Is(p.Err, ErrNoKey) {
		t.Errorf("problem error %v, want ErrNoKey", p.Err)
	}
}

func TestVerify(t *testing.T) {
	tr, first, second := checkRepo(t)
	ctx := t.Context()
	chunk := firstEntry(t, first).Chunks[0].Name
	replaceObject(t, tr.store, chunk, flipByte)

	r := reopen(t, tr)
	for _, tt := range []struct {
		s       *Snapshot
		damaged bool
	}{
		{second, false},
		{first, true},
	} {
		s, err := r.LoadSnapshot(ctx, tt.s.ID)
		if err != nil {
			t.Fatal(err)
		}
		parts, err := r.Chain(ctx, s, "cache", "db0")
		if err != nil {
			t.Fatal(err)
		}
		err = r.Verify(ctx, parts)
		if !tt.damaged {
			if err != nil {
				t.Errorf("Verify of the intact backup: %v", err)
			}
			continue
		}
		if !errors.Is(err, ErrDamaged) {
			t.Fatalf("Verify of the damaged backup: %v, want ErrDamaged",
				err)
		}
		for _, want := range []string{first.ID, chunk} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("Verify error %q does not name %s", err, want)
			}
		}
	}
}

func TestReadNamespace_FlippedChunk(t *testing.T) {
	tr, first, _ := checkRepo(t)
	chunk := firstEntry(t, first).Chunks[0].Name
	replaceObject(t, tr.store, chunk, flipByte)

	r := reopen(t, tr)
	s, err := r.LoadSnapshot(t.Context(), first.ID)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	err = r.ReadNamespace(t.Context(), s, firstEntry(t, s),
		func(*source.Record) error {
			n++
			return nil
		})
	if !errors.Is(err, ErrDamaged) {
		t.Errorf("ReadNamespace: %v, want ErrDamaged", err)
	}
	if n != 0 {
		t.Errorf("ReadNamespace passed on %d records of a damaged chunk", n)
	}
}
