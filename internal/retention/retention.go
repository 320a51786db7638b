// Package retention decides which backups the tiered policy keeps.
//
// It only plans: package repo deletes. The plan never breaks a chain (a
// backup that a kept incremental builds on is kept) and never drops the
// newest backup of a namespace.
package retention

import (
	"fmt"
	"sort"
	"time"

	"github.com/lifeline-backup/lifeline/internal/repo"
)

// Policy is how long each tier is kept, measured from a backup's start.
type Policy struct {
	Incremental time.Duration
	Full        time.Duration
	Complete    time.Duration
}

// DefaultPolicy keeps incrementals 7 days, full backups 30 days and
// complete backups 90 days.
func DefaultPolicy() Policy {
	return Policy{
		Incremental: 7 * 24 * time.Hour,
		Full:        30 * 24 * time.Hour,
		Complete:    90 * 24 * time.Hour,
	}
}

// For returns the retention of a tier.
func (p Policy) For(t repo.Tier) time.Duration {
	switch t {
	case repo.Incremental:
		return p.Incremental
	case repo.Full:
		return p.Full
	}
	return p.Complete
}

// Validate checks that every tier keeps backups for a positive time.
func (p Policy) Validate() error {
	if p.Incremental <= 0 || p.Full <= 0 || p.Complete <= 0 {
		return fmt.Errorf("retention: every tier needs a positive "+
			"duration (incremental %v, full %v, complete %v)",
			p.Incremental, p.Full, p.Complete)
	}
	return nil
}

// Decision is the plan for one backup.
type Decision struct {
	Snapshot *repo.Snapshot
	Keep     bool
	// Reason says why, for --dry-run output.
	Reason string
}

// Plan decides, for each backup, whether the policy keeps it at now.
// The result is in the order of snaps.
func Plan(snaps []*repo.Snapshot, p Policy, now time.Time) []Decision {
	byID := map[string]*Decision{}
	out := make([]Decision, len(snaps))
	for i, s := range snaps {
		out[i] = Decision{Snapshot: s, Reason: "older than the " +
			string(s.Tier) + " retention of " + p.For(s.Tier).String()}
		byID[s.ID] = &out[i]
		if now.Sub(s.Time) <= p.For(s.Tier) {
			out[i].Keep, out[i].Reason = true, "within the "+
				string(s.Tier)+" retention"
		}
	}
	keepNewest(out)
	keepEdges(out, p, now)
	keepBases(out, byID)
	return out
}

// keptBetween reports whether a kept backup of namespace k started in
// (from, to]: it then covers the window's start already.
func keptBetween(ds []Decision, k string, from, to time.Time) bool {
	for _, d := range ds {
		s := d.Snapshot
		if !d.Keep || !s.Time.After(from) || s.Time.After(to) {
			continue
		}
		for _, e := range s.Entries {
			if e.Source+"/"+e.Namespace == k {
				return true
			}
		}
	}
	return false
}

// keepEdges keeps, per namespace and tier, the newest backup of that tier
// or a longer-kept one that started at or before the tier's retention
// edge. Without it, a moment just inside the window would have no backup
// at or before it left, and could not be restored.
func keepEdges(ds []Decision, p Policy, now time.Time) {
	for _, t := range []repo.Tier{repo.Incremental, repo.Full, repo.Complete} {
		edge := now.Add(-p.For(t))
		newest := map[string]int{}
		for i, d := range ds {
			s := d.Snapshot
			if s.Time.After(edge) || p.For(s.Tier) < p.For(t) {
				continue
			}
			for _, e := range s.Entries {
				k := e.Source + "/" + e.Namespace
				if j, ok := newest[k]; !ok ||
					s.Time.After(ds[j].Snapshot.Time) {
					newest[k] = i
				}
			}
		}
		for k, i := range newest {
			if !ds[i].Keep && !keptBetween(ds, k,
				ds[i].Snapshot.Time, edge) {
				ds[i].Keep = true
				ds[i].Reason = "covers the start of the " + string(t) +
					" retention of " + k
			}
		}
	}
}

// keepNewest keeps the newest backup of every namespace, whatever its
// age, so a source whose backups stopped keeps its last good copy.
func keepNewest(ds []Decision) {
	idx := make([]int, len(ds))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool {
		return ds[idx[a]].Snapshot.Time.After(ds[idx[b]].Snapshot.Time)
	})
	seen := map[string]bool{}
	for _, i := range idx {
		for _, e := range ds[i].Snapshot.Entries {
			k := e.Source + "/" + e.Namespace
			if seen[k] {
				continue
			}
			seen[k] = true
			if !ds[i].Keep {
				ds[i].Keep = true
				ds[i].Reason = "newest backup of " + k
			}
		}
	}
}

// keepBases keeps every backup that a kept incremental builds on,
// following chains down to their full backup.
func keepBases(ds []Decision, byID map[string]*Decision) {
	var stack []*Decision
	for i := range ds {
		if ds[i].Keep {
			stack = append(stack, &ds[i])
		}
	}
	for len(stack) > 0 {
		d := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, e := range d.Snapshot.Entries {
			base, ok := byID[e.Base]
			if e.Base == "" || !ok || base.Keep {
				continue
			}
			base.Keep = true
			base.Reason = "base of kept backup " + d.Snapshot.ID
			stack = append(stack, base)
		}
	}
}
