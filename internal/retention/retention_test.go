package retention_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lifeline-backup/lifeline/internal/repo"
	"github.com/lifeline-backup/lifeline/internal/retention"
)

// nsKey names one namespace of one source.
type nsKey struct{ source, namespace string }

func (k nsKey) String() string { return k.source + "/" + k.namespace }

// The simulated sources: two that run throughout and one that stops.
var (
	cacheNS  = nsKey{"cache", "all"}
	appNS    = nsKey{"app", "users"}
	legacyNS = nsKey{"legacy", "jobs"}
)

// simulation is a repository reduced to its manifests, fed by the
// default schedule on an injected clock and pruned after each full
// backup, as lifeline serve does.
type simulation struct {
	t      *testing.T
	policy retention.Policy
	// kept lists the backups still in the repository, oldest first.
	kept []*repo.Snapshot
	seq  int
}

// backup adds a backup of tier at time at that contains the namespaces
// nss. Like the backup engine, an incremental builds on the newest
// earlier backup of each namespace, or takes a full copy (empty base)
// when there is none. Full and complete backups have no base.
func (s *simulation) backup(tier repo.Tier, at time.Time,
	nss []nsKey) *repo.Snapshot {
	s.seq++
	m := repo.Manifest{
		ID:   fmt.Sprintf("%s-%05d", at.Format("20060102T150405Z"), s.seq),
		Tier: tier,
		Time: at,
	}
	for _, ns := range nss {
		e := repo.Namespace{Source: ns.source, Namespace: ns.namespace}
		if tier == repo.Incremental {
			if base := newestAt(s.kept, ns, at); base != nil {
				e.Base = base.ID
			}
		}
		m.Entries = append(m.Entries, e)
	}
	snap := &repo.Snapshot{Manifest: m}
	s.kept = append(s.kept, snap)
	return snap
}

// prune applies the policy at now and drops the backups it does not keep.
func (s *simulation) prune(now time.Time) {
	s.t.Helper()
	plan := retention.Plan(s.kept, s.policy, now)
	if len(plan) != len(s.kept) {
		s.t.Fatalf("Plan returned %d decisions for %d backups",
			len(plan), len(s.kept))
	}
	var kept []*repo.Snapshot
	for i, d := range plan {
		if d.Snapshot != s.kept[i] {
			s.t.Fatalf("decision %d is for backup %s, want %s", i,
				d.Snapshot.ID, s.kept[i].ID)
		}
		if d.Keep {
			kept = append(kept, d.Snapshot)
		}
	}
	s.kept = kept
}

// newestAt returns the newest backup in snaps that holds ns and started
// at or before at, or nil.
func newestAt(snaps []*repo.Snapshot, ns nsKey, at time.Time) *repo.Snapshot {
	for i := len(snaps) - 1; i >= 0; i-- {
		s := snaps[i]
		if s.Time.After(at) {
			continue
		}
		if _, ok := s.Entry(ns.source, ns.namespace); ok {
			return s
		}
	}
	return nil
}

// chainError returns why the chain of ns from s is not complete within
// snaps, or nil when every base down to a full copy is there.
func chainError(snaps []*repo.Snapshot, s *repo.Snapshot, ns nsKey) error {
	byID := map[string]*repo.Snapshot{}
	for _, k := range snaps {
		byID[k.ID] = k
	}
	for steps := 0; steps <= len(snaps); steps++ {
		e, ok := s.Entry(ns.source, ns.namespace)
		if !ok {
			return fmt.Errorf("backup %s has no namespace %s", s.ID, ns)
		}
		if e.Base == "" {
			return nil
		}
		base, ok := byID[e.Base]
		if !ok {
			return fmt.Errorf("backup %s builds on %s, which was deleted",
				s.ID, e.Base)
		}
		s = base
	}
	return fmt.Errorf("chain of %s loops", ns)
}

// granularity returns how far before a moment at age a the newest kept
// backup may lie under the default policy. That is an hour while the
// hourly incrementals cover the moment, a day while the daily full
// backups do, and a week while the weekly complete backups do. It
// returns false for ages past every tier's retention.
func granularity(a time.Duration) (time.Duration, bool) {
	const day = 24 * time.Hour
	for _, tier := range []struct{ every, keep time.Duration }{
		{time.Hour, 7 * day},
		{day, 30 * day},
		{7 * day, 90 * day},
	} {
		if a <= tier.keep {
			return tier.every, true
		}
	}
	return 0, false
}

// runDefaultSchedule simulates 120 days of the default schedule from
// Sunday 2024-01-07 00:00 UTC: an incremental every hour, a full at
// 02:00 then prune, a complete on Sunday at 03:00. The full and complete
// start 30 seconds after that hour's incremental, since serve runs one
// job after the other. The legacy source stops after 20 days. It returns
// the simulation, the time of the last prune and the last legacy backup.
func runDefaultSchedule(t *testing.T) (*simulation, time.Time,
	*repo.Snapshot) {
	start := time.Date(2024, 1, 7, 0, 0, 0, 0, time.UTC)
	if start.Weekday() != time.Sunday {
		t.Fatalf("start %v is a %v, want a Sunday", start, start.Weekday())
	}
	end := start.Add(120 * 24 * time.Hour)
	legacyUntil := start.Add(20 * 24 * time.Hour)
	s := &simulation{t: t, policy: retention.DefaultPolicy()}
	var lastLegacy *repo.Snapshot
	for at := start; ; at = at.Add(time.Hour) {
		nss := []nsKey{cacheNS, appNS}
		if at.Before(legacyUntil) {
			nss = append(nss, legacyNS)
		}
		snap := s.backup(repo.Incremental, at, nss)
		if at.Hour() == 2 {
			snap = s.backup(repo.Full, at.Add(30*time.Second), nss)
			s.prune(snap.Time)
			if !at.Before(end) {
				return s, snap.Time, lastLegacy
			}
		}
		if at.Hour() == 3 && at.Weekday() == time.Sunday {
			snap = s.backup(repo.Complete, at.Add(30*time.Second), nss)
		}
		if at.Before(legacyUntil) {
			lastLegacy = snap
		}
	}
}

func TestPlan_DefaultScheduleRestorableMoments(t *testing.T) {
	s, now, _ := runDefaultSchedule(t)
	const day = 24 * time.Hour
	for _, ns := range []nsKey{cacheNS, appNS} {
		for a := time.Duration(0); ; a += time.Hour {
			g, ok := granularity(a)
			if !ok {
				break
			}
			moment := now.Add(-a)
			snap := newestAt(s.kept, ns, moment)
			if snap == nil {
				t.Errorf("%s at %v (age %v): no kept backup", ns,
					moment, a)
				continue
			}
			if gap := moment.Sub(snap.Time); gap > g {
				t.Errorf("%s at %v (age %v): newest kept backup %s is "+
					"%v older, want at most %v", ns, moment, a, snap.ID,
					gap, g)
			}
			if err := chainError(s.kept, snap, ns); err != nil {
				t.Errorf("%s at %v (age %v): %v", ns, moment, a, err)
			}
		}
	}
	// Past 90 days plus a week only the chain of the stopped source's
	// last backup is left.
	for _, k := range s.kept {
		_, legacy := k.Entry(legacyNS.source, legacyNS.namespace)
		if now.Sub(k.Time) > 97*day && !legacy {
			t.Errorf("backup %s of %v is still kept, older than every "+
				"tier's retention", k.ID, k.Time)
		}
	}
}

func TestPlan_DefaultScheduleStoppedSource(t *testing.T) {
	s, now, last := runDefaultSchedule(t)
	got := newestAt(s.kept, legacyNS, now)
	if got == nil {
		t.Fatalf("no backup of %s kept, want its last one %s", legacyNS,
			last.ID)
	}
	if got != last {
		t.Errorf("newest kept backup of %s = %s, want its last one %s",
			legacyNS, got.ID, last.ID)
	}
	if err := chainError(s.kept, got, legacyNS); err != nil {
		t.Errorf("last backup of %s: %v", legacyNS, err)
	}
}

// TestPlan_DefaultScheduleKeepsOnlyNeeded checks that the kept set is
// exactly the backups within their tier's retention, the newest backup
// of each namespace, and the bases these build on.
func TestPlan_DefaultScheduleKeepsOnlyNeeded(t *testing.T) {
	s, now, _ := runDefaultSchedule(t)
	policy := retention.DefaultPolicy()
	byID := map[string]*repo.Snapshot{}
	for _, k := range s.kept {
		byID[k.ID] = k
	}

	// Every base of a kept backup is kept.
	for _, k := range s.kept {
		for _, e := range k.Entries {
			if e.Base != "" && byID[e.Base] == nil {
				t.Errorf("kept %s %s builds on %s for %s/%s, which was "+
					"deleted", k.Tier, k.ID, e.Base, e.Source, e.Namespace)
			}
		}
	}

	needed := map[string]string{}
	var stack []*repo.Snapshot
	need := func(k *repo.Snapshot, why string) {
		if _, ok := needed[k.ID]; !ok {
			needed[k.ID] = why
			stack = append(stack, k)
		}
	}
	for _, k := range s.kept {
		if now.Sub(k.Time) <= policy.For(k.Tier) {
			need(k, "within retention")
		}
	}
	for _, ns := range []nsKey{cacheNS, appNS, legacyNS} {
		if k := newestAt(s.kept, ns, now); k != nil {
			need(k, "newest of "+ns.String())
		}
		// The newest backup at or before each tier's retention edge, of
		// that tier or a longer-kept one, covers the window's start.
		for _, tier := range []repo.Tier{repo.Incremental, repo.Full,
			repo.Complete} {
			edge := now.Add(-policy.For(tier))
			if k := newestOfAt(s.kept, ns, edge, policy.For(tier),
				policy); k != nil {
				need(k, "edge of "+string(tier))
			}
		}
	}
	for len(stack) > 0 {
		k := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, e := range k.Entries {
			if base := byID[e.Base]; base != nil {
				need(base, "base of "+k.ID)
			}
		}
	}
	for _, k := range s.kept {
		if _, ok := needed[k.ID]; !ok {
			t.Errorf("kept %s %s of %v (age %v) is neither within "+
				"retention, nor the newest of a namespace, nor a base",
				k.Tier, k.ID, k.Time, now.Sub(k.Time))
		}
	}
	if len(needed) != len(s.kept) {
		t.Errorf("kept %d backups, want %d", len(s.kept), len(needed))
	}
}

// snapshot builds a backup with one entry per namespace, each on base.
func snapshot(id string, tier repo.Tier, at time.Time, base string,
	nss ...nsKey) *repo.Snapshot {
	m := repo.Manifest{ID: id, Tier: tier, Time: at}
	for _, ns := range nss {
		m.Entries = append(m.Entries, repo.Namespace{Source: ns.source,
			Namespace: ns.namespace, Base: base})
	}
	return &repo.Snapshot{Manifest: m}
}

// decisions runs Plan and returns the decisions by backup id.
func decisions(t *testing.T, snaps []*repo.Snapshot,
	now time.Time) map[string]retention.Decision {
	t.Helper()
	out := map[string]retention.Decision{}
	for _, d := range retention.Plan(snaps, retention.DefaultPolicy(), now) {
		out[d.Snapshot.ID] = d
	}
	if len(out) != len(snaps) {
		t.Fatalf("Plan returned %d decisions, want %d", len(out), len(snaps))
	}
	return out
}

// wantKeep fails the test unless the decision for id is keep, with a
// reason containing reason.
func wantKeep(t *testing.T, ds map[string]retention.Decision, id string,
	keep bool, reason string) {
	t.Helper()
	d := ds[id]
	if d.Keep != keep {
		t.Errorf("%s: Keep = %v, want %v (reason %q)", id, d.Keep, keep,
			d.Reason)
	}
	if !strings.Contains(d.Reason, reason) {
		t.Errorf("%s: Reason = %q, want it to contain %q", id, d.Reason,
			reason)
	}
}

func TestPlan_KeptIncrementalKeepsOldFull(t *testing.T) {
	now := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	const day = 24 * time.Hour
	snaps := []*repo.Snapshot{
		snapshot("old-full", repo.Full, now.Add(-45*day), "", cacheNS),
		snapshot("app-old", repo.Full, now.Add(-40*day), "", appNS),
		snapshot("inc-1", repo.Incremental, now.Add(-35*day), "old-full",
			cacheNS),
		snapshot("inc-2", repo.Incremental, now.Add(-2*day), "inc-1",
			cacheNS),
		snapshot("app-new", repo.Full, now.Add(-1*day), "", appNS),
	}
	ds := decisions(t, snaps, now)
	wantKeep(t, ds, "inc-2", true, "within the incremental retention")
	// inc-1 is the newest backup before the incremental retention's
	// start; the first reason found is kept.
	wantKeep(t, ds, "inc-1", true, "covers the start of the incremental")
	wantKeep(t, ds, "old-full", true, "base of kept backup inc-1")
	// Without app-old no backup of app/users would precede a moment six
	// days ago, inside the retention window.
	wantKeep(t, ds, "app-old", true, "covers the start of the incremental")
	wantKeep(t, ds, "app-new", true, "within the full retention")
}

func TestPlan_StoppedSourceNewestKept(t *testing.T) {
	now := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	const day = 24 * time.Hour
	snaps := []*repo.Snapshot{
		snapshot("legacy-older", repo.Complete, now.Add(-402*day), "",
			legacyNS),
		snapshot("legacy-full", repo.Full, now.Add(-401*day), "",
			legacyNS, cacheNS),
		snapshot("legacy-last", repo.Incremental, now.Add(-400*day),
			"legacy-full", legacyNS, cacheNS),
		snapshot("cache-new", repo.Full, now.Add(-1*day), "", cacheNS),
	}
	ds := decisions(t, snaps, now)
	wantKeep(t, ds, "legacy-last", true, "newest backup of legacy/jobs")
	wantKeep(t, ds, "legacy-full", true, "base of kept backup legacy-last")
	wantKeep(t, ds, "legacy-older", false,
		"older than the complete retention")
	wantKeep(t, ds, "cache-new", true, "within the full retention")
}

// newestOfAt returns the newest kept backup of ns at or before at whose
// tier is kept at least keep long.
func newestOfAt(kept []*repo.Snapshot, ns nsKey, at time.Time,
	keep time.Duration, p retention.Policy) *repo.Snapshot {
	var best *repo.Snapshot
	for _, k := range kept {
		if k.Time.After(at) || p.For(k.Tier) < keep {
			continue
		}
		if _, ok := k.Entry(ns.source, ns.namespace); !ok {
			continue
		}
		if best == nil || k.Time.After(best.Time) {
			best = k
		}
	}
	return best
}
