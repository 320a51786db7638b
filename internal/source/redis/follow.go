package redis

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/lifeline-backup/lifeline/internal/source"
)

var (
	_ source.Follower   = (*Source)(nil)
	_ source.ChangeFeed = (*Source)(nil)
)

// MaxFollowedKeys is how many changed keys a namespace remembers between
// two backups. Past it the namespace drops them, and its next
// incremental compares a full read with the change index instead.
const MaxFollowedKeys = 1_000_000

// notifyClasses are the keyspace notification classes that cover every
// change of a key: generic commands, each data type, expiry, eviction
// and streams. "A" is Redis's alias for all of them.
const notifyClasses = "g$lshzxet"

// Follow turns on the keyspace notifications that Redis needs to report
// every change of a key, when they are off, and subscribes to them for
// the databases of the namespaces. Until the source is closed, reads
// carry a cursor and Changes lists the keys changed after it, so an
// incremental reads only those keys.
//
// Redis sends no notification for FLUSHDB, FLUSHALL, SWAPDB, DEBUG
// RELOAD, a change of the notification settings, or a replica's full
// resync. Follow therefore compares the server's run id, role, modules
// and the call counts of those commands at every cursor, and any
// difference, like a lost subscription, expires every earlier cursor.
// Follow rejects a replica and a server with modules loaded, because
// writes may change their keys without a notification.
func (s *Source) Follow(ctx context.Context) error {
	c := s.client(s.opts.DB)
	if err := s.ping(ctx, c); err != nil {
		return err
	}
	st, err := readStats(ctx, c)
	if err != nil {
		return s.followErr(err)
	}
	if err := st.followable(); err != nil {
		return s.followErr(err)
	}
	if st, err = turnOnNotifications(ctx, c, st); err != nil {
		return s.followErr(err)
	}

	f, err := newFollower(s, c, st)
	if err != nil {
		return s.followErr(err)
	}
	if err := f.subscribe(ctx); err != nil {
		close(f.done)
		f.close()
		return s.followErr(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.follower != nil {
		close(f.done)
		f.close()
		return s.followErr(errors.New("already following"))
	}
	s.follower = f
	go f.run()
	return nil
}

// FollowErr returns why the source, while it follows its changes, could
// not make the cursor of its last read or change list, or nil. A read
// without a cursor makes the next incremental compare a full read.
func (s *Source) FollowErr() error {
	f := s.following()
	if f == nil {
		return nil
	}
	if err := f.err(); err != nil {
		return s.followErr(err)
	}
	return nil
}

func (s *Source) followErr(err error) error {
	return fmt.Errorf("follow changes of %s: %w", s.Describe(), err)
}

// following returns the running follower, or nil.
func (s *Source) following() *follower {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.follower
}

// turnOnNotifications adds the flags that keyspace event notifications
// of every class need to notify-keyspace-events, keeping the ones set,
// unless st shows them on already. It returns the stats after the
// change.
func turnOnNotifications(ctx context.Context, c *goredis.Client,
	st serverStats) (serverStats, error) {
	if st.notifying() {
		return st, nil
	}
	add := ""
	if !strings.Contains(st.notify, "E") {
		add += "E"
	}
	if !strings.Contains(st.notify, "A") &&
		!containsAll(st.notify, notifyClasses) {
		add += "A"
	}
	if err := c.ConfigSet(ctx, "notify-keyspace-events",
		st.notify+add).Err(); err != nil {
		return st, fmt.Errorf("keyspace notifications are off "+
			"(notify-keyspace-events %q) and turning them on failed "+
			"(%w); add \"notify-keyspace-events EA\" to the server's "+
			"redis.conf", st.notify, err)
	}
	return readStats(ctx, c)
}

func containsAll(s, chars string) bool {
	for _, c := range chars {
		if !strings.ContainsRune(s, c) {
			return false
		}
	}
	return true
}

// follower holds the keys changed in each namespace since the reads
// that made the cursors.
//
// Time is counted in epochs. Each cursor starts a new epoch once every
// notification of an earlier write has arrived, and each changed key
// remembers the epoch of its newest notification. A read that starts
// after the cursor of epoch e reads every write of an earlier epoch, so
// the keys changed after it are those noted in epoch e or later.
type follower struct {
	src    *Source
	id     [8]byte
	client *goredis.Client
	// psClient holds the pub/sub connection.
	psClient *goredis.Client
	pubsub   *goredis.PubSub
	dbs      []int
	done     chan struct{}
	cutMu    sync.Mutex

	mu    sync.Mutex
	epoch int64
	// up is false from a lost subscription until it is back.
	up      bool
	nss     map[string]*followed
	stats   serverStats
	waiters map[string]chan int64
	tokens  uint64
	// cutErr is the error of the last cursor that could not be made, or
	// nil.
	cutErr error
}

// followed is the state of one namespace.
type followed struct {
	ns   Namespace
	keys map[string]int64
	// floor is the oldest epoch whose changes keys holds in full, and
	// reason why the older changes were dropped.
	floor  int64
	reason string
}

func newFollower(s *Source, c *goredis.Client,
	st serverStats) (*follower, error) {
	f := &follower{src: s, client: c, stats: st, epoch: 1,
		nss: map[string]*followed{}, waiters: map[string]chan int64{},
		done: make(chan struct{})}
	if _, err := rand.Read(f.id[:]); err != nil {
		return nil, err
	}
	seen := map[int]bool{}
	for _, ns := range s.namespaces {
		f.nss[ns.Name] = &followed{ns: ns, keys: map[string]int64{},
			floor: f.epoch}
		if !seen[ns.DB] {
			seen[ns.DB] = true
			f.dbs = append(f.dbs, ns.DB)
		}
	}
	opts := s.opts
	// RESP2 keeps pub/sub messages apart from RESP3 push replies.
	opts.Protocol = 2
	f.psClient = goredis.NewClient(&opts)
	f.pubsub = f.psClient.Subscribe(context.Background())
	return f, nil
}

// subscribe subscribes to the keyevent channels of the databases and
// waits until Redis has confirmed every pattern.
func (f *follower) subscribe(ctx context.Context) error {
	patterns := make([]string, len(f.dbs))
	for i, db := range f.dbs {
		patterns[i] = "__keyevent@" + strconv.Itoa(db) + "__:*"
	}
	if err := f.pubsub.PSubscribe(ctx, patterns...); err != nil {
		return err
	}
	for range patterns {
		msg, err := f.pubsub.Receive(ctx)
		if err != nil {
			return err
		}
		if _, ok := msg.(*goredis.Subscription); !ok {
			return fmt.Errorf("unexpected reply %T to PSUBSCRIBE", msg)
		}
	}
	f.up = true
	return nil
}

// run receives notifications until the pub/sub connection is closed.
// go-redis reconnects and subscribes again after an error; the changes
// missed in between expire every cursor made before.
func (f *follower) run() {
	defer close(f.done)
	wait := 100 * time.Millisecond
	for {
		msg, err := f.pubsub.Receive(context.Background())
		if errors.Is(err, goredis.ErrClosed) {
			f.lose()
			return
		}
		if err != nil {
			f.lose()
			time.Sleep(wait)
			wait = min(2*wait, 10*time.Second)
			continue
		}
		wait = 100 * time.Millisecond
		switch m := msg.(type) {
		case *goredis.Message:
			f.note(m.Channel, m.Payload)
		case *goredis.Pong:
			f.pong(m.Payload)
		case *goredis.Subscription:
			f.resubscribed()
		}
	}
}

// note records the notification of one changed key.
func (f *follower) note(channel, key string) {
	db, ok := channelDB(channel)
	if !ok {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, fs := range f.nss {
		if fs.ns.DB != db || !match(fs.ns.Match, key) {
			continue
		}
		fs.keys[key] = f.epoch
		if len(fs.keys) > MaxFollowedKeys {
			clear(fs.keys)
			fs.floor = f.epoch + 1
			fs.reason = fmt.Sprintf("more than %d keys changed",
				MaxFollowedKeys)
		}
	}
}

// channelDB returns the database of a keyevent channel such as
// "__keyevent@0__:set".
func channelDB(channel string) (int, bool) {
	rest, ok := strings.CutPrefix(channel, "__keyevent@")
	if !ok {
		return 0, false
	}
	num, _, ok := strings.Cut(rest, "__:")
	if !ok {
		return 0, false
	}
	db, err := strconv.Atoi(num)
	return db, err == nil
}

// pong starts a new epoch for the cursor that sent the PING.
func (f *follower) pong(token string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch, ok := f.waiters[token]
	if !ok {
		return
	}
	delete(f.waiters, token)
	f.epoch++
	ch <- f.epoch
}

// lose marks the subscription lost and fails the waiting cursors.
func (f *follower) lose() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.up = false
	for token, ch := range f.waiters {
		close(ch)
		delete(f.waiters, token)
	}
}

// resubscribed drops every remembered change, because some were missed
// while the subscription was down.
func (f *follower) resubscribed() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.up {
		return
	}
	f.forget("the keyspace notification subscription was lost")
	f.up = true
}

// forget clears the changed keys of every namespace and starts a new
// epoch, so every earlier cursor expires. The caller holds f.mu.
func (f *follower) forget(reason string) {
	f.epoch++
	for _, fs := range f.nss {
		clear(fs.keys)
		fs.floor, fs.reason = f.epoch, reason
	}
}

// forgetBefore expires every cursor older than epoch for reason. The
// caller holds f.mu.
func (f *follower) forgetBefore(epoch int64, reason string) {
	for _, fs := range f.nss {
		for k, e := range fs.keys {
			if e < epoch {
				delete(fs.keys, k)
			}
		}
		if epoch > fs.floor {
			fs.floor, fs.reason = epoch, reason
		}
	}
}

// cutTimeout bounds the wait for a cursor's PING reply. A cursor that
// times out is not made, and the read goes on without one.
const cutTimeout = 30 * time.Second

var errNotFollowing = errors.New("the keyspace notification " +
	"subscription is down")

// cut makes a cursor: it returns a new epoch once every notification of
// a write that Redis ran before it has arrived. It also compares the
// server's state with that of the previous cursor, and expires older
// cursors when writes may have gone unnotified.
func (f *follower) cut(ctx context.Context) (int64, error) {
	// Cursors are made one at a time, so each compares its stats with
	// those read just before.
	f.cutMu.Lock()
	defer f.cutMu.Unlock()
	epoch, err := f.makeCursor(ctx)
	f.mu.Lock()
	f.cutErr = err
	f.mu.Unlock()
	return epoch, err
}

// lastRunID returns the run id of the previous cursor's stats.
func (f *follower) lastRunID() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stats.runID
}

// err returns why the last cursor could not be made, or nil.
func (f *follower) err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cutErr
}

// makeCursor does the work of cut; the caller holds f.cutMu.
func (f *follower) makeCursor(ctx context.Context) (int64, error) {
	st, err := readStats(ctx, f.client)
	if err != nil {
		return 0, err
	}
	// A restarted Redis may have lost the setting, or someone may have
	// changed it. The writes in between went unnotified.
	off := ""
	if !st.notifying() {
		off = fmt.Sprintf("keyspace notifications were off or partly "+
			"off (notify-keyspace-events %q)", st.notify)
		if st.runID != f.lastRunID() {
			off = "Redis restarted, " + off
		}
		if st, err = turnOnNotifications(ctx, f.client, st); err != nil {
			f.mu.Lock()
			f.forgetBefore(f.epoch+1, off)
			f.mu.Unlock()
			return 0, err
		}
	}
	ch := make(chan int64, 1)
	f.mu.Lock()
	if !f.up {
		f.mu.Unlock()
		return 0, errNotFollowing
	}
	f.tokens++
	token := "lifeline-cursor-" + strconv.FormatUint(f.tokens, 10)
	f.waiters[token] = ch
	f.mu.Unlock()

	// The PING's reply follows every notification Redis queued before
	// it on the same connection.
	if err := f.pubsub.Ping(ctx, token); err != nil {
		f.drop(token)
		return 0, err
	}
	var epoch int64
	timeout := time.NewTimer(cutTimeout)
	defer timeout.Stop()
	select {
	case e, ok := <-ch:
		if !ok {
			return 0, errNotFollowing
		}
		epoch = e
	case <-timeout.C:
		f.drop(token)
		return 0, fmt.Errorf("no reply to PING on the keyspace "+
			"notification subscription within %v", cutTimeout)
	case <-ctx.Done():
		f.drop(token)
		return 0, ctx.Err()
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	reason := off
	if reason == "" {
		reason = st.changes(f.stats)
	}
	if reason != "" {
		// The stats were read before the PING, so the unnotified
		// writes came before this cursor's read.
		f.forgetBefore(epoch, reason)
	}
	f.stats = st
	return epoch, nil
}

func (f *follower) drop(token string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.waiters, token)
}

// since returns the keys of the namespace changed in epoch from or
// later, and drops older ones, because no later backup requests them.
func (f *follower) since(name string, from int64) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fs, ok := f.nss[name]
	switch {
	case !ok:
		return nil, source.ErrUnknownNamespace
	case from < fs.floor:
		return nil, fmt.Errorf("changes after the cursor were missed, "+
			"because %s: %w", fs.reason, source.ErrCursorExpired)
	case from > f.epoch:
		return nil, fmt.Errorf("the cursor is newer than the follower: "+
			"%w", source.ErrCursorExpired)
	}
	var keys []string
	for k, e := range fs.keys {
		if e < from {
			delete(fs.keys, k)
			continue
		}
		keys = append(keys, k)
	}
	fs.floor = from
	return keys, nil
}

// cursorLen is the length of a cursor: a tag byte, the follower's id and
// the epoch.
const cursorLen = 1 + 8 + 8

func (f *follower) encode(epoch int64) []byte {
	b := make([]byte, 0, cursorLen)
	b = append(b, 'n')
	b = append(b, f.id[:]...)
	return binary.BigEndian.AppendUint64(b, uint64(epoch))
}

// decode returns the epoch of a cursor this follower made.
func (f *follower) decode(cursor []byte) (int64, error) {
	if len(cursor) != cursorLen || cursor[0] != 'n' ||
		[8]byte(cursor[1:9]) != f.id {
		return 0, fmt.Errorf("the cursor is from another process: %w",
			source.ErrCursorExpired)
	}
	return int64(binary.BigEndian.Uint64(cursor[9:])), nil
}

// close stops the follower and waits for it.
func (f *follower) close() error {
	err := f.pubsub.Close()
	<-f.done
	return errors.Join(err, f.psClient.Close())
}
