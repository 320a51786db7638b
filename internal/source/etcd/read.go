package etcd

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/lifeline-backup/lifeline/internal/source"
)

// Read returns every key under the namespace's prefix as of one
// revision, read in pages of PageSize keys. Its iterator implements
// source.Cursored.
func (s *Source) Read(ctx context.Context, namespace string) (
	source.Iterator, error) {
	ns, err := s.namespace(namespace)
	if err != nil {
		return nil, err
	}
	cli, err := s.connect()
	if err != nil {
		return nil, fmt.Errorf("read namespace %q: %w", namespace, err)
	}
	start, end := keyRange(ns.Prefix)
	it := &reader{
		src: s, ns: ns, cli: cli, next: start, end: end,
		leases: newLeases(cli),
	}
	if err := it.fetch(ctx); err != nil {
		return nil, err
	}
	return it, nil
}

// reader pages through one namespace at the revision of its first page.
type reader struct {
	src    *Source
	ns     Namespace
	cli    *clientv3.Client
	leases *leases
	// rev is the revision of the read, set by the first page.
	rev int64
	// next is the first key of the next page, and end the range end.
	next, end string
	more      bool
	page      []*mvccpb.KeyValue
	rec       source.Record
}

var _ source.Cursored = (*reader)(nil)

// fetch reads the page that starts at r.next.
func (r *reader) fetch(ctx context.Context) error {
	opts := []clientv3.OpOption{
		clientv3.WithRange(r.end), clientv3.WithLimit(PageSize),
	}
	if r.rev != 0 {
		opts = append(opts, clientv3.WithRev(r.rev))
	}
	resp, err := r.cli.Get(ctx, r.next, opts...)
	if err != nil {
		return fmt.Errorf("read namespace %q from %s at revision %d: %w",
			r.ns.Name, r.src.Describe(), r.rev, err)
	}
	if r.rev == 0 {
		r.rev = resp.Header.Revision
	}
	r.page = resp.Kvs
	r.more = resp.More
	if n := len(resp.Kvs); n > 0 {
		// The smallest key after the last one of this page.
		r.next = string(resp.Kvs[n-1].Key) + "\x00"
	}
	return nil
}

// Next returns the next key of the namespace.
func (r *reader) Next(ctx context.Context) (*source.Record, error) {
	for len(r.page) == 0 {
		if !r.more {
			return nil, io.EOF
		}
		if err := r.fetch(ctx); err != nil {
			return nil, err
		}
	}
	kv := r.page[0]
	r.page = r.page[1:]
	expires, err := r.leases.expiry(ctx, kv.Lease)
	if err != nil {
		return nil, fmt.Errorf("read namespace %q from %s: %w",
			r.ns.Name, r.src.Describe(), err)
	}
	r.rec = source.Record{
		Key:       kv.Key[len(r.ns.Prefix):],
		Value:     kv.Value,
		ExpiresAt: expires,
	}
	return &r.rec, nil
}

// Cursor returns the revision of the read as 8 bytes big-endian.
func (r *reader) Cursor() []byte {
	return encodeCursor(r.rev)
}

// Close releases nothing, because the client belongs to the Source.
func (r *reader) Close() error {
	return nil
}

// leases turns lease IDs into expiries, asking etcd once per lease.
type leases struct {
	cli   *clientv3.Client
	known map[clientv3.LeaseID]time.Time
}

func newLeases(cli *clientv3.Client) *leases {
	return &leases{cli: cli, known: map[clientv3.LeaseID]time.Time{}}
}

// expiry returns the expiry of lease id: now plus its remaining TTL
// plus half a second, the middle of the second that etcd's whole-second
// TTL leaves open, or now itself for a lease that has expired. Lease 0
// means no lease and never expires.
func (l *leases) expiry(ctx context.Context, id int64) (time.Time, error) {
	if id == 0 {
		return time.Time{}, nil
	}
	lid := clientv3.LeaseID(id)
	if at, ok := l.known[lid]; ok {
		return at, nil
	}
	now := time.Now()
	resp, err := l.cli.TimeToLive(ctx, lid)
	if errors.Is(err, rpctypes.ErrLeaseNotFound) {
		l.known[lid] = now
		return now, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("get TTL of lease %x: %w", id, err)
	}
	at := now
	if resp.TTL >= 0 {
		at = now.Add(time.Duration(resp.TTL)*time.Second +
			time.Second/2)
	}
	l.known[lid] = at
	return at, nil
}

// encodeCursor returns rev as 8 bytes big-endian.
func encodeCursor(rev int64) []byte {
	return binary.BigEndian.AppendUint64(nil, uint64(rev))
}

// decodeCursor parses a cursor made by encodeCursor.
func decodeCursor(c []byte) (int64, error) {
	if len(c) != 8 {
		return 0, fmt.Errorf("invalid etcd cursor: %d bytes, want 8",
			len(c))
	}
	rev := int64(binary.BigEndian.Uint64(c))
	if rev <= 0 {
		return 0, fmt.Errorf("invalid etcd cursor: revision %d", rev)
	}
	return rev, nil
}
