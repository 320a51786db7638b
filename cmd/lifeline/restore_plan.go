package main

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lifeline-backup/lifeline/internal/repo"
	"github.com/lifeline-backup/lifeline/internal/restore"
)

// parseAt reads a point in time: RFC 3339, or a duration back from now
// in Go's syntax plus "d" for days (90m, 36h, 6d, 1d12h).
func parseAt(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := parseAge(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time "+
			"(2026-12-04T10:00:00Z) nor a duration back from now (90m, "+
			"36h, 6d)", s)
	}
	return now.Add(-d), nil
}

// parseAge parses a duration that may start with a number of days.
func parseAge(s string) (time.Duration, error) {
	var days time.Duration
	if i := strings.Index(s, "d"); i > 0 {
		n, err := strconv.Atoi(s[:i])
		if err != nil {
			return 0, err
		}
		days = time.Duration(n) * 24 * time.Hour
		s = s[i+1:]
		if s == "" {
			return days, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d+days < 0 {
		return 0, fmt.Errorf("invalid duration %q", s)
	}
	return days + d, nil
}

// findChains returns, per selected namespace, the chain of backups that
// restores it: from the named backup, or from the newest backup not later
// than at.
func findChains(ctx context.Context, r *repo.Repo, ref string, at time.Time,
	sources, namespaces []string) ([][]repo.Part, error) {
	if ref != "" {
		id, err := r.Resolve(ctx, ref)
		if err != nil {
			return nil, err
		}
		s, err := r.LoadSnapshot(ctx, id)
		if err != nil {
			return nil, err
		}
		entries, err := selectEntries(s, sources, namespaces)
		if err != nil {
			return nil, err
		}
		return chainsOf(ctx, r, entries, func(string, string) *repo.Snapshot {
			return s
		})
	}

	snaps, _, err := r.Snapshots(ctx)
	if err != nil {
		return nil, err
	}
	// Every namespace that some backup not later than at holds.
	merged := &repo.Snapshot{}
	merged.ID = "at " + at.UTC().Format(time.RFC3339)
	seen := map[string]bool{}
	for _, s := range snaps {
		if s.Time.After(at) {
			continue
		}
		for _, e := range s.Entries {
			if k := e.Source + "/" + e.Namespace; !seen[k] {
				seen[k] = true
				merged.Entries = append(merged.Entries, e)
			}
		}
	}
	if len(merged.Entries) == 0 {
		return nil, fmt.Errorf("no backup started at or before %s; "+
			"'lifeline snapshots' lists them", at.UTC().Format(time.RFC3339))
	}
	entries, err := selectEntries(merged, sources, namespaces)
	if err != nil {
		return nil, err
	}
	return chainsOf(ctx, r, entries, func(src, ns string) *repo.Snapshot {
		return repo.Newest(snaps, src, ns, at)
	})
}

func chainsOf(ctx context.Context, r *repo.Repo, entries []repo.Namespace,
	newest func(src, ns string) *repo.Snapshot) ([][]repo.Part, error) {
	var chains [][]repo.Part
	for _, e := range entries {
		chain, err := r.Chain(ctx, newest(e.Source, e.Namespace), e.Source,
			e.Namespace)
		if err != nil {
			return nil, err
		}
		chains = append(chains, chain)
	}
	slices.SortFunc(chains, func(a, b []repo.Part) int {
		return strings.Compare(a[0].Entry.Source+"/"+a[0].Entry.Namespace,
			b[0].Entry.Source+"/"+b[0].Entry.Namespace)
	})
	return chains, nil
}

// logPlan logs, before any write, which backups restore each namespace.
func logPlan(log *slog.Logger, items []restore.Item) {
	for _, it := range items {
		var ids []string
		var records, bytes int64
		for _, p := range it.Parts {
			ids = append(ids, p.Snapshot.ID+" ("+string(p.Snapshot.Tier)+")")
			records += p.Entry.Records + p.Entry.Tombstones
			for _, c := range p.Entry.Chunks {
				bytes += c.Size
			}
		}
		e := it.Parts[0].Entry
		log.Info("restore plan", "source", e.Source, "namespace",
			e.Namespace, "target", it.To.Name+"/"+it.Namespace,
			"backups", strings.Join(ids, ", "), "records", records,
			"bytes", bytes)
	}
}
