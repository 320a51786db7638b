package cfkv

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lifeline-backup/lifeline/internal/backup"
	"github.com/lifeline-backup/lifeline/internal/codec"
	"github.com/lifeline-backup/lifeline/internal/repo"
	"github.com/lifeline-backup/lifeline/internal/repo/repotest"
	"github.com/lifeline-backup/lifeline/internal/restore"
	"github.com/lifeline-backup/lifeline/internal/source"
	"github.com/lifeline-backup/lifeline/internal/source/cfkv/cftest"
)

// longKey is exactly MaxKeyBytes of UTF-8 with multi-byte characters:
// 170 euro signs of 3 bytes and one e-acute of 2 bytes.
var longKey = strings.Repeat("€", 170) + "é"

// seedAwkward fills the namespace with keys that test the listing and
// URL encoding, and n plain keys, and returns what it stored.
func seedAwkward(srv *cftest.Server, nsID string,
	n int) map[string]cftest.Entry {
	exp := time.Now().Add(time.Hour).Unix()
	want := map[string]cftest.Entry{
		"/leading/slash": {Value: []byte("slash"),
			Metadata: []byte(`{"kind":"path"}`)},
		longKey:         {Value: []byte("long key"), Expiration: exp},
		"a%2Fb?c#d e+f": {Value: []byte("reserved characters")},
		"binary": {Value: []byte{0xff, 0x00, 0xc3, 0x28},
			Metadata: []byte(`{"n":1,"tags":["a","b"]}`), Expiration: exp},
		"ключ/日本": {Value: []byte("unicode key")},
	}
	for i := range n {
		want[fmt.Sprintf("plain:%05d", i)] = cftest.Entry{
			Value: fmt.Appendf(nil, "value %d", i)}
	}
	for k, e := range want {
		srv.Put(nsID, k, e)
	}
	return want
}

// faultyListing makes the next listing start with an empty page with a
// cursor, hand back one cursor again and respond 429 three times.
func faultyListing(srv *cftest.Server) {
	srv.SetFaults(cftest.Faults{EmptyPages: 1, RepeatCursors: 1,
		TooManyRequests: 3, RetryAfter: 7})
}

func TestRead_FaultsEveryKeyOnce(t *testing.T) {
	srv := newServer(t)
	id := srv.CreateNamespace("sessions")
	want := seedAwkward(srv, id, 2500)
	s, sl := newSource(t, srv, nil)
	faultyListing(srv)

	recs := readAll(t, s, "sessions")

	stats := srv.Stats()
	if stats.EmptyPages != 1 || stats.RepeatedCursors != 1 ||
		stats.TooManyRequests != 3 {
		t.Fatalf("faults served = %+v, want 1 empty page, 1 repeated "+
			"cursor and 3 responses 429", stats)
	}
	seen := map[string]int{}
	for _, r := range recs {
		seen[string(r.Key)]++
	}
	for k := range want {
		if seen[k] != 1 {
			t.Errorf("key %q read %d times, want 1", k, seen[k])
		}
	}
	if len(recs) != len(want) {
		t.Errorf("read %d records, want %d", len(recs), len(want))
	}
	checkRecords(t, recs, want)
	for _, d := range sl.recorded() {
		if d != 7*time.Second {
			t.Errorf("waited %v before a retry, want the Retry-After "+
				"of 7s", d)
		}
	}
	if n := len(sl.recorded()); n != 3 {
		t.Errorf("waited %d times, want 3", n)
	}
}

// checkRecords compares records with the stored entries.
func checkRecords(t *testing.T, recs []source.Record,
	want map[string]cftest.Entry) {
	t.Helper()
	for _, r := range recs {
		e, ok := want[string(r.Key)]
		if !ok {
			t.Errorf("read key %q, which was never stored", r.Key)
			continue
		}
		if string(r.Value) != string(e.Value) {
			t.Errorf("key %q: value %q, want %q", r.Key, r.Value, e.Value)
		}
		if string(r.Metadata) != string(e.Metadata) {
			t.Errorf("key %q: metadata %s, want %s", r.Key, r.Metadata,
				e.Metadata)
		}
		var wantExp time.Time
		if e.Expiration != 0 {
			wantExp = time.Unix(e.Expiration, 0)
		}
		if !r.ExpiresAt.Equal(wantExp) {
			t.Errorf("key %q: expires %v, want %v", r.Key, r.ExpiresAt,
				wantExp)
		}
	}
}

// TestBackupRestore_Faults backs up a namespace through a faulty
// listing into a local repository and restores it into an empty second
// namespace on the same server.
func TestBackupRestore_Faults(t *testing.T) {
	ctx := t.Context()
	srv := newServer(t)
	srcID := srv.CreateNamespace("production")
	dstID := srv.CreateNamespace("restored")
	want := seedAwkward(srv, srcID, 2500)
	s, _ := newSource(t, srv, func(c *Config) {
		c.Namespaces = []string{"production", "restored"}
	})
	r := newRepo(t)

	faultyListing(srv)
	var records int64
	_, err := backup.Run(ctx, r, []backup.Source{{Name: "kv", Type: "cfkv",
		Src: s, Namespaces: []string{"production"}}},
		backup.Options{Tier: repo.Full, Compression: codec.Zstd,
			Progress: func(p backup.Progress) {
				if p.Done {
					records = p.Records
				}
			}})
	if err != nil {
		t.Fatalf("backup.Run: %v", err)
	}
	if records != int64(len(want)) {
		t.Errorf("backup holds %d records, want %d", records, len(want))
	}
	if srv.Stats().RepeatedCursors != 1 || srv.Stats().EmptyPages != 1 {
		t.Fatalf("faults not served during the backup: %+v", srv.Stats())
	}

	restoreInto(t, r, s, "restored")
	got := srv.Entries(dstID)
	for _, k := range slices.Sorted(maps.Keys(want)) {
		g, ok := got[k]
		if !ok {
			t.Errorf("key %q missing after the restore", k)
			continue
		}
		checkEntry(t, k, g, want[k])
	}
	if len(got) != len(want) {
		t.Errorf("restored namespace holds %d keys, want %d",
			len(got), len(want))
	}
}

func checkEntry(t *testing.T, key string, got, want cftest.Entry) {
	t.Helper()
	if string(got.Value) != string(want.Value) {
		t.Errorf("key %q: value %q, want %q", key, got.Value, want.Value)
	}
	if string(got.Metadata) != string(want.Metadata) {
		t.Errorf("key %q: metadata %s, want %s", key, got.Metadata,
			want.Metadata)
	}
	if got.Expiration != want.Expiration {
		t.Errorf("key %q: expiration %d, want %d", key, got.Expiration,
			want.Expiration)
	}
}

func restoreInto(t *testing.T, r *repo.Repo, s *Source, ns string) {
	t.Helper()
	ctx := t.Context()
	chains, err := restore.Chains(ctx, r,
		restore.Selection{At: time.Now()})
	if err != nil {
		t.Fatalf("restore.Chains: %v", err)
	}
	var items []restore.Item
	for _, ch := range chains {
		items = append(items, restore.Item{Parts: ch, Namespace: ns,
			To: restore.Target{Name: "kv", Type: "cfkv", Src: s}})
	}
	res, err := restore.Run(ctx, r, items,
		restore.Options{Mode: source.KeepExisting})
	if err != nil {
		t.Fatalf("restore.Run: %v", err)
	}
	for _, rs := range res {
		if rs.Written != rs.Records {
			t.Errorf("restore wrote %d of %d records", rs.Written,
				rs.Records)
		}
	}
	if sk := s.Skipped(); len(sk) > 0 {
		t.Errorf("restore skipped %d records, the first %q: %s",
			len(sk), sk[0].Key, sk[0].Reason)
	}
}

// newRepo creates a repository in a temporary folder with a new key.
func newRepo(t *testing.T) *repo.Repo {
	t.Helper()
	return repotest.New(t, time.Now())
}
