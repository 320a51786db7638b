package etcd

import (
	"context"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/lifeline-backup/lifeline/internal/source"
)

// Write stores records under the namespace's prefix in transactions of
// at most TxnOps operations. In KeepExisting mode each put runs in a
// nested transaction that puts the key only if it does not exist, so an
// existing key is left alone and reported in Conflicts. In Replace mode
// a put overwrites the key, and its lease with it. A tombstone deletes
// the key in Replace mode and counts in Deleted only if the key
// existed. Records with an expiry get a lease granted for the remaining
// TTL, rounded up to whole seconds. A failed transaction leaves the
// earlier ones of the call applied.
func (s *Source) Write(ctx context.Context, namespace string,
	records []source.Record, mode source.WriteMode, now time.Time) (
	source.WriteResult, error) {
	ns, err := s.namespace(namespace)
	if err != nil {
		return source.WriteResult{}, err
	}
	cli, err := s.connect()
	if err != nil {
		return source.WriteResult{}, fmt.Errorf("write namespace %q: %w",
			namespace, err)
	}
	w := &writer{cli: cli, ns: ns, mode: mode, now: now,
		leases: map[int64]*grant{}, keys: map[string]bool{}}
	err = w.writeAll(ctx, records)
	if err == nil {
		err = w.revokeUnused(ctx)
	}
	if err != nil {
		return w.result, fmt.Errorf("write namespace %q to %s: %w",
			namespace, s.Describe(), err)
	}
	return w.result, nil
}

// grant is a lease of one Write call and whether a put used it.
type grant struct {
	id   clientv3.LeaseID
	used bool
}

// writer applies the records of one Write call.
type writer struct {
	cli  *clientv3.Client
	ns   Namespace
	mode source.WriteMode
	now  time.Time
	// leases maps a TTL in seconds to the lease granted for it.
	leases map[int64]*grant

	// ops is the transaction being built; kinds and keys describe its
	// operations, and leaseOf the lease each operation's put uses.
	ops     []clientv3.Op
	kinds   []opKind
	opKeys  [][]byte
	leaseOf []*grant
	keys    map[string]bool
	bytes   int

	result source.WriteResult
}

type opKind int

const (
	opPut opKind = iota
	opPutIfAbsent
	opDelete
)

func (w *writer) writeAll(ctx context.Context, records []source.Record) error {
	for i := range records {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := w.add(ctx, &records[i]); err != nil {
			return err
		}
	}
	return w.flush(ctx)
}

// add queues the operation for rec, committing the transaction first
// when it is full or already touches the key, because etcd rejects a
// transaction that writes one key twice. A record larger than TxnBytes
// goes into a transaction of its own.
func (w *writer) add(ctx context.Context, rec *source.Record) error {
	if rec.Expired(w.now) {
		w.result.Expired++
		return nil
	}
	if rec.Deleted && w.mode != source.Replace {
		return nil
	}
	key := w.ns.Prefix + string(rec.Key)
	if key == "" {
		return fmt.Errorf("record with an empty key: etcd keys " +
			"cannot be empty")
	}
	size := len(key) + len(rec.Value)
	full := len(w.ops) >= TxnOps || w.bytes+size > TxnBytes
	if len(w.ops) > 0 && (full || w.keys[key]) {
		if err := w.flush(ctx); err != nil {
			return err
		}
	}
	if rec.Deleted {
		w.queue(clientv3.OpDelete(key), opDelete, rec.Key, nil)
		w.keys[key] = true
		w.bytes += size
		return nil
	}
	w.bytes += size
	return w.addPut(ctx, key, rec)
}

func (w *writer) addPut(ctx context.Context, key string,
	rec *source.Record) error {
	var opts []clientv3.OpOption
	var g *grant
	if !rec.ExpiresAt.IsZero() {
		var err error
		if g, err = w.lease(ctx, rec.ExpiresAt); err != nil {
			return err
		}
		opts = append(opts, clientv3.WithLease(g.id))
	}
	put := clientv3.OpPut(key, string(rec.Value), opts...)
	w.keys[key] = true
	if w.mode == source.Replace {
		w.queue(put, opPut, rec.Key, g)
		return nil
	}
	absent := clientv3.Compare(clientv3.CreateRevision(key), "=", 0)
	txn := clientv3.OpTxn([]clientv3.Cmp{absent}, []clientv3.Op{put}, nil)
	w.queue(txn, opPutIfAbsent, rec.Key, g)
	return nil
}

func (w *writer) queue(op clientv3.Op, kind opKind, key []byte,
	g *grant) {
	w.ops = append(w.ops, op)
	w.kinds = append(w.kinds, kind)
	w.opKeys = append(w.opKeys, key)
	w.leaseOf = append(w.leaseOf, g)
}

// lease returns the lease for an expiry, granting it on first use.
func (w *writer) lease(ctx context.Context, at time.Time) (*grant, error) {
	ttl := int64((at.Sub(w.now) + time.Second - 1) / time.Second)
	if g, ok := w.leases[ttl]; ok {
		return g, nil
	}
	resp, err := w.cli.Grant(ctx, ttl)
	if err != nil {
		return nil, fmt.Errorf("grant lease of %d s: %w", ttl, err)
	}
	g := &grant{id: resp.ID}
	w.leases[ttl] = g
	return g, nil
}

// flush commits the queued operations as one transaction and counts
// what each did.
func (w *writer) flush(ctx context.Context) error {
	if len(w.ops) == 0 {
		return nil
	}
	resp, err := w.cli.Txn(ctx).Then(w.ops...).Commit()
	if err != nil {
		return fmt.Errorf("commit transaction of %d operations: %w",
			len(w.ops), err)
	}
	for i, r := range resp.Responses {
		switch w.kinds[i] {
		case opPut:
			w.wrote(i)
		case opPutIfAbsent:
			if r.GetResponseTxn().GetSucceeded() {
				w.wrote(i)
			} else {
				w.result.Conflicts = append(w.result.Conflicts,
					append([]byte(nil), w.opKeys[i]...))
			}
		case opDelete:
			if r.GetResponseDeleteRange().GetDeleted() > 0 {
				w.result.Deleted++
			}
		}
	}
	w.ops, w.kinds, w.opKeys, w.leaseOf = nil, nil, nil, nil
	clear(w.keys)
	w.bytes = 0
	return nil
}

func (w *writer) wrote(i int) {
	w.result.Written++
	if g := w.leaseOf[i]; g != nil {
		g.used = true
	}
}

// revokeUnused revokes the leases that no put used, as when every key
// of a TTL was a conflict, so they do not linger until they expire.
func (w *writer) revokeUnused(ctx context.Context) error {
	for ttl, g := range w.leases {
		if g.used {
			continue
		}
		if _, err := w.cli.Revoke(ctx, g.id); err != nil {
			return fmt.Errorf("revoke unused lease of %d s: %w", ttl, err)
		}
	}
	return nil
}
