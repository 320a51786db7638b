package backup_test

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	bbolt "go.etcd.io/bbolt"

	"github.com/lifeline-backup/lifeline/internal/backup"
	"github.com/lifeline-backup/lifeline/internal/codec"
	"github.com/lifeline-backup/lifeline/internal/repo"
	"github.com/lifeline-backup/lifeline/internal/repo/repotest"
	"github.com/lifeline-backup/lifeline/internal/restore"
	"github.com/lifeline-backup/lifeline/internal/source"
	"github.com/lifeline-backup/lifeline/internal/source/bolt"
	"github.com/lifeline-backup/lifeline/internal/source/redis"
	"github.com/lifeline-backup/lifeline/internal/source/redis/redistest"
)

// The model run: every simulated hour a few random operations on each
// source and an incremental backup, every simulated day a full one.
const (
	modelSeed    = 20261204
	modelHours   = 3 * 24
	keySpace     = 400
	initialKeys  = 300
	opsPerHour   = 6
	momentsTotal = 300
	redisSource  = "cache"
	redisNS      = "kv"
	boltSource   = "app"
	boltBucket   = "items"
)

// redisEntry is the model of one Redis key: a string value and an
// absolute expiry, zero for none.
type redisEntry struct {
	value   string
	expires time.Time
}

// modelState is the content of both sources at one moment.
type modelState struct {
	redis map[string]redisEntry
	bolt  map[string][]byte
}

func (s modelState) clone() modelState {
	return modelState{redis: maps.Clone(s.redis), bolt: maps.Clone(s.bolt)}
}

// modelBackup is one backup of the run and the state it captured.
type modelBackup struct {
	hour  int
	time  time.Time
	tier  repo.Tier
	state modelState
}

// modelRun is the state of one model run: the sources, the repository,
// the simulated clock and the backups taken so far.
type modelRun struct {
	t        *testing.T
	ctx      context.Context
	rng      *rand.Rand
	base     time.Time
	clock    time.Time
	src      *goredis.Client
	boltPath string
	repo     *repo.Repo
	sources  []backup.Source
	state    modelState
	backups  []modelBackup

	// feed counts the reads of a Redis source that follows its changes.
	feed *readCounter

	// dst is the Redis server that every check restores into.
	dst       *redistest.Server
	dstClient *goredis.Client
}

// runModel runs three simulated days of writes and backups. Before the
// backup of each hour it calls beforeBackup, if set, and after it
// afterBackup.
// With follow set, the Redis source follows its keyspace notifications,
// so its incrementals read only the keys that changed.
func runModel(t *testing.T, follow bool,
	beforeBackup, afterBackup func(hour int)) *modelRun {
	t.Helper()
	m := newModelRun(t, follow)
	m.populate()
	m.backup(0, repo.Full)
	for h := 1; h <= modelHours; h++ {
		m.clock = m.base.Add(time.Duration(h) * time.Hour)
		m.changeRedis(h)
		m.changeBolt(h)
		tier := repo.Incremental
		if h%24 == 0 {
			tier = repo.Full
		}
		if beforeBackup != nil {
			beforeBackup(h)
		}
		m.backup(h, tier)
		if afterBackup != nil {
			afterBackup(h)
		}
	}
	return m
}

func newModelRun(t *testing.T, follow bool) *modelRun {
	t.Helper()
	ctx := context.Background()
	base := time.Now().Truncate(time.Hour)
	m := &modelRun{
		t: t, ctx: ctx, base: base, clock: base,
		rng:      rand.New(rand.NewPCG(modelSeed, modelSeed)),
		boltPath: filepath.Join(t.TempDir(), "app.db"),
		state: modelState{redis: map[string]redisEntry{},
			bolt: map[string][]byte{}},
	}
	srv := redistest.Start(t)
	m.src = srv.Client(t)
	m.dst = redistest.Start(t)
	m.dstClient = m.dst.Client(t)

	rs, err := redis.New(redis.Config{URL: srv.URL(0),
		Namespaces: []redis.Namespace{{Name: redisNS, DB: -1}}})
	if err != nil {
		t.Fatalf("new redis source: %v", err)
	}
	t.Cleanup(func() { rs.Close() })
	var redisSrc source.Source = rs
	if follow {
		if err := rs.Follow(ctx); err != nil {
			t.Fatalf("follow: %v", err)
		}
		m.feed = &readCounter{Source: rs}
		redisSrc = m.feed
	}
	bs, err := bolt.New(bolt.Config{Path: m.boltPath})
	if err != nil {
		t.Fatalf("new bolt source: %v", err)
	}
	m.sources = []backup.Source{
		{Name: redisSource, Type: "redis", Src: redisSrc},
		{Name: boltSource, Type: "bolt", Src: bs},
	}
	m.repo = newRepo(t, base)
	return m
}

// readCounter counts how often a backup reads the whole namespace and
// how often only its changes.
type readCounter struct {
	*redis.Source
	mu             sync.Mutex
	reads, changes int
}

func (c *readCounter) Read(ctx context.Context,
	ns string) (source.Iterator, error) {
	c.mu.Lock()
	c.reads++
	c.mu.Unlock()
	return c.Source.Read(ctx, ns)
}

func (c *readCounter) Changes(ctx context.Context, ns string,
	cursor []byte) (source.Iterator, error) {
	it, err := c.Source.Changes(ctx, ns, cursor)
	if err == nil {
		c.mu.Lock()
		c.changes++
		c.mu.Unlock()
	}
	return it, err
}

// newRepo creates a repository in a temporary folder with a new key.
func newRepo(t *testing.T, now time.Time) *repo.Repo {
	t.Helper()
	return repotest.New(t, now)
}

func redisKey(i int) string { return fmt.Sprintf("k:%03d", i) }

func boltKey(i int) string { return fmt.Sprintf("item:%03d", i) }

// farExpiry returns an expiry 4 to 8 days after the real clock, at 500
// ms past a whole second. Redis counts expiries in real time, so they
// must outlast the test. The change index compares expiries in whole
// seconds, and the half second keeps the expiry that a read derives
// from PTTL inside the same second on every read.
func (m *modelRun) farExpiry() time.Time {
	secs := 4*24*3600 + m.rng.Int64N(4*24*3600)
	at := time.Now().Truncate(time.Second).Add(time.Duration(secs) *
		time.Second)
	return at.Add(500 * time.Millisecond)
}

// populate writes the data set of the first backup.
func (m *modelRun) populate() {
	for _, i := range m.rng.Perm(keySpace)[:initialKeys] {
		m.setRedis(redisKey(i), fmt.Sprintf("v0-%d", i))
		if m.rng.IntN(4) == 0 {
			m.expireRedis(redisKey(i))
		}
	}
	for _, i := range m.rng.Perm(keySpace)[:initialKeys] {
		m.putBolt(boltKey(i))
	}
}

// changeRedis applies the operations of one hour to Redis: always one
// delete, so every incremental has a tombstone, then random writes,
// deletes, expiries and PERSISTs.
func (m *modelRun) changeRedis(hour int) {
	m.deleteRedis(m.pickRedis())
	for n := 1; n < opsPerHour; n++ {
		switch op := m.rng.IntN(10); {
		case op < 4:
			i := m.rng.IntN(keySpace)
			m.setRedis(redisKey(i), fmt.Sprintf("v%d-%d-%d", hour, n, i))
		case op < 6:
			m.deleteRedis(m.pickRedis())
		case op < 8:
			m.expireRedis(m.pickRedis())
		default:
			m.persistRedis(m.pickRedis())
		}
	}
}

// pickRedis returns a random key that Redis contains.
func (m *modelRun) pickRedis() string {
	keys := slices.Sorted(maps.Keys(m.state.redis))
	if len(keys) == 0 {
		m.t.Fatal("the Redis model holds no keys")
	}
	return keys[m.rng.IntN(len(keys))]
}

func (m *modelRun) setRedis(key, value string) {
	if err := m.src.Set(m.ctx, key, value, 0).Err(); err != nil {
		m.t.Fatalf("SET %s: %v", key, err)
	}
	m.state.redis[key] = redisEntry{value: value}
}

func (m *modelRun) deleteRedis(key string) {
	if err := m.src.Del(m.ctx, key).Err(); err != nil {
		m.t.Fatalf("DEL %s: %v", key, err)
	}
	delete(m.state.redis, key)
}

func (m *modelRun) expireRedis(key string) {
	at := m.farExpiry()
	if err := m.src.PExpireAt(m.ctx, key, at).Err(); err != nil {
		m.t.Fatalf("PEXPIREAT %s: %v", key, err)
	}
	e := m.state.redis[key]
	e.expires = at
	m.state.redis[key] = e
}

func (m *modelRun) persistRedis(key string) {
	if err := m.src.Persist(m.ctx, key).Err(); err != nil {
		m.t.Fatalf("PERSIST %s: %v", key, err)
	}
	e := m.state.redis[key]
	e.expires = time.Time{}
	m.state.redis[key] = e
}

// changeBolt applies the operations of one hour to the bbolt file:
// always one delete, then random puts and deletes.
func (m *modelRun) changeBolt(hour int) {
	m.deleteBolt(m.pickBolt())
	for n := 1; n < opsPerHour; n++ {
		if m.rng.IntN(3) == 0 {
			m.deleteBolt(m.pickBolt())
			continue
		}
		m.putBolt(boltKey(m.rng.IntN(keySpace)))
	}
}

func (m *modelRun) pickBolt() string {
	keys := slices.Sorted(maps.Keys(m.state.bolt))
	if len(keys) == 0 {
		m.t.Fatal("the bbolt model holds no keys")
	}
	return keys[m.rng.IntN(len(keys))]
}

// putBolt stores 1 to 64 random bytes under key.
func (m *modelRun) putBolt(key string) {
	value := make([]byte, 1+m.rng.IntN(64))
	for i := range value {
		value[i] = byte(m.rng.IntN(256))
	}
	m.updateBolt(func(b *bbolt.Bucket) error {
		return b.Put([]byte(key), value)
	})
	m.state.bolt[key] = value
}

func (m *modelRun) deleteBolt(key string) {
	m.updateBolt(func(b *bbolt.Bucket) error {
		return b.Delete([]byte(key))
	})
	delete(m.state.bolt, key)
}

func (m *modelRun) updateBolt(fn func(*bbolt.Bucket) error) {
	db, err := bbolt.Open(m.boltPath, 0o600,
		&bbolt.Options{Timeout: time.Second})
	if err != nil {
		m.t.Fatalf("open %s: %v", m.boltPath, err)
	}
	defer db.Close()
	err = db.Update(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte(boltBucket))
		if err != nil {
			return err
		}
		return fn(b)
	})
	if err != nil {
		m.t.Fatalf("update %s: %v", m.boltPath, err)
	}
}

// backup takes one backup at the simulated clock and records the model
// state under the backup's time.
func (m *modelRun) backup(hour int, tier repo.Tier) {
	clock := m.clock
	man, err := backup.Run(m.ctx, m.repo, m.sources, backup.Options{
		Tier: tier, Compression: codec.Zstd,
		Now: func() time.Time { return clock },
	})
	if err != nil {
		m.t.Fatalf("hour %d: %s backup: %v", hour, tier, err)
	}
	if !man.Time.Equal(clock) {
		m.t.Fatalf("hour %d: backup time = %s, want the injected clock %s",
			hour, man.Time, clock)
	}
	for _, e := range man.Entries {
		if tier == repo.Incremental && e.Base == "" {
			m.t.Fatalf("hour %d: incremental entry %s/%s has no base, "+
				"want one that builds on the previous backup", hour,
				e.Source, e.Namespace)
		}
	}
	m.backups = append(m.backups, modelBackup{hour: hour, time: man.Time,
		tier: tier, state: m.state.clone()})
}

// moments returns momentsTotal moments in the run's span: every backup's
// exact time, moments just before the first backup, one nanosecond
// before some backups, and random moments from an hour before the first
// backup to an hour after the last.
func (m *modelRun) moments() []time.Time {
	var out []time.Time
	for _, b := range m.backups {
		out = append(out, b.time)
	}
	out = append(out, m.base.Add(-time.Nanosecond),
		m.base.Add(-time.Second), m.base.Add(-30*time.Minute))
	for i := 1; i < len(m.backups); i += 7 {
		out = append(out, m.backups[i].time.Add(-time.Nanosecond))
	}
	start := m.base.Add(-time.Hour)
	span := int64((modelHours + 2) * time.Hour)
	for len(out) < momentsTotal {
		out = append(out, start.Add(time.Duration(m.rng.Int64N(span))))
	}
	return out
}

// backupAt returns the index of the newest backup not later than at, or
// -1 when there is none.
func (m *modelRun) backupAt(at time.Time) int {
	want := -1
	for i, b := range m.backups {
		if !b.time.After(at) {
			want = i
		}
	}
	return want
}

// verify restores the state at each moment and returns every way it
// differs from the model. Moments that map to the same backup are
// checked once, but each moment's chains are looked up.
func (m *modelRun) verify(moments []time.Time) []string {
	var bad []string
	count := map[int]int{}
	chainsOf := map[int][][]repo.Part{}
	for _, at := range moments {
		want := m.backupAt(at)
		chains, err := restore.Chains(m.ctx, m.repo,
			restore.Selection{At: at})
		if want < 0 {
			if err == nil {
				bad = append(bad, fmt.Sprintf("at %s, before the first "+
					"backup: Chains returned %d chains, want an error",
					at.Format(time.RFC3339Nano), len(chains)))
			}
			continue
		}
		if err != nil {
			bad = append(bad, fmt.Sprintf("at %s: Chains: %v",
				at.Format(time.RFC3339Nano), err))
			continue
		}
		bad = append(bad, m.checkChains(at, want, chains)...)
		if _, ok := chainsOf[want]; !ok {
			chainsOf[want] = chains
		}
		count[want]++
	}
	for _, i := range slices.Sorted(maps.Keys(chainsOf)) {
		bad = append(bad, m.checkRestore(i, count[i], chainsOf[i])...)
	}
	return bad
}

// checkChains checks that the chains for moment at start at the backup
// the model expects and end at a full backup.
func (m *modelRun) checkChains(at time.Time, want int,
	chains [][]repo.Part) []string {
	var bad []string
	wantTime := m.backups[want].time
	if len(chains) != 2 {
		bad = append(bad, fmt.Sprintf("at %s: %d chains, want 2 (one "+
			"per source)", at.Format(time.RFC3339Nano), len(chains)))
	}
	for _, ch := range chains {
		e := ch[0].Entry
		if got := ch[0].Snapshot.Time; !got.Equal(wantTime) {
			bad = append(bad, fmt.Sprintf("at %s: %s/%s restores from "+
				"the backup of %s, want %s", at.Format(time.RFC3339Nano),
				e.Source, e.Namespace, got.Format(time.RFC3339Nano),
				wantTime.Format(time.RFC3339Nano)))
		}
		if tier := ch[len(ch)-1].Snapshot.Tier; tier != repo.Full {
			bad = append(bad, fmt.Sprintf("at %s: chain of %s/%s ends "+
				"at a %s backup, want full", at.Format(time.RFC3339Nano),
				e.Source, e.Namespace, tier))
		}
	}
	return bad
}

// checkRestore restores the chains of backup i into an empty Redis
// database and a new bbolt file and compares both with the model.
func (m *modelRun) checkRestore(i, moments int,
	chains [][]repo.Part) []string {
	b := m.backups[i]
	label := fmt.Sprintf("backup %d (hour %d, %s, at %s, checked for %d "+
		"moments)", i, b.hour, b.tier, b.time.Format(time.RFC3339), moments)
	if err := m.dstClient.FlushAll(m.ctx).Err(); err != nil {
		m.t.Fatalf("FLUSHALL: %v", err)
	}
	boltPath := filepath.Join(m.t.TempDir(), "restored.db")
	items, err := m.restoreItems(chains, boltPath)
	if err != nil {
		return []string{label + ": " + err.Error()}
	}
	_, err = restore.Run(m.ctx, m.repo, items, restore.Options{
		Mode: source.KeepExisting,
		Now:  func() time.Time { return b.time },
	})
	if err != nil {
		return []string{fmt.Sprintf("%s: restore: %v", label, err)}
	}
	var bad []string
	for _, msg := range m.compareRedis(b.state.redis) {
		bad = append(bad, label+": "+msg)
	}
	for _, msg := range compareBolt(boltPath, b.state.bolt) {
		bad = append(bad, label+": "+msg)
	}
	return bad
}

// restoreItems maps each chain to the target of its source: the Redis
// server dst, or a new bbolt file at boltPath.
func (m *modelRun) restoreItems(chains [][]repo.Part,
	boltPath string) ([]restore.Item, error) {
	rs, err := redis.New(redis.Config{URL: m.dst.URL(0),
		Namespaces: []redis.Namespace{{Name: redisNS, DB: -1}}})
	if err != nil {
		return nil, err
	}
	m.t.Cleanup(func() { rs.Close() })
	bs, err := bolt.New(bolt.Config{Path: boltPath, Create: true})
	if err != nil {
		return nil, err
	}
	var items []restore.Item
	for _, ch := range chains {
		switch e := ch[0].Entry; e.Source {
		case redisSource:
			items = append(items, restore.Item{Parts: ch, Namespace: redisNS,
				To: restore.Target{Name: "copy", Type: "redis", Src: rs}})
		case boltSource:
			items = append(items, restore.Item{Parts: ch,
				Namespace: boltBucket,
				To:        restore.Target{Name: "copy", Type: "bolt", Src: bs}})
		default:
			return nil, fmt.Errorf("unexpected source %q in chain",
				e.Source)
		}
	}
	return items, nil
}

// compareRedis compares every key of the restored server with want:
// values exactly, expiries (derived from PTTL) within a second.
func (m *modelRun) compareRedis(want map[string]redisEntry) []string {
	keys, err := m.dstClient.Keys(m.ctx, "*").Result()
	if err != nil {
		m.t.Fatalf("KEYS: %v", err)
	}
	var bad []string
	for _, k := range keys {
		if _, ok := want[k]; !ok {
			bad = append(bad, fmt.Sprintf("redis key %s restored, want "+
				"it absent (deleted)", k))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if msg := m.compareRedisKey(k, want[k]); msg != "" {
			bad = append(bad, "redis key "+k+": "+msg)
		}
	}
	return bad
}

func (m *modelRun) compareRedisKey(key string, want redisEntry) string {
	value, err := m.dstClient.Get(m.ctx, key).Result()
	if err == goredis.Nil {
		return "missing"
	}
	if err != nil {
		m.t.Fatalf("GET %s: %v", key, err)
	}
	ttl, err := m.dstClient.PTTL(m.ctx, key).Result()
	if err != nil {
		m.t.Fatalf("PTTL %s: %v", key, err)
	}
	now := time.Now()
	switch {
	case value != want.value:
		return fmt.Sprintf("value %q, want %q", value, want.value)
	case ttl < 0 && !want.expires.IsZero():
		return fmt.Sprintf("no expiry, want %s",
			want.expires.Format(time.RFC3339Nano))
	case ttl >= 0 && want.expires.IsZero():
		return fmt.Sprintf("expires in %v, want no expiry", ttl)
	case ttl < 0:
		return ""
	}
	got := now.Add(ttl)
	if d := got.Sub(want.expires); d > time.Second || d < -time.Second {
		return fmt.Sprintf("expires at %s, want %s",
			got.Format(time.RFC3339Nano),
			want.expires.Format(time.RFC3339Nano))
	}
	return ""
}

// compareBolt compares the bucket of the restored bbolt file with want.
func compareBolt(path string, want map[string][]byte) []string {
	db, err := bbolt.Open(path, 0o600,
		&bbolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return []string{fmt.Sprintf("open restored bbolt file: %v", err)}
	}
	defer db.Close()
	got := map[string][]byte{}
	err = db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket([]byte(boltBucket))
		if b == nil {
			return fmt.Errorf("bucket %q missing", boltBucket)
		}
		return b.ForEach(func(k, v []byte) error {
			got[string(k)] = bytes.Clone(v)
			return nil
		})
	})
	if err != nil {
		return []string{fmt.Sprintf("read restored bbolt file: %v", err)}
	}
	var bad []string
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[k]; !ok {
			bad = append(bad, fmt.Sprintf("bbolt key %s restored, want "+
				"it absent (deleted)", k))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(want)) {
		g, ok := got[k]
		switch {
		case !ok:
			bad = append(bad, "bbolt key "+k+": missing")
		case !bytes.Equal(g, want[k]):
			bad = append(bad, fmt.Sprintf("bbolt key %s: value %x, "+
				"want %x", k, g, want[k]))
		}
	}
	return bad
}

func TestModel_PointInTimeRestore(t *testing.T) {
	for _, follow := range []bool{false, true} {
		t.Run(modelName(follow), func(t *testing.T) {
			m := runModel(t, follow, nil, nil)
			if len(m.backups) != modelHours+1 {
				t.Fatalf("%d backups, want %d", len(m.backups),
					modelHours+1)
			}
			if follow {
				m.checkFollowed()
			}
			bad := m.verify(m.moments())
			for i, msg := range bad {
				if i == 20 {
					t.Errorf("... and %d more mismatches", len(bad)-i)
					break
				}
				t.Error(msg)
			}
		})
	}
}

func modelName(follow bool) string {
	if follow {
		return "following"
	}
	return "comparing"
}

// checkFollowed checks that every Redis incremental read only the
// changes, and every full backup the whole namespace.
func (m *modelRun) checkFollowed() {
	fulls, incrementals := 0, 0
	for _, b := range m.backups {
		if b.tier == repo.Incremental {
			incrementals++
		} else {
			fulls++
		}
	}
	if m.feed.reads != fulls || m.feed.changes != incrementals {
		m.t.Errorf("redis source: %d full reads and %d change lists, "+
			"want %d and %d", m.feed.reads, m.feed.changes, fulls,
			incrementals)
	}
}

// droppedHour is the hour whose incremental loses a tombstone in
// TestModel_DetectsDroppedTombstone.
const droppedHour = 30

func TestModel_DetectsDroppedTombstone(t *testing.T) {
	for _, follow := range []bool{false, true} {
		t.Run(modelName(follow), func(t *testing.T) {
			testDroppedTombstone(t, follow)
		})
	}
}

func testDroppedTombstone(t *testing.T, follow bool) {
	var mu sync.Mutex
	dropped := 0
	before := func(hour int) {
		if hour != droppedHour {
			return
		}
		backup.SetDropTombstone(func(src, ns string) bool {
			mu.Lock()
			defer mu.Unlock()
			if src != redisSource || dropped > 0 {
				return false
			}
			dropped++
			return true
		})
	}
	after := func(int) { backup.SetDropTombstone(nil) }
	t.Cleanup(func() { backup.SetDropTombstone(nil) })

	m := runModel(t, follow, before, after)
	if dropped != 1 {
		t.Fatalf("the hook dropped %d tombstones, want 1", dropped)
	}
	bad := m.verify(m.moments())
	if len(bad) == 0 {
		t.Fatal("verify found no mismatch, want one for the dropped " +
			"tombstone")
	}
	label := fmt.Sprintf("(hour %d,", droppedHour)
	found := false
	for _, msg := range bad {
		t.Logf("mismatch: %s", msg)
		if strings.Contains(msg, label) &&
			strings.Contains(msg, "want it absent") {
			found = true
		}
	}
	if !found {
		t.Errorf("no mismatch names a restored deleted key of hour %d",
			droppedHour)
	}
}
