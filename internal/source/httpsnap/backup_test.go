package httpsnap_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lifeline-backup/lifeline/examples/snapshot-server/snapserver"
	"github.com/lifeline-backup/lifeline/internal/backup"
	"github.com/lifeline-backup/lifeline/internal/codec"
	"github.com/lifeline-backup/lifeline/internal/repo"
	"github.com/lifeline-backup/lifeline/internal/repo/repotest"
	"github.com/lifeline-backup/lifeline/internal/source"
	"github.com/lifeline-backup/lifeline/internal/source/bolt"
	"github.com/lifeline-backup/lifeline/internal/source/httpsnap/snaptest"
)

// newRepo creates a repository in a temporary folder with a new key.
func newRepo(t *testing.T, now time.Time) *repo.Repo {
	t.Helper()
	return repotest.New(t, now)
}

// newBolt returns a bbolt source whose bucket "items" holds n records.
func newBolt(t *testing.T, n int) *bolt.Source {
	t.Helper()
	src, err := bolt.New(bolt.Config{Name: "db",
		Path: filepath.Join(t.TempDir(), "db.bolt"), Create: true})
	if err != nil {
		t.Fatalf("new bolt source: %v", err)
	}
	records := make([]source.Record, n)
	for i := range records {
		records[i] = source.Record{Key: []byte{'k', byte('a' + i)},
			Value: []byte("v")}
	}
	_, err = src.Write(context.Background(), "items", records,
		source.Replace, time.Now())
	if err != nil {
		t.Fatalf("seed bolt file: %v", err)
	}
	return src
}

// A snapshot endpoint that stops its response halfway fails the backup of
// that source and leaves the other sources' backups in place.
func TestBackup_CutShortSnapshot(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	broken := snaptest.Start(t, "sessions")
	seed(broken, 20, 100)
	broken.SetFault(snapserver.Fault{Cut: true, CutAfter: 10})
	healthy := snaptest.Start(t, "cache")
	seed(healthy, 7, 100)
	sources := []backup.Source{
		{Name: "sessions", Type: "httpsnap",
			Src: newSource(t, broken, "sessions")},
		{Name: "cache", Type: "httpsnap",
			Src: newSource(t, healthy, "cache")},
		{Name: "db", Type: "bolt", Src: newBolt(t, 5)},
	}
	r := newRepo(t, now)

	m, err := backup.Run(ctx, r, sources, backup.Options{
		Tier: repo.Full, Compression: codec.Zstd,
		Now: func() time.Time { return now },
	})
	if err == nil {
		t.Fatal("backup succeeded, want the error of source sessions")
	}
	var se *backup.SourceError
	if !errors.As(err, &se) || se.Source != "sessions" {
		t.Errorf("error %v is not a SourceError of source sessions", err)
	}
	if !strings.Contains(err.Error(), "sessions") ||
		!strings.Contains(err.Error(), "response cut short") {
		t.Errorf("error %q does not name sessions and a response cut "+
			"short", err)
	}
	if m == nil {
		t.Fatal("no manifest committed")
	}

	snaps, _, err := r.Snapshots(ctx)
	if err != nil {
		t.Fatalf("list backups: %v", err)
	}
	if len(snaps) != 1 {
		t.Fatalf("repository holds %d backups, want 1", len(snaps))
	}
	want := map[string]int64{"cache/cache": 7, "db/items": 6}
	got := map[string]int64{}
	for _, e := range snaps[0].Entries {
		got[e.Source+"/"+e.Namespace] = e.Records
	}
	if len(got) != len(want) {
		t.Errorf("committed namespaces = %v, want %v", got, want)
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("committed %s has %d records, want %d", k, got[k], n)
		}
	}
	if _, ok := got["sessions/sessions"]; ok {
		t.Error("the cut-short namespace sessions was committed")
	}
}
