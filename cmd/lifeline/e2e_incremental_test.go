package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/lifeline-backup/lifeline/internal/source/redis/redistest"
)

// cityChanges counts the changes one round made to the cities data set.
type cityChanges struct {
	added, changed, deleted int
}

// cityData is the cities data set in a Redis server, with the live keys
// and the keys that have an expiry as the test tracks them.
type cityData struct {
	t        *testing.T
	ctx      context.Context
	c        *goredis.Client
	rng      *rand.Rand
	keys     []string
	expiring map[string]bool
	// untouched lists live keys that no round has changed yet.
	untouched []string
	newKeys   int
}

// alignedExpiry returns a time 500 ms past a whole second, between from
// and to hours after now. The change index compares expiries in whole
// seconds, and the half second keeps the expiry that a backup derives
// from PTTL inside the same second on every read, so an unchanged key
// never looks changed.
func (d *cityData) alignedExpiry(from, to int) time.Time {
	secs := int64(from)*3600 + d.rng.Int64N(int64(to-from)*3600)
	return time.Now().Truncate(time.Second).
		Add(time.Duration(secs)*time.Second + 500*time.Millisecond)
}

// storeCityData writes each city as key city:<country>:<index> holding
// its JSON, and gives about every fifth key an expiry 1 to 48 hours
// ahead.
func storeCityData(t *testing.T, srv *redistest.Server,
	cities []city) *cityData {
	t.Helper()
	d := &cityData{t: t, ctx: context.Background(), c: srv.Client(t),
		rng: rand.New(rand.NewPCG(7, 11)), expiring: map[string]bool{}}
	const batch = 2000
	for start := 0; start < len(cities); start += batch {
		pipe := d.c.Pipeline()
		for i := start; i < min(start+batch, len(cities)); i++ {
			value, err := json.Marshal(cities[i])
			if err != nil {
				t.Fatal(err)
			}
			key := fmt.Sprintf("city:%s:%d", cities[i].Country, i)
			d.keys = append(d.keys, key)
			pipe.Set(d.ctx, key, value, 0)
			if d.rng.IntN(5) == 0 {
				pipe.PExpireAt(d.ctx, key, d.alignedExpiry(1, 48))
				d.expiring[key] = true
			}
		}
		if _, err := pipe.Exec(d.ctx); err != nil {
			t.Fatalf("store cities: %v", err)
		}
	}
	d.untouched = slices.Clone(d.keys)
	d.rng.Shuffle(len(d.untouched), func(i, j int) {
		d.untouched[i], d.untouched[j] = d.untouched[j], d.untouched[i]
	})
	return d
}

// take removes n keys from the untouched keys and returns them.
func (d *cityData) take(n int) []string {
	if n > len(d.untouched) {
		d.t.Fatalf("only %d untouched keys left, want %d",
			len(d.untouched), n)
	}
	out := d.untouched[:n]
	d.untouched = d.untouched[n:]
	return out
}

// change changes 1% of the keys: a quarter get a new value, a quarter a
// new expiry (or lose theirs), a quarter are deleted, and as many new
// keys are added. Every change alters what the change index records.
func (d *cityData) change(round int) cityChanges {
	quarter := len(d.keys) / 100 / 4
	pipe := d.c.Pipeline()
	for _, k := range d.take(quarter) {
		value := fmt.Sprintf(`{"name":"changed in round %d","key":%q}`,
			round, k)
		pipe.SetArgs(d.ctx, k, value, goredis.SetArgs{KeepTTL: true})
	}
	for _, k := range d.take(quarter) {
		if d.expiring[k] && d.rng.IntN(2) == 0 {
			pipe.Persist(d.ctx, k)
			delete(d.expiring, k)
			continue
		}
		// Each round's expiries lie past every earlier one, so the
		// expiry always moves.
		pipe.PExpireAt(d.ctx, k, d.alignedExpiry(25+24*round, 48+24*round))
		d.expiring[k] = true
	}
	for _, k := range d.take(quarter) {
		pipe.Del(d.ctx, k)
	}
	for range quarter {
		d.newKeys++
		k := fmt.Sprintf("city:new:%d", d.newKeys)
		pipe.Set(d.ctx, k, fmt.Sprintf(`{"name":"new %d"}`, d.newKeys), 0)
	}
	if _, err := pipe.Exec(d.ctx); err != nil {
		d.t.Fatalf("change round %d: %v", round, err)
	}
	return cityChanges{added: quarter, changed: 2 * quarter,
		deleted: quarter}
}

// snapshotRows runs 'snapshots --json' and decodes its rows.
func (e *e2e) snapshotRows() []snapshotRow {
	e.t.Helper()
	res := e.mustRun("snapshots", "--json")
	var rows []snapshotRow
	if err := json.Unmarshal([]byte(res.stdout), &rows); err != nil {
		e.t.Fatalf("snapshots --json output %q: %v", res.stdout, err)
	}
	return rows
}

// rowTime parses the time of a 'snapshots --json' row.
func rowTime(t *testing.T, row snapshotRow) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339, row.Time)
	if err != nil {
		t.Fatalf("backup %s: time %q: %v", row.ID, row.Time, err)
	}
	return at
}

// decodeDiffs decodes the JSON array of --diff-format json and returns
// its only report.
func decodeDiffs(t *testing.T, what, stdout string) diffReport {
	t.Helper()
	var reports []diffReport
	if err := json.Unmarshal([]byte(stdout), &reports); err != nil {
		t.Fatalf("%s: output %q is not a JSON diff array: %v", what,
			stdout, err)
	}
	if len(reports) != 1 {
		t.Fatalf("%s: %d reports, want 1 (cache/all):\n%s", what,
			len(reports), stdout)
	}
	return reports[0]
}

// wantCounts fails the test for every kind whose count differs.
func wantCounts(t *testing.T, what string, got map[string]int64,
	want map[string]int64) {
	t.Helper()
	for _, kind := range slices.Sorted(maps.Keys(want)) {
		if n := want[kind]; got[kind] != n {
			t.Errorf("%s: %s = %d, want %d", what, kind, got[kind], n)
		}
	}
}

// logCounts returns the count of each kind from a restore log line.
func logCounts(t *testing.T, line map[string]any) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, kind := range []string{"add", "change", "conflict",
		"unchanged", "expired", "delete"} {
		out[kind] = logCount(t, line, kind)
	}
	return out
}

// incrementalScenario is a cities data set in source "cache" with one
// full and two incremental backups, each incremental after 1% of the
// keys changed.
type incrementalScenario struct {
	*e2e
	from, copy, old *redistest.Server
	data            *cityData
	rows            []snapshotRow
	// first is what changed between the full and the first incremental.
	first cityChanges
	// firstDigest is the DEBUG DIGEST of "cache" right after the first
	// incremental.
	firstDigest string
	// at is a moment after the first incremental and before the second.
	at time.Time
}

func newIncrementalScenario(t *testing.T) *incrementalScenario {
	t.Helper()
	s := &incrementalScenario{e2e: newE2E(t)}
	s.from, s.copy, s.old = redistest.Start(t), redistest.Start(t),
		redistest.Start(t)
	s.data = storeCityData(t, s.from, loadCities(t))
	_, url := s.localRepo()
	s.writeConfig(fileRepository(url),
		redisSource("cache", s.from.URL(0)),
		redisSource("copy", s.copy.URL(0)),
		redisSource("old", s.old.URL(0)))
	s.mustRun("init")
	s.mustRun("backup", "--tier", "full", "--source", "cache")

	s.first = s.data.change(1)
	s.mustRun("backup", "--tier", "incremental", "--source", "cache")
	s.firstDigest = redistest.Digest(t, s.from)
	rows := s.snapshotRows()
	if len(rows) != 2 {
		t.Fatalf("snapshots lists %d backups, want 2", len(rows))
	}
	// Listed times are cut to the second, and the backup started up to
	// a second after the listed time.
	firstTime := rowTime(t, rows[1])
	s.at = firstTime.Add(time.Second)

	// Wait until the second incremental starts more than 2 s after the
	// first, so s.at falls between them.
	time.Sleep(time.Until(firstTime.Add(3 * time.Second)))
	s.data.change(2)
	s.mustRun("backup", "--tier", "incremental", "--source", "cache")
	s.rows = s.snapshotRows()
	if len(s.rows) != 3 {
		t.Fatalf("snapshots lists %d backups, want 3", len(s.rows))
	}
	if second := rowTime(t, s.rows[2]); !second.After(s.at) {
		t.Fatalf("second incremental at %s, want after %s", second, s.at)
	}
	if d := redistest.Digest(t, s.from); d == s.firstDigest {
		t.Fatalf("DEBUG DIGEST after the second round = %s, the same "+
			"as after the first; the second round changed nothing", d)
	}
	return s
}

// runner returns the scenario's commands bound to the subtest t, so a
// failed command stops only that subtest.
func (s *incrementalScenario) runner(t *testing.T) *e2e {
	e := *s.e2e
	e.t = t
	return &e
}

func TestE2E_Incremental(t *testing.T) {
	s := newIncrementalScenario(t)
	atArg := s.at.UTC().Format(time.RFC3339)
	total := int64(len(s.data.keys))

	t.Run("tiers and sizes", func(t *testing.T) {
		wantTiers := []string{"full", "incremental", "incremental"}
		for i, row := range s.rows {
			if row.Tier != wantTiers[i] {
				t.Errorf("backup %d (%s): tier %q, want %q", i, row.ID,
					row.Tier, wantTiers[i])
			}
		}
		full, inc := s.rows[0].Bytes, s.rows[1].Bytes
		if full <= 0 {
			t.Fatalf("full backup: bytes = %d, want > 0", full)
		}
		if inc*20 >= full {
			t.Errorf("first incremental: %d bytes, want under 5%% of "+
				"the full's %d", inc, full)
		}
	})

	t.Run("restore at", func(t *testing.T) {
		e := s.runner(t)
		e.mustRun("restore", "--at", atArg, "--to", "copy")
		if got := redistest.Digest(t, s.copy); got != s.firstDigest {
			t.Errorf("restore --at %s: DEBUG DIGEST = %s, want %s (the "+
				"source right after the first incremental)", atArg, got,
				s.firstDigest)
		}
	})

	t.Run("diff full to first incremental", func(t *testing.T) {
		e := s.runner(t)
		res := e.mustRun("diff", "--diff-format", "json", s.rows[0].ID,
			s.rows[1].ID)
		r := decodeDiffs(t, "diff", res.stdout)
		c := s.first
		wantCounts(t, "diff", r.Counts, map[string]int64{
			"add":       int64(c.added),
			"change":    int64(c.changed),
			"delete":    int64(c.deleted),
			"unchanged": total - int64(c.changed+c.deleted),
		})
	})

	t.Run("dry run", func(t *testing.T) {
		e := s.runner(t)
		e.mustRun("restore", "--snapshot", s.rows[0].ID, "--to", "old")
		before := redistest.Digest(t, s.old)
		c := s.first
		keep := map[string]int64{
			"add": int64(c.added), "conflict": int64(c.changed),
			"change": 0, "delete": 0, "expired": 0,
			"unchanged": total - int64(c.changed+c.deleted),
		}
		replace := map[string]int64{
			"add": int64(c.added), "change": int64(c.changed),
			"conflict": 0, "delete": int64(c.deleted), "expired": 0,
			"unchanged": total - int64(c.changed+c.deleted),
		}
		base := []string{"restore", "--at", atArg, "--to", "old",
			"--dry-run"}

		res := e.mustRun(base...)
		line := logLine(t, res.stdout,
			"namespace restore preview (dry run, nothing written)")
		wantCounts(t, "dry run (text)", logCounts(t, line), keep)
		if got := logCount(t, line, "written"); got != 0 {
			t.Errorf("dry run (text): written = %d, want 0", got)
		}

		res = e.mustRun(slices.Concat(base, []string{"--diff-format",
			"json"})...)
		r := decodeDiffs(t, "dry run (json)", res.stdout)
		wantCounts(t, "dry run (json)", r.Counts, keep)

		res = e.mustRun(slices.Concat(base, []string{"--replace",
			"--diff-format", "json"})...)
		r = decodeDiffs(t, "dry run --replace (json)", res.stdout)
		wantCounts(t, "dry run --replace (json)", r.Counts, replace)

		if got := redistest.Digest(t, s.old); got != before {
			t.Errorf("after dry runs: DEBUG DIGEST of the target = %s, "+
				"want %s (unchanged)", got, before)
		}
	})
}
