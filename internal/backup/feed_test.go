package backup_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/lifeline-backup/lifeline/internal/backup"
	"github.com/lifeline-backup/lifeline/internal/codec"
	"github.com/lifeline-backup/lifeline/internal/repo"
	"github.com/lifeline-backup/lifeline/internal/restore"
	"github.com/lifeline-backup/lifeline/internal/source"
	"github.com/lifeline-backup/lifeline/internal/source/etcd"
	"github.com/lifeline-backup/lifeline/internal/source/etcd/etcdtest"
	"github.com/lifeline-backup/lifeline/internal/source/natskv"
	"github.com/lifeline-backup/lifeline/internal/source/natskv/natstest"
)

// feedNS is the namespace every change-feed store backs up.
const feedNS = "app"

// feedStore is one store with a change feed under the point-in-time
// test: the source to back up and direct access to the store.
type feedStore struct {
	typ string
	src source.Source
	put func(t *testing.T, key, value string)
	del func(t *testing.T, key string)
	// target returns a source and an empty namespace in it to restore
	// into, and a function that reads that namespace directly.
	target func(t *testing.T, i int) (source.Source, string,
		func(t *testing.T) map[string]string)
}

func TestEtcdPointInTimeWithChangeFeed(t *testing.T) {
	srv := etcdtest.Start(t)
	cli := srv.Client(t)
	src, err := etcd.New(etcd.Config{Name: "cluster",
		Endpoints:  []string{srv.Endpoint},
		Namespaces: []etcd.Namespace{{Name: feedNS, Prefix: "app/"}}})
	if err != nil {
		t.Fatalf("new etcd source: %v", err)
	}
	t.Cleanup(func() { src.Close() })

	runFeedModel(t, feedStore{
		typ: "etcd", src: src,
		put: func(t *testing.T, key, value string) {
			if _, err := cli.Put(t.Context(), "app/"+key, value); err != nil {
				t.Fatalf("put %q: %v", key, err)
			}
		},
		del: func(t *testing.T, key string) {
			if _, err := cli.Delete(t.Context(), "app/"+key); err != nil {
				t.Fatalf("delete %q: %v", key, err)
			}
		},
		target: func(t *testing.T, i int) (source.Source, string,
			func(t *testing.T) map[string]string) {
			prefix := fmt.Sprintf("restore-%d/", i)
			dst, err := etcd.New(etcd.Config{Endpoints: []string{srv.Endpoint},
				Namespaces: []etcd.Namespace{{Name: feedNS, Prefix: prefix}}})
			if err != nil {
				t.Fatalf("new etcd target: %v", err)
			}
			t.Cleanup(func() { dst.Close() })
			return dst, feedNS, func(t *testing.T) map[string]string {
				return etcdPrefix(t, cli, prefix)
			}
		},
	})
}

// etcdPrefix returns the keys under prefix, without it, and their values.
func etcdPrefix(t *testing.T, cli *clientv3.Client,
	prefix string) map[string]string {
	t.Helper()
	resp, err := cli.Get(t.Context(), prefix, clientv3.WithPrefix())
	if err != nil {
		t.Fatalf("get prefix %q: %v", prefix, err)
	}
	out := map[string]string{}
	for _, kv := range resp.Kvs {
		out[strings.TrimPrefix(string(kv.Key), prefix)] = string(kv.Value)
	}
	return out
}

func TestNATSPointInTimeWithChangeFeed(t *testing.T) {
	srv := natstest.Start(t)
	kv := srv.CreateBucket(t, jetstream.KeyValueConfig{Bucket: feedNS})
	src, err := natskv.New(natskv.Config{Name: "nats", URL: srv.URL,
		Buckets: []string{feedNS}})
	if err != nil {
		t.Fatalf("new nats source: %v", err)
	}
	t.Cleanup(func() { src.Close() })

	runFeedModel(t, feedStore{
		typ: "natskv", src: src,
		put: func(t *testing.T, key, value string) {
			if _, err := kv.Put(t.Context(), key, []byte(value)); err != nil {
				t.Fatalf("put %q: %v", key, err)
			}
		},
		del: func(t *testing.T, key string) {
			if err := kv.Delete(t.Context(), key); err != nil {
				t.Fatalf("delete %q: %v", key, err)
			}
		},
		target: func(t *testing.T, i int) (source.Source, string,
			func(t *testing.T) map[string]string) {
			bucket := fmt.Sprintf("restore%d", i)
			dstKV := srv.CreateBucket(t,
				jetstream.KeyValueConfig{Bucket: bucket})
			dst, err := natskv.New(natskv.Config{URL: srv.URL})
			if err != nil {
				t.Fatalf("new nats target: %v", err)
			}
			t.Cleanup(func() { dst.Close() })
			return dst, bucket, func(t *testing.T) map[string]string {
				return natsBucket(t, dstKV)
			}
		},
	})
}

// natsBucket returns the keys of a bucket and their values.
func natsBucket(t *testing.T, kv jetstream.KeyValue) map[string]string {
	t.Helper()
	ctx := t.Context()
	out := map[string]string{}
	keys, err := kv.ListKeys(ctx)
	if err != nil {
		t.Fatalf("list keys: %v", err)
	}
	for key := range keys.Keys() {
		e, err := kv.Get(ctx, key)
		if err != nil {
			t.Fatalf("get %q: %v", key, err)
		}
		out[key] = string(e.Value())
	}
	return out
}

// countingFeed wraps a source with a change feed and counts the
// Changes calls and their results, so the test can tell that an
// incremental used the feed and did not fall back to a full read.
type countingFeed struct {
	source.Source
	calls, expired atomic.Int64
}

func (c *countingFeed) Changes(ctx context.Context, namespace string,
	cursor []byte) (source.Iterator, error) {
	c.calls.Add(1)
	it, err := c.Source.(source.ChangeFeed).Changes(ctx, namespace, cursor)
	if errors.Is(err, source.ErrCursorExpired) {
		c.expired.Add(1)
	}
	return it, err
}

// feedBackup is one backup of the point-in-time test: its time and the
// state of the namespace it captured.
type feedBackup struct {
	time  time.Time
	tier  repo.Tier
	state map[string]string
	// records and tombstones are the counts the backup must store.
	records, tombstones int64
}

// runFeedModel takes a full backup and three incrementals of store with
// changes in between, then restores each backup's moment into an empty
// namespace and compares it with the state recorded at that backup.
func runFeedModel(t *testing.T, store feedStore) {
	base := time.Now().Truncate(time.Hour)
	r := newRepo(t, base)
	feed := &countingFeed{Source: store.src}
	sources := []backup.Source{{Name: "feed", Type: store.typ, Src: feed}}
	state := map[string]string{}
	for i := range 20 {
		key := fmt.Sprintf("key%02d", i)
		store.put(t, key, "initial "+key)
		state[key] = "initial " + key
	}

	var backups []feedBackup
	for step := range 4 {
		b := feedBackup{time: base.Add(time.Duration(step) * time.Hour),
			tier: repo.Incremental}
		if step == 0 {
			b.tier = repo.Full
			b.records = int64(len(state))
		} else {
			b.records, b.tombstones = changeFeedStore(t, store, state, step)
		}
		b.state = maps.Clone(state)
		takeFeedBackup(t, r, sources, &b)
		backups = append(backups, b)
	}
	if got := feed.calls.Load(); got != 3 {
		t.Errorf("Changes called %d times, want once per incremental (3)",
			got)
	}
	if got := feed.expired.Load(); got != 0 {
		t.Errorf("Changes returned ErrCursorExpired %d times, want 0", got)
	}

	for i, b := range backups {
		checkFeedRestore(t, r, store, i, b)
	}
}

// changeFeedStore applies the changes of one step between backups and
// returns how many live records and tombstones the next incremental must
// store: two updates, one value written again unchanged (which only a
// change feed reports), two new keys and two deletes.
func changeFeedStore(t *testing.T, store feedStore, state map[string]string,
	step int) (records, tombstones int64) {
	t.Helper()
	live := slices.Sorted(maps.Keys(state))
	update := []string{live[0], live[len(live)/2]}
	same := live[1]
	deleted := []string{live[2], live[len(live)-1]}

	for _, k := range update {
		value := fmt.Sprintf("step %d update of %s", step, k)
		store.put(t, k, value)
		state[k] = value
	}
	store.put(t, same, state[same])
	for n := range 2 {
		k := fmt.Sprintf("new%d-%d", step, n)
		value := fmt.Sprintf("step %d value of %s", step, k)
		store.put(t, k, value)
		state[k] = value
	}
	for _, k := range deleted {
		store.del(t, k)
		delete(state, k)
	}
	return 5, 2
}

// takeFeedBackup runs one backup at b.time and checks what it stored.
func takeFeedBackup(t *testing.T, r *repo.Repo, sources []backup.Source,
	b *feedBackup) {
	t.Helper()
	at := b.time
	man, err := backup.Run(t.Context(), r, sources, backup.Options{
		Tier: b.tier, Compression: codec.Zstd,
		Now: func() time.Time { return at },
	})
	if err != nil {
		t.Fatalf("%s backup at %s: %v", b.tier, at, err)
	}
	if len(man.Entries) != 1 {
		t.Fatalf("%s backup at %s has %d entries, want 1", b.tier, at,
			len(man.Entries))
	}
	e := man.Entries[0]
	if e.Records != b.records {
		t.Errorf("%s backup at %s stored %d records, want %d", b.tier,
			at.Format(time.TimeOnly), e.Records, b.records)
	}
	if e.Tombstones != b.tombstones {
		t.Errorf("%s backup at %s stored %d tombstones, want %d", b.tier,
			at.Format(time.TimeOnly), e.Tombstones, b.tombstones)
	}
	if len(e.Cursor) != 8 {
		t.Errorf("%s backup at %s has a cursor of %d bytes, want 8",
			b.tier, at.Format(time.TimeOnly), len(e.Cursor))
	}
	if b.tier == repo.Incremental && e.Base == "" {
		t.Errorf("incremental at %s has no base", at.Format(time.TimeOnly))
	}
}

// checkFeedRestore restores the moment of backup i into an empty
// namespace and compares it with the state recorded at that backup.
func checkFeedRestore(t *testing.T, r *repo.Repo, store feedStore, i int,
	b feedBackup) {
	t.Helper()
	chains, err := restore.Chains(t.Context(), r,
		restore.Selection{At: b.time})
	if err != nil {
		t.Fatalf("backup %d: Chains: %v", i, err)
	}
	if len(chains) != 1 {
		t.Fatalf("backup %d: %d chains, want 1", i, len(chains))
	}
	chain := chains[0]
	if len(chain) != i+1 {
		t.Errorf("backup %d: chain of %d parts, want %d", i, len(chain),
			i+1)
	}
	if got := chain[0].Snapshot.Time; !got.Equal(b.time) {
		t.Errorf("backup %d: chain starts at the backup of %s, want %s",
			i, got, b.time)
	}

	dst, ns, read := store.target(t, i)
	items := []restore.Item{{Parts: chain, Namespace: ns,
		To: restore.Target{Name: "copy", Type: store.typ, Src: dst}}}
	_, err = restore.Run(t.Context(), r, items, restore.Options{
		Mode: source.KeepExisting,
		Now:  func() time.Time { return b.time },
	})
	if err != nil {
		t.Fatalf("backup %d: restore: %v", i, err)
	}
	got := read(t)
	for _, k := range slices.Sorted(maps.Keys(b.state)) {
		g, ok := got[k]
		switch {
		case !ok:
			t.Errorf("backup %d: key %q missing after restore", i, k)
		case g != b.state[k]:
			t.Errorf("backup %d: key %q = %q, want %q", i, k, g,
				b.state[k])
		}
	}
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if _, ok := b.state[k]; !ok {
			t.Errorf("backup %d: key %q restored, want it absent", i, k)
		}
	}
}
