package s3list_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/lifeline-backup/lifeline/internal/backup"
	"github.com/lifeline-backup/lifeline/internal/codec"
	"github.com/lifeline-backup/lifeline/internal/repo"
	"github.com/lifeline-backup/lifeline/internal/repo/repotest"
	"github.com/lifeline-backup/lifeline/internal/restore"
	"github.com/lifeline-backup/lifeline/internal/source"
)

// newRepo creates a repository in a temporary folder with a new key.
func newRepo(t *testing.T, now time.Time) *repo.Repo {
	t.Helper()
	return repotest.New(t, now)
}

// dryRun previews a restore of the newest backup into src with mode.
func dryRun(t *testing.T, r *repo.Repo, src source.Source,
	mode source.WriteMode) restore.Diff {
	t.Helper()
	ctx := context.Background()
	chains, err := restore.Chains(ctx, r,
		restore.Selection{Snapshot: "latest"})
	if err != nil {
		t.Fatalf("select backup: %v", err)
	}
	if len(chains) != 1 {
		t.Fatalf("backup holds %d namespaces, want 1", len(chains))
	}
	item := restore.Item{Parts: chains[0], Namespace: "media",
		To: restore.Target{Name: "listing", Type: "s3list", Src: src}}
	results, err := restore.Run(ctx, r, []restore.Item{item},
		restore.Options{Mode: mode, DryRun: true})
	if err != nil {
		t.Fatalf("dry-run restore: %v", err)
	}
	if results[0].Written != 0 {
		t.Errorf("dry run wrote %d records", results[0].Written)
	}
	return results[0].Diff
}

// A bucket changed after its listing was backed up: a dry-run restore
// reports the deleted object as an add and the overwritten one as a
// change, and writes nothing. The object added after the backup counts
// in no kind, because restore classifies only the backed-up records.
func TestRestore_DryRunModifiedBucket(t *testing.T) {
	b := startBucket(t, "media")
	for i := range 10 {
		b.put(t, fmt.Sprintf("file-%02d", i), []byte("original"),
			minio.PutObjectOptions{ContentType: "text/plain"})
	}
	src := b.source(t)
	now := time.Now()
	r := newRepo(t, now)
	_, err := backup.Run(context.Background(), r, []backup.Source{
		{Name: "listing", Type: "s3list", Src: src},
	}, backup.Options{Tier: repo.Complete, Compression: codec.Zstd,
		Now: func() time.Time { return now }})
	if err != nil {
		t.Fatalf("back up listing: %v", err)
	}

	b.remove(t, "file-03")
	b.put(t, "file-07", []byte("rewritten, longer"),
		minio.PutObjectOptions{ContentType: "text/plain"})
	b.put(t, "file-new", []byte("new"), minio.PutObjectOptions{})

	diff := dryRun(t, r, src, source.Replace)
	checks := []struct {
		kind restore.Kind
		want int64
		key  string
	}{
		{restore.Add, 1, "file-03"},
		{restore.Change, 1, "file-07"},
		{restore.Unchanged, 8, ""},
		{restore.Conflict, 0, ""},
		{restore.Delete, 0, ""},
	}
	for _, c := range checks {
		if got := diff.Counts[c.kind]; got != c.want {
			t.Errorf("%s count = %d, want %d", c.kind, got, c.want)
		}
		samples := diff.Samples[c.kind]
		if c.key != "" && (len(samples) != 1 ||
			string(samples[0]) != c.key) {
			t.Errorf("%s samples = %q, want [%s]", c.kind, samples, c.key)
		}
	}

	keep := dryRun(t, r, src, source.KeepExisting)
	if keep.Counts[restore.Conflict] != 1 {
		t.Errorf("conflict count with KeepExisting = %d, want 1",
			keep.Counts[restore.Conflict])
	}
	if keep.Counts[restore.Add] != 1 {
		t.Errorf("add count with KeepExisting = %d, want 1",
			keep.Counts[restore.Add])
	}

	// The preview leaves the bucket as it is.
	got := readAll(t, src, "media")
	if len(got) != 10 {
		t.Errorf("bucket holds %d objects after the dry run, want 10",
			len(got))
	}
}
