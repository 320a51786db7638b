package etcd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/metadata"

	"github.com/lifeline-backup/lifeline/internal/source"
)

// progressInterval is how often Changes requests a progress notification
// from etcd. etcd sends one only after the watch has sent every event up
// to the current revision, and drops the request before that.
const progressInterval = 50 * time.Millisecond

// watchStreams numbers the gRPC watch streams Changes opens.
var watchStreams atomic.Uint64

// Changes returns the newest state of every key of the namespace that
// changed after the revision in cursor, up to the revision current when
// Changes starts. Keys that existed at the cursor and were deleted since
// become tombstones. Changes returns source.ErrCursorExpired when etcd
// has compacted that history, or when the cursor is newer than the
// cluster's revision, as after etcd was restored from a snapshot.
func (s *Source) Changes(ctx context.Context, namespace string,
	cursor []byte) (source.Iterator, error) {
	ns, err := s.namespace(namespace)
	if err != nil {
		return nil, err
	}
	from, err := decodeCursor(cursor)
	if err != nil {
		return nil, fmt.Errorf("list changes of namespace %q: %w",
			namespace, err)
	}
	cli, err := s.connect()
	if err != nil {
		return nil, fmt.Errorf("list changes of namespace %q: %w",
			namespace, err)
	}
	w := &watch{cli: cli, ns: ns, from: from, changes: map[string]*change{}}
	if err := w.run(ctx); err != nil {
		return nil, fmt.Errorf("list changes of namespace %q in %s "+
			"after revision %d: %w", namespace, s.Describe(), from, err)
	}
	return w.iterator(s), nil
}

// change is what a watch learned about one key.
type change struct {
	// kv is the newest state of the key; nil once it was deleted.
	kv *mvccpb.KeyValue
	// existed is set when the key existed at the cursor's revision.
	existed bool
}

// watch collects the changes of one namespace between two revisions.
type watch struct {
	cli *clientv3.Client
	ns  Namespace
	// from is the cursor's revision and to the revision when the watch
	// started.
	from, to int64
	changes  map[string]*change
}

// run watches from w.from+1 until etcd reports progress up to w.to.
func (w *watch) run(ctx context.Context) error {
	start, end := keyRange(w.ns.Prefix)
	resp, err := w.cli.Get(ctx, start, clientv3.WithRange(end),
		clientv3.WithCountOnly())
	if err != nil {
		return fmt.Errorf("get current revision: %w", err)
	}
	w.to = resp.Header.Revision
	switch {
	case w.to < w.from:
		return fmt.Errorf("cluster is at revision %d, before the "+
			"cursor: %w", w.to, source.ErrCursorExpired)
	case w.to == w.from:
		return nil
	}

	// A stream of its own keeps other watches of the client from
	// holding back the progress notification this one waits for.
	md := metadata.Pairs("lifeline-watch",
		strconv.FormatUint(watchStreams.Add(1), 10))
	wctx, cancel := context.WithCancel(
		metadata.NewOutgoingContext(ctx, md))
	defer cancel()
	events := w.cli.Watch(wctx, start, clientv3.WithRange(end),
		clientv3.WithRev(w.from+1))
	return w.collect(wctx, events)
}

// collect reads watch responses until one reaches w.to.
func (w *watch) collect(ctx context.Context,
	events clientv3.WatchChan) error {
	tick := time.NewTicker(progressInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
			if err := w.cli.RequestProgress(ctx); err != nil {
				return fmt.Errorf("request watch progress: %w", err)
			}
		case resp, ok := <-events:
			if !ok {
				return errors.New("watch closed")
			}
			done, err := w.apply(resp)
			if done || err != nil {
				return err
			}
		}
	}
}

// apply records the events of resp and reports whether the watch has
// reached w.to.
func (w *watch) apply(resp clientv3.WatchResponse) (bool, error) {
	if err := resp.Err(); err != nil {
		if errors.Is(err, rpctypes.ErrCompacted) {
			return false, fmt.Errorf("history compacted at revision "+
				"%d: %w", resp.CompactRevision, source.ErrCursorExpired)
		}
		return false, fmt.Errorf("watch: %w", err)
	}
	if resp.IsProgressNotify() {
		return resp.Header.Revision >= w.to, nil
	}
	for _, ev := range resp.Events {
		if ev.Kv.ModRevision > w.to {
			return true, nil
		}
		w.note(ev)
	}
	return false, nil
}

// note records one event. The first event of a key shows whether the
// key existed at the cursor, because only a put that creates the key
// (Version 1) means it did not.
func (w *watch) note(ev *clientv3.Event) {
	key := string(ev.Kv.Key)
	c, ok := w.changes[key]
	if !ok {
		created := ev.Type == clientv3.EventTypePut && ev.Kv.Version == 1
		c = &change{existed: !created}
		w.changes[key] = c
	}
	c.kv = nil
	if ev.Type == clientv3.EventTypePut {
		c.kv = ev.Kv
	}
}

// iterator returns the changes in key order: values for the keys that
// exist at w.to, and tombstones for the keys that existed at the
// cursor and no longer do.
func (w *watch) iterator(s *Source) *changeIterator {
	keys := make([]string, 0, len(w.changes))
	for k, c := range w.changes {
		if c.kv != nil || c.existed {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return &changeIterator{src: s, ns: w.ns, rev: w.to, keys: keys,
		changes: w.changes, leases: newLeases(w.cli)}
}

// changeIterator returns the changes one watch collected.
type changeIterator struct {
	src     *Source
	ns      Namespace
	rev     int64
	keys    []string
	changes map[string]*change
	leases  *leases
	rec     source.Record
}

var _ source.Cursored = (*changeIterator)(nil)

// Next returns the next changed key.
func (it *changeIterator) Next(ctx context.Context) (*source.Record, error) {
	if len(it.keys) == 0 {
		return nil, io.EOF
	}
	key := it.keys[0]
	it.keys = it.keys[1:]
	c := it.changes[key]
	delete(it.changes, key)
	it.rec = source.Record{Key: []byte(key[len(it.ns.Prefix):])}
	if c.kv == nil {
		it.rec.Deleted = true
		return &it.rec, nil
	}
	expires, err := it.leases.expiry(ctx, c.kv.Lease)
	if err != nil {
		return nil, fmt.Errorf("list changes of namespace %q in %s: %w",
			it.ns.Name, it.src.Describe(), err)
	}
	it.rec.Value = c.kv.Value
	it.rec.ExpiresAt = expires
	return &it.rec, nil
}

// Cursor returns the revision the changes reach, as 8 bytes big-endian.
func (it *changeIterator) Cursor() []byte {
	return encodeCursor(it.rev)
}

// Close drops the changes not yet returned.
func (it *changeIterator) Close() error {
	it.keys = nil
	it.changes = nil
	return nil
}
