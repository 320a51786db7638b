package restore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lifeline-backup/lifeline/internal/repo"
)

// Selection names what to restore: a backup (an id, a unique prefix of
// one, or "latest") or a moment, and optionally some sources and
// namespaces.
type Selection struct {
	// Snapshot names one backup. "latest" means the newest state of
	// every namespace, which a backup of some sources only may not hold.
	Snapshot string
	// AtSnapshot reads Snapshot as a moment: the newest state of every
	// namespace as of that backup's start, as diff compares.
	AtSnapshot bool
	At         time.Time
	Sources    []string
	Namespaces []string
}

// Chains returns, per selected namespace, the chain of backups that
// restores it, newest first: from the named backup, or from the newest
// backup not later than At. A filter that matches nothing is an error.
func Chains(ctx context.Context, r *repo.Repo,
	sel Selection) ([][]repo.Part, error) {
	ref, at, sources, namespaces := sel.Snapshot, sel.At, sel.Sources,
		sel.Namespaces
	if ref != "" {
		id, err := r.Resolve(ctx, ref)
		if err != nil {
			return nil, err
		}
		s, err := r.LoadSnapshot(ctx, id)
		if err != nil {
			return nil, err
		}
		if ref == "latest" || sel.AtSnapshot {
			// The newest state of every namespace as of that backup,
			// also of namespaces a backup of some sources left out.
			at = s.Time
			return chainsAt(ctx, r, at, sources, namespaces)
		}
		entries, err := selectEntries(s, sources, namespaces)
		if err != nil {
			return nil, err
		}
		return chainsOf(ctx, r, entries, func(string, string) *repo.Snapshot {
			return s
		})
	}
	return chainsAt(ctx, r, at, sources, namespaces)
}

// chainsAt returns the chain of each selected namespace for the newest
// backup that started at or before at.
func chainsAt(ctx context.Context, r *repo.Repo, at time.Time, sources,
	namespaces []string) ([][]repo.Part, error) {
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

// selectEntries picks the entries of a backup that the filters name, and
// fails on a filter that matches nothing.
func selectEntries(s *repo.Snapshot, sources,
	namespaces []string) ([]repo.Namespace, error) {
	var out []repo.Namespace
	for _, e := range s.Entries {
		if len(sources) > 0 && !slices.Contains(sources, e.Source) {
			continue
		}
		if len(namespaces) > 0 && !slices.Contains(namespaces, e.Namespace) {
			continue
		}
		out = append(out, e)
	}
	var have []string
	for _, e := range s.Entries {
		have = append(have, e.Source+"/"+e.Namespace)
	}
	for _, src := range sources {
		if !slices.ContainsFunc(s.Entries, func(e repo.Namespace) bool {
			return e.Source == src
		}) {
			return nil, fmt.Errorf("backup %s has no source %q (it holds "+
				"%s)", s.ID, src, strings.Join(have, ", "))
		}
	}
	for _, ns := range namespaces {
		if !slices.ContainsFunc(out, func(e repo.Namespace) bool {
			return e.Namespace == ns
		}) {
			return nil, fmt.Errorf("backup %s has no namespace %q in the "+
				"selected sources (it holds %s)", s.ID, ns,
				strings.Join(have, ", "))
		}
	}
	if len(out) == 0 {
		return nil, errors.New("nothing to restore: the backup holds no " +
			"namespace")
	}
	return out, nil
}
