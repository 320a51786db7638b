package repo

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lifeline-backup/lifeline/internal/blob"
	"github.com/lifeline-backup/lifeline/internal/blob/local"
	"github.com/lifeline-backup/lifeline/internal/codec"
	"github.com/lifeline-backup/lifeline/internal/seal"
	"github.com/lifeline-backup/lifeline/internal/source"
)

// t0 is the start time of the first test backup.
var t0 = time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)

func newKey(t *testing.T, id string) seal.Key {
	t.Helper()
	encoded, err := seal.GenerateKey()
	if err != nil {
		t.Fatalf("GenerateKey: %v", err)
	}
	k, err := seal.ParseKey(id, encoded)
	if err != nil {
		t.Fatalf("ParseKey: %v", err)
	}
	return k
}

func newKeyring(t *testing.T, keys ...seal.Key) *seal.Keyring {
	t.Helper()
	r, err := seal.NewKeyring(keys...)
	if err != nil {
		t.Fatalf("NewKeyring: %v", err)
	}
	return r
}

func newStore(t *testing.T) *local.Store {
	t.Helper()
	s, err := local.New(t.TempDir())
	if err != nil {
		t.Fatalf("local.New: %v", err)
	}
	return s
}

// testRepo is a repository in a fresh folder, initialized with the key
// "main".
type testRepo struct {
	*Repo
	store blob.Store
	key   seal.Key
}

func initRepo(t *testing.T) *testRepo {
	t.Helper()
	store := newStore(t)
	key := newKey(t, "main")
	r, err := Init(t.Context(), store, newKeyring(t, key), t0)
	if err != nil {
		t.Fatalf("Init: %v", err)
	}
	return &testRepo{Repo: r, store: store, key: key}
}

// namespaceRecords is the content of one namespace of a test backup.
type namespaceRecords struct {
	name    string
	base    string
	records []source.Record
}

// writeNamespaces adds namespaces of source "cache" to a backup.
func writeNamespaces(t *testing.T, w *Writer, spaces ...namespaceRecords) {
	t.Helper()
	ctx := t.Context()
	for _, ns := range spaces {
		nw := w.Namespace("cache", "redis", ns.name, ns.base)
		for i := range ns.records {
			added, err := nw.Add(ctx, &ns.records[i])
			if err != nil {
				t.Fatalf("Add %s record %d: %v", ns.name, i, err)
			}
			if !added {
				t.Fatalf("Add %s record %d: skipped as a duplicate",
					ns.name, i)
			}
		}
		if _, err := nw.Close(ctx); err != nil {
			t.Fatalf("Close %s: %v", ns.name, err)
		}
	}
}

// backup writes and commits a backup that started at start.
func backup(t *testing.T, r *Repo, tier Tier, start time.Time,
	spaces ...namespaceRecords) *Snapshot {
	t.Helper()
	w, err := r.NewWriter(tier, start, codec.Zstd)
	if err != nil {
		t.Fatalf("NewWriter: %v", err)
	}
	writeNamespaces(t, w, spaces...)
	if _, err := w.Commit(t.Context(), start.Add(time.Second)); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	s, err := r.LoadSnapshot(t.Context(), w.ID())
	if err != nil {
		t.Fatalf("LoadSnapshot(%s): %v", w.ID(), err)
	}
	return s
}

func records(prefix string, n int) []source.Record {
	out := make([]source.Record, n)
	for i := range out {
		out[i] = source.Record{
			Key:   []byte(fmt.Sprintf("%s:%04d", prefix, i)),
			Value: []byte(fmt.Sprintf("value %d of %s", i, prefix)),
		}
	}
	return out
}

func sumOf(recs []source.Record) string {
	var s codec.Sum
	for i := range recs {
		s.Add(codec.RecordHash(recs[i].Key, codec.ContentHash(&recs[i])))
	}
	return s.String()
}

// readNamespace returns copies of every record of one namespace.
func readNamespace(t *testing.T, r *Repo, s *Snapshot,
	ns string) []source.Record {
	t.Helper()
	e, ok := s.Entry("cache", ns)
	if !ok {
		t.Fatalf("backup %s has no namespace cache/%s", s.ID, ns)
	}
	var out []source.Record
	err := r.ReadNamespace(t.Context(), s, e, func(rec *source.Record) error {
		c := *rec
		c.Key = bytes.Clone(rec.Key)
		c.Value = bytes.Clone(rec.Value)
		c.Metadata = bytes.Clone(rec.Metadata)
		out = append(out, c)
		return nil
	})
	if err != nil {
		t.Fatalf("ReadNamespace %s: %v", ns, err)
	}
	return out
}

func checkRecords(t *testing.T, got, want []source.Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("read %d records, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if !bytes.Equal(g.Key, w.Key) {
			t.Errorf("record %d: key %q, want %q", i, g.Key, w.Key)
		}
		if !bytes.Equal(g.Value, w.Value) {
			t.Errorf("record %d (%q): value of %d bytes differs from the "+
				"%d written", i, w.Key, len(g.Value), len(w.Value))
		}
		if !bytes.Equal(g.Metadata, w.Metadata) {
			t.Errorf("record %d: metadata %q, want %q", i, g.Metadata,
				w.Metadata)
		}
		if !g.ExpiresAt.Equal(w.ExpiresAt) {
			t.Errorf("record %d: expiry %v, want %v", i, g.ExpiresAt,
				w.ExpiresAt)
		}
		if g.Deleted != w.Deleted {
			t.Errorf("record %d: deleted %v, want %v", i, g.Deleted,
				w.Deleted)
		}
	}
}

// reopen opens the repository afresh, as a new lifeline process would, so
// no manifest loaded before is cached.
func reopen(t *testing.T, tr *testRepo) *Repo {
	t.Helper()
	r, err := Open(t.Context(), tr.store, tr.Keyring())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return r
}

func putObject(t *testing.T, s blob.Store, name string, body []byte) {
	t.Helper()
	err := s.Put(t.Context(), name, bytes.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatalf("Put(%q): %v", name, err)
	}
}

func deleteObject(t *testing.T, s blob.Store, name string) {
	t.Helper()
	if err := s.Delete(t.Context(), name); err != nil {
		t.Fatalf("Delete(%q): %v", name, err)
	}
}

// replaceObject rewrites an object through change, which gets a copy of
// its bytes.
func replaceObject(t *testing.T, s blob.Store, name string,
	change func([]byte) []byte) {
	t.Helper()
	body, err := blob.ReadAll(t.Context(), s, name)
	if err != nil {
		t.Fatalf("ReadAll(%q): %v", name, err)
	}
	deleteObject(t, s, name)
	putObject(t, s, name, change(bytes.Clone(body)))
}

func TestInit_NonEmptyStore(t *testing.T) {
	store := newStore(t)
	putObject(t, store, "notes.txt", []byte("not a repository"))
	_, err := Init(t.Context(), store, newKeyring(t, newKey(t, "main")), t0)
	if err == nil {
		t.Fatal("Init of a non-empty store: no error")
	}
	if !strings.Contains(err.Error(), "notes.txt") {
		t.Errorf("error %q does not name the object found", err)
	}
	if _, err := store.Stat(t.Context(), configName); !errors.Is(err,
		blob.ErrNotFound) {
		t.Errorf("Stat(config) after a rejected Init: %v, want "+
			"ErrNotFound", err)
	}
}

func TestInit_ExistingRepository(t *testing.T) {
	tr := initRepo(t)
	_, err := Init(t.Context(), tr.store, newKeyring(t, tr.key), t0)
	if err == nil {
		t.Fatal("second Init: no error")
	}
	if !strings.Contains(err.Error(), "already exists") {
		t.Errorf("error %q does not say a repository exists", err)
	}
	r, err := Open(t.Context(), tr.store, newKeyring(t, tr.key))
	if err != nil {
		t.Fatalf("Open after the rejected Init: %v", err)
	}
	if r.ID() != tr.ID() {
		t.Errorf("repository id changed from %s to %s", tr.ID(), r.ID())
	}
}

func TestOpen_NotInitialized(t *testing.T) {
	_, err := Open(t.Context(), newStore(t),
		newKeyring(t, newKey(t, "main")))
	if !errors.Is(err, ErrNotInitialized) {
		t.Errorf("error %v, want ErrNotInitialized", err)
	}
}

func TestOpen_WrongKey(t *testing.T) {
	tr := initRepo(t)
	_, err := Open(t.Context(), tr.store, newKeyring(t, newKey(t, "main")))
	if !errors.Is(err, ErrWrongKey) {
		t.Fatalf("error %v, want ErrWrongKey", err)
	}
	if !strings.Contains(err.Error(), `"main"`) {
		t.Errorf("error %q does not name the key id", err)
	}
}

func TestOpen_SecondKeyWrong(t *testing.T) {
	tr := initRepo(t)
	spare := newKey(t, "spare")
	ctx := t.Context()
	if _, err := Open(ctx, tr.store, newKeyring(t, tr.key, spare)); err != nil {
		t.Fatalf("Open with a new key: %v", err)
	}
	_, err := Open(ctx, tr.store, newKeyring(t, tr.key, newKey(t, "spare")))
	if !errors.Is(err, ErrWrongKey) {
		t.Fatalf("error %v, want ErrWrongKey", err)
	}
	if !strings.Contains(err.Error(), `"spare"`) {
		t.Errorf("error %q does not name the key id", err)
	}
}

func TestOpen_WritesNewKeyCheck(t *testing.T) {
	tr := initRepo(t)
	ctx := t.Context()
	if _, err := tr.store.Stat(ctx, "keys/spare"); !errors.Is(err,
		blob.ErrNotFound) {
		t.Fatalf("Stat(keys/spare) before Open: %v, want ErrNotFound", err)
	}
	spare := newKey(t, "spare")
	if _, err := Open(ctx, tr.store, newKeyring(t, tr.key, spare)); err != nil {
		t.Fatalf("Open: %v", err)
	}
	if _, err := tr.store.Stat(ctx, "keys/spare"); err != nil {
		t.Errorf("Stat(keys/spare) after Open: %v", err)
	}
	// The new key alone now opens the repository.
	if _, err := Open(ctx, tr.store, newKeyring(t, spare)); err != nil {
		t.Errorf("Open with only the new key: %v", err)
	}
}

func TestOpen_KeyCheckFromOtherRepository(t *testing.T) {
	ctx := t.Context()
	a := initRepo(t)
	b := newStore(t)
	if _, err := Init(ctx, b, newKeyring(t, a.key), t0); err != nil {
		t.Fatalf("Init: %v", err)
	}
	check, err := blob.ReadAll(ctx, a.store, "keys/main")
	if err != nil {
		t.Fatal(err)
	}
	replaceObject(t, b, "keys/main", func([]byte) []byte { return check })
	_, err = Open(ctx, b, newKeyring(t, a.key))
	if !errors.Is(err, ErrWrongKey) {
		t.Errorf("error %v, want ErrWrongKey", err)
	}
}

func TestCommit_ListsAndLoads(t *testing.T) {
	tr := initRepo(t)
	ctx := t.Context()
	users := records("user", 300)
	users[7].Metadata = []byte(`{"type":"hash"}`)
	users[8].ExpiresAt = time.Date(2030, 1, 1, 0, 0, 0, 5, time.UTC)
	sessions := records("session", 20)
	sessions = append(sessions, source.Record{Key: []byte("gone"),
		Deleted: true})

	w, err := tr.NewWriter(Full, t0, codec.Gzip)
	if err != nil {
		t.Fatal(err)
	}
	writeNamespaces(t, w,
		namespaceRecords{name: "users", records: users},
		namespaceRecords{name: "sessions", records: sessions})
	finished := t0.Add(3 * time.Second)
	m, err := w.Commit(ctx, finished)
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if m.ID != w.ID() {
		t.Errorf("manifest id %s, writer id %s", m.ID, w.ID())
	}

	snaps, bad, err := tr.Snapshots(ctx)
	if err != nil {
		t.Fatalf("Snapshots: %v", err)
	}
	if len(bad) != 0 {
		t.Errorf("Snapshots: unreadable backups %v", bad)
	}
	if len(snaps) != 1 {
		t.Fatalf("Snapshots returned %d backups, want 1", len(snaps))
	}
	s := snaps[0]
	if s.ID != w.ID() {
		t.Errorf("ID = %s, want %s", s.ID, w.ID())
	}
	if s.Tier != Full {
		t.Errorf("Tier = %s, want %s", s.Tier, Full)
	}
	if !s.Time.Equal(t0) || !s.Finished.Equal(finished) {
		t.Errorf("Time, Finished = %v, %v, want %v, %v", s.Time,
			s.Finished, t0, finished)
	}
	if got, want := s.Records(), int64(320); got != want {
		t.Errorf("Records() = %d, want %d", got, want)
	}
	if got := s.Sources(); len(got) != 1 || got[0] != "cache" {
		t.Errorf("Sources() = %v, want [cache]", got)
	}
	if len(s.Entries) != 2 || s.Entries[0].Namespace != "sessions" {
		t.Errorf("entries %v, want sessions then users", s.Entries)
	}

	for _, tt := range []struct {
		name       string
		recs       []source.Record
		records    int64
		tombstones int64
	}{
		{"users", users, 300, 0},
		{"sessions", sessions, 20, 1},
	} {
		e, ok := s.Entry("cache", tt.name)
		if !ok {
			t.Fatalf("no entry for cache/%s", tt.name)
		}
		if e.Records != tt.records || e.Tombstones != tt.tombstones {
			t.Errorf("%s: records, tombstones = %d, %d, want %d, %d",
				tt.name, e.Records, e.Tombstones, tt.records, tt.tombstones)
		}
		if e.Hash != sumOf(tt.recs) {
			t.Errorf("%s: hash %s, want %s", tt.name, e.Hash, sumOf(tt.recs))
		}
		if e.Type != "redis" {
			t.Errorf("%s: type %q, want redis", tt.name, e.Type)
		}
		checkRecords(t, readNamespace(t, tr.Repo, s, tt.name), tt.recs)
	}
}

func TestCommit_StoredEncrypted(t *testing.T) {
	tr := initRepo(t)
	recs := []source.Record{{Key: []byte("secret-key-name"),
		Value: []byte("secret-value-text")}}
	backup(t, tr.Repo, Full, t0,
		namespaceRecords{name: "plain-namespace", records: recs})
	for info, err := range tr.store.List(t.Context(), "") {
		if err != nil {
			t.Fatal(err)
		}
		body, err := blob.ReadAll(t.Context(), tr.store, info.Name)
		if err != nil {
			t.Fatal(err)
		}
		for _, text := range []string{"secret-key-name",
			"secret-value-text", "plain-namespace"} {
			if bytes.Contains(body, []byte(text)) {
				t.Errorf("object %s contains %q in clear", info.Name, text)
			}
		}
	}
}

func TestWriter_UncommittedInvisible(t *testing.T) {
	tr := initRepo(t)
	ctx := t.Context()
	w, err := tr.NewWriter(Full, t0, codec.Zstd)
	if err != nil {
		t.Fatal(err)
	}
	writeNamespaces(t, w,
		namespaceRecords{name: "users", records: records("user", 50)})

	ids, err := tr.SnapshotIDs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 0 {
		t.Errorf("SnapshotIDs = %v, want none", ids)
	}
	snaps, bad, err := tr.Snapshots(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(snaps) != 0 || len(bad) != 0 {
		t.Errorf("Snapshots = %d backups, %d errors, want none",
			len(snaps), len(bad))
	}
	if _, err := tr.Resolve(ctx, "latest"); !errors.Is(err,
		ErrSnapshotNotFound) {
		t.Errorf("Resolve(latest): %v, want ErrSnapshotNotFound", err)
	}
	if _, err := tr.Resolve(ctx, w.ID()); !errors.Is(err,
		ErrSnapshotNotFound) {
		t.Errorf("Resolve(%s): %v, want ErrSnapshotNotFound", w.ID(), err)
	}
	res, err := tr.Check(ctx, CheckOptions{ReadPercent: 100})
	if err != nil {
		t.Fatal(err)
	}
	if res.Backups != 0 || len(res.Problems) != 0 {
		t.Errorf("Check: %d backups, problems %v, want none", res.Backups,
			res.Problems)
	}
}

func TestAdd_DuplicateKeySkipped(t *testing.T) {
	tr := initRepo(t)
	ctx := t.Context()
	w, err := tr.NewWriter(Full, t0, codec.Zstd)
	if err != nil {
		t.Fatal(err)
	}
	nw := w.Namespace("cache", "redis", "db0", "")
	first := source.Record{Key: []byte("k"), Value: []byte("first")}
	again := source.Record{Key: []byte("k"), Value: []byte("second")}
	if added, err := nw.Add(ctx, &first); err != nil || !added {
		t.Fatalf("Add first: %v, %v", added, err)
	}
	added, err := nw.Add(ctx, &again)
	if err != nil {
		t.Fatal(err)
	}
	if added {
		t.Error("Add of a key seen before returned true")
	}
	e, err := nw.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if e.Records != 1 {
		t.Errorf("Records = %d, want 1", e.Records)
	}
	if _, err := w.Commit(ctx, t0); err != nil {
		t.Fatal(err)
	}
	s, err := tr.LoadSnapshot(ctx, w.ID())
	if err != nil {
		t.Fatal(err)
	}
	checkRecords(t, readNamespace(t, tr.Repo, s, "db0"),
		[]source.Record{first})
}

func bigRecord(key string, size int) source.Record {
	v := make([]byte, size)
	for i := range v {
		v[i] = byte(i * 7 / 5)
	}
	return source.Record{Key: []byte(key), Value: v}
}

func TestWriter_LargeRecordReadsBack(t *testing.T) {
	tr := initRepo(t)
	recs := []source.Record{
		bigRecord("big-first", ChunkSize+1),
		{Key: []byte("small-1"), Value: []byte("a")},
		bigRecord("big-middle", 2*ChunkSize),
		{Key: []byte("small-2"), Value: []byte("b")},
	}
	s := backup(t, tr.Repo, Full, t0,
		namespaceRecords{name: "blobs", records: recs})
	checkRecords(t, readNamespace(t, tr.Repo, s, "blobs"), recs)
	e, _ := s.Entry("cache", "blobs")
	if e.Hash != sumOf(recs) {
		t.Errorf("hash %s, want %s", e.Hash, sumOf(recs))
	}
}

// TestWriter_LargeRecordOwnChunk checks the ChunkSize contract: a record
// larger than ChunkSize fills a chunk alone.
func TestWriter_LargeRecordOwnChunk(t *testing.T) {
	tr := initRepo(t)
	recs := []source.Record{
		bigRecord("big-1", ChunkSize+1),
		{Key: []byte("small-1"), Value: []byte("a")},
		{Key: []byte("small-2"), Value: []byte("b")},
		bigRecord("big-2", ChunkSize+1),
		{Key: []byte("small-3"), Value: []byte("c")},
	}
	s := backup(t, tr.Repo, Full, t0,
		namespaceRecords{name: "blobs", records: recs})
	e, _ := s.Entry("cache", "blobs")
	var counts []int64
	for _, c := range e.Chunks {
		counts = append(counts, c.Records)
	}
	want := []int64{1, 2, 1, 1}
	if fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Errorf("records per chunk %v, want %v", counts, want)
	}
	checkRecords(t, readNamespace(t, tr.Repo, s, "blobs"), recs)
}

func TestWriter_ManyRecordsSpanChunks(t *testing.T) {
	tr := initRepo(t)
	recs := make([]source.Record, 400)
	for i := range recs {
		recs[i] = bigRecord(fmt.Sprintf("k%05d", i), 40<<10)
		recs[i].Value[0] = byte(i)
	}
	s := backup(t, tr.Repo, Full, t0,
		namespaceRecords{name: "many", records: recs})
	e, _ := s.Entry("cache", "many")
	if len(e.Chunks) < 3 {
		t.Errorf("%d chunks for %d MiB of records, want at least 3",
			len(e.Chunks), 400*40>>10)
	}
	var total int64
	for _, c := range e.Chunks {
		total += c.Records
		if c.Records == 0 {
			t.Errorf("chunk %s holds no record", c.Name)
		}
	}
	if total != int64(len(recs)) || e.Records != int64(len(recs)) {
		t.Errorf("chunks hold %d records, entry says %d, want %d", total,
			e.Records, len(recs))
	}
	if len(e.Index) == 0 {
		t.Error("entry has no index chunk")
	}
	checkRecords(t, readNamespace(t, tr.Repo, s, "many"), recs)
}

func TestResolve(t *testing.T) {
	tr := initRepo(t)
	ctx := t.Context()
	ns := namespaceRecords{name: "db0", records: records("k", 3)}
	first := backup(t, tr.Repo, Full, t0, ns)
	second := backup(t, tr.Repo, Full, t0.Add(time.Hour), ns)
	third := backup(t, tr.Repo, Full, t0.AddDate(0, 1, 0), ns)
	suffix := second.ID[strings.LastIndex(second.ID, "-")+1:]

	tests := []struct {
		ref  string
		want string
	}{
		{"latest", third.ID},
		{first.ID, first.ID},
		{second.ID, second.ID},
		{"202404", third.ID},
		{first.ID[:len(first.ID)-2], first.ID},
		{suffix, second.ID},
	}
	for _, tt := range tests {
		got, err := tr.Resolve(ctx, tt.ref)
		if err != nil {
			t.Errorf("Resolve(%q): %v", tt.ref, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Resolve(%q) = %s, want %s", tt.ref, got, tt.want)
		}
	}

	_, err := tr.Resolve(ctx, "202403")
	if err == nil {
		t.Error(`Resolve("202403"): no error for an ambiguous prefix`)
	} else {
		for _, id := range []string{first.ID, second.ID} {
			if !strings.Contains(err.Error(), id) {
				t.Errorf("ambiguity error %q does not list %s", err, id)
			}
		}
	}

	for _, ref := range []string{"1999", "20240301T100001Z", "zzz"} {
		_, err := tr.Resolve(ctx, ref)
		if !errors.Is(err, ErrSnapshotNotFound) {
			t.Errorf("Resolve(%q): %v, want ErrSnapshotNotFound", ref, err)
		}
	}
}

// TestResolve_LatestSameSecond commits two backups that start in the same
// second, the later one with the lexically smaller id. Ids order backups
// only by second, so "latest" must still pick the later start.
func TestResolve_LatestSameSecond(t *testing.T) {
	tr := initRepo(t)
	ctx := t.Context()
	earlier, err := tr.NewWriter(Full, t0.Add(100*time.Millisecond),
		codec.Zstd)
	if err != nil {
		t.Fatal(err)
	}
	var later *Writer
	for later == nil || later.ID() > earlier.ID() {
		later, err = tr.NewWriter(Full, t0.Add(900*time.Millisecond),
			codec.Zstd)
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, w := range []*Writer{earlier, later} {
		writeNamespaces(t, w,
			namespaceRecords{name: "db0", records: records("k", 1)})
		if _, err := w.Commit(ctx, t0.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
	}

	snaps, _, err := tr.Snapshots(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(snaps) != 2 || snaps[1].ID != later.ID() {
		t.Errorf("Snapshots does not end with the later backup %s",
			later.ID())
	}
	got, err := tr.Resolve(ctx, "latest")
	if err != nil {
		t.Fatal(err)
	}
	if got != later.ID() {
		t.Errorf("Resolve(latest) = %s (started %v), want %s (started %v)",
			got, earlier.Start(), later.ID(), later.Start())
	}
}

func TestLoadSnapshot_WrapRemoved(t *testing.T) {
	tr := initRepo(t)
	ctx := t.Context()
	s := backup(t, tr.Repo, Full, t0,
		namespaceRecords{name: "db0", records: records("k", 5)})
	deleteObject(t, tr.store, wrapName(s.ID, "main"))

	r := reopen(t, tr)
	_, err := r.LoadSnapshot(ctx, s.ID)
	if !errors.Is(err, ErrNoKey) {
		t.Fatalf("LoadSnapshot: %v, want ErrNoKey", err)
	}
	if !strings.Contains(err.Error(), s.ID) {
		t.Errorf("error %q does not name the backup %s", err, s.ID)
	}
	snaps, bad, err := r.Snapshots(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(snaps) != 0 || len(bad) != 1 {
		t.Errorf("Snapshots = %d backups, %d errors, want 0, 1",
			len(snaps), len(bad))
	}
}

func TestLoadSnapshot_KeyNotInKeyring(t *testing.T) {
	tr := initRepo(t)
	ctx := t.Context()
	s := backup(t, tr.Repo, Full, t0,
		namespaceRecords{name: "db0", records: records("k", 5)})

	other := newKey(t, "next")
	r, err := Open(ctx, tr.store, newKeyring(t, other))
	if err != nil {
		t.Fatalf("Open with another key id: %v", err)
	}
	_, err = r.LoadSnapshot(ctx, s.ID)
	if !errors.Is(err, ErrNoKey) {
		t.Fatalf("LoadSnapshot: %v, want ErrNoKey", err)
	}
	if !strings.Contains(err.Error(), "main") {
		t.Errorf("error %q does not name the key id main", err)
	}
	if !strings.Contains(err.Error(), s.ID) {
		t.Errorf("error %q does not name the backup %s", err, s.ID)
	}
}

func TestLoadSnapshot_RotatedKey(t *testing.T) {
	tr := initRepo(t)
	ctx := t.Context()
	recs := records("k", 5)
	old := backup(t, tr.Repo, Full, t0,
		namespaceRecords{name: "db0", records: recs})

	next := newKey(t, "next")
	r, err := Open(ctx, tr.store, newKeyring(t, next, tr.key))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	s, err := r.LoadSnapshot(ctx, old.ID)
	if err != nil {
		t.Fatalf("LoadSnapshot of a backup under the second key: %v", err)
	}
	checkRecords(t, readNamespace(t, r, s, "db0"), recs)

	fresh := backup(t, r, Full, t0.Add(time.Hour),
		namespaceRecords{name: "db0", records: recs})
	if _, err := tr.store.Stat(ctx, wrapName(fresh.ID, "next")); err != nil {
		t.Errorf("new backup is not wrapped under the primary key: %v", err)
	}
}

func TestLoadSnapshot_Unknown(t *testing.T) {
	tr := initRepo(t)
	_, err := tr.LoadSnapshot(t.Context(), "20240101T000000Z-00000000")
	if err == nil {
		t.Error("LoadSnapshot of an unknown id: no error")
	}
}

func TestChain_Incremental(t *testing.T) {
	tr := initRepo(t)
	ctx := t.Context()
	a := source.Record{Key: []byte("a"), Value: []byte("1")}
	b := source.Record{Key: []byte("b"), Value: []byte("2")}
	c := source.Record{Key: []byte("c"), Value: []byte("3")}
	full := backup(t, tr.Repo, Full, t0, namespaceRecords{name: "db0",
		records: []source.Record{a, b, c}})

	b2 := source.Record{Key: []byte("b"), Value: []byte("changed")}
	cGone := source.Record{Key: []byte("c"), Deleted: true}
	d := source.Record{Key: []byte("d"), Value: []byte("4")}
	inc := backup(t, tr.Repo, Incremental, t0.Add(time.Hour),
		namespaceRecords{name: "db0", base: full.ID,
			records: []source.Record{b2, cGone, d}})

	chain, err := tr.Chain(ctx, inc, "cache", "db0")
	if err != nil {
		t.Fatalf("Chain: %v", err)
	}
	if len(chain) != 2 || chain[0].Snapshot.ID != inc.ID ||
		chain[1].Snapshot.ID != full.ID {
		t.Fatalf("Chain returned %d parts, want the incremental then the "+
			"full backup", len(chain))
	}
	if err := tr.Verify(ctx, chain); err != nil {
		t.Errorf("Verify: %v", err)
	}

	idx, err := tr.LoadIndex(ctx, chain)
	if err != nil {
		t.Fatalf("LoadIndex: %v", err)
	}
	want := map[string]source.Record{"a": a, "b": b2, "d": d}
	if len(idx) != len(want) {
		t.Errorf("index has %d keys, want %d", len(idx), len(want))
	}
	for k, rec := range want {
		e, ok := idx[codec.KeyHash([]byte(k))]
		if !ok {
			t.Errorf("index lacks key %q", k)
			continue
		}
		if e.Content != codec.ContentHash(&rec) {
			t.Errorf("index content of %q is not the newest", k)
		}
	}

	// c is held as of the full backup and deleted as of the
	// incremental; b is held as of both.
	indexKeys := func(parts []Part, keys ...string) string {
		t.Helper()
		lookup := map[codec.Hash]bool{}
		for _, k := range keys {
			lookup[codec.KeyHash([]byte(k))] = true
		}
		var found []string
		err := tr.IndexKeys(ctx, parts, lookup, func(key []byte) error {
			found = append(found, string(key))
			return nil
		})
		if err != nil {
			t.Fatalf("IndexKeys: %v", err)
		}
		slices.Sort(found)
		return fmt.Sprint(found)
	}
	if got := indexKeys(chain, "b", "c", "x"); got != "[b]" {
		t.Errorf("IndexKeys of the incremental found %s, want [b]", got)
	}
	if got := indexKeys(chain[1:], "b", "c", "x"); got != "[b c]" {
		t.Errorf("IndexKeys of the full backup found %s, want [b c]", got)
	}

	snaps, _, err := tr.Snapshots(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s := Newest(snaps, "cache", "db0", time.Time{}); s == nil ||
		s.ID != inc.ID {
		t.Errorf("Newest at any time is not the incremental")
	}
	if s := Newest(snaps, "cache", "db0", t0.Add(time.Minute)); s == nil ||
		s.ID != full.ID {
		t.Errorf("Newest a minute after the full backup is not the full")
	}
	if s := Newest(snaps, "cache", "db0", t0.Add(-time.Second)); s != nil {
		t.Errorf("Newest before any backup = %s, want none", s.ID)
	}
	if s := Newest(snaps, "cache", "db9", time.Time{}); s != nil {
		t.Errorf("Newest of an unknown namespace = %s, want none", s.ID)
	}
}

func TestChain_BaseMissing(t *testing.T) {
	tr := initRepo(t)
	ctx := t.Context()
	full := backup(t, tr.Repo, Full, t0,
		namespaceRecords{name: "db0", records: records("k", 2)})
	inc := backup(t, tr.Repo, Incremental, t0.Add(time.Hour),
		namespaceRecords{name: "db0", base: full.ID,
			records: records("j", 1)})
	deleteObject(t, tr.store, snapshotName(full.ID))

	_, err := reopen(t, tr).Chain(ctx, inc, "cache", "db0")
	if err == nil {
		t.Fatal("Chain with its base removed: no error")
	}
	if !strings.Contains(err.Error(), full.ID) {
		t.Errorf("error %q does not name the missing base %s", err,
			full.ID)
	}
}

func TestParseTier(t *testing.T) {
	for _, s := range []string{"incremental", "full", "complete"} {
		got, err := ParseTier(s)
		if err != nil || string(got) != s {
			t.Errorf("ParseTier(%q) = %q, %v", s, got, err)
		}
	}
	if _, err := ParseTier("differential"); err == nil {
		t.Error(`ParseTier("differential"): no error`)
	}
}
