package main

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/lifeline-backup/lifeline/internal/config"
	"github.com/lifeline-backup/lifeline/internal/restore"
)

// parseAt reads a point in time: RFC 3339, or a duration back from now
// in Go's syntax plus "d" for days (90m, 36h, 6d, 1d12h).
func parseAt(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		// Times are shown to the second while backups start within
		// one, so a time without a fraction means the whole second.
		if !strings.Contains(s, ".") {
			t = t.Add(time.Second - time.Nanosecond)
		}
		return t, nil
	}
	d, err := config.ParseDuration(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time "+
			"(2026-12-04T10:00:00Z) nor a duration back from now (90m, "+
			"36h, 6d)", s)
	}
	return now.Add(-d), nil
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
