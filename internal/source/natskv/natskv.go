// Package natskv is the source adapter for NATS JetStream key-value
// buckets.
//
// Each namespace is a bucket, and Record.Key is the key in the bucket.
// Read returns the bucket's current values through an ordered consumer
// that delivers the last message of each key, skipping delete and purge
// markers. The read is not one snapshot: a key written while it runs may
// be returned with its old or its new value.
//
// The iterators of Read and Changes implement source.Cursored. The
// cursor is a sequence number of the bucket's stream, as 8 bytes
// big-endian. Read's cursor is the stream's last sequence before the
// read starts, so the next incremental lists again what changed during
// the read. Changes reads the stream from the sequence after the cursor
// up to the last sequence when it starts. It returns the newest value of
// each changed key, and a tombstone for each key whose newest entry is a
// delete or purge marker. It holds the newest value of every
// changed key in memory until it returns them. It returns
// source.ErrCursorExpired when the stream no longer starts at or before
// the sequence after the cursor, because history limits, MaxAge or a
// purge removed messages since. Because KV streams keep only the newest
// messages of each key, that also happens when every key was written
// again since the cursor, and the backup then reads the bucket whole.
//
// Records carry no Metadata. ExpiresAt is the time the message was
// stored plus its per-message TTL (the Nats-TTL header) or, without
// one, plus the bucket's TTL (the stream's MaxAge); it is zero when
// neither is set. Write gives a record with an expiry a per-message TTL
// of the remaining time, rounded up to whole seconds, when the bucket
// allows per-message TTLs (created with LimitMarkerTTL, NATS Server 2.11
// or later). Into other buckets it writes the value without a TTL, and
// only the bucket's own TTL applies, counted from the restore.
//
// A restore guarantees each key's value and, in buckets that allow
// per-message TTLs, its expiry to within a second. It does not keep
// revisions, creation times or older values of the history, and it
// does not create buckets: the target bucket must exist. Write rejects
// values larger than the bucket's MaxValueSize or the server's max
// payload: it writes the other records of the call and returns an
// error wrapping ErrValueTooLarge that counts the rejected values.
//
// Limits: a delete marker removed by PurgeDeletes, or a stream purged
// by hand, after a cursor hides those deletes from Changes unless the
// purge also removed the messages right after the cursor. Buckets that
// mirror or source other buckets, and JetStream domains, are not
// supported.
package natskv

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lifeline-backup/lifeline/internal/source"
)

// connectTimeout bounds connecting to the server.
const connectTimeout = 5 * time.Second

// ErrValueTooLarge is wrapped by the error of a Write that left out
// values larger than the bucket or the server accepts.
var ErrValueTooLarge = errors.New("value too large")

// Config describes one NATS server and the buckets read from it.
type Config struct {
	// Name is the source name from the configuration.
	Name string
	// URL is the server URL, such as nats://127.0.0.1:4222, or several
	// separated by commas. Credentials in it never appear in errors or
	// in Describe.
	URL string
	// Buckets lists the buckets to back up; empty means every KV bucket
	// of the account.
	Buckets []string
	// CredsFile is a NATS credentials file (JWT and NKey seed).
	CredsFile string
	// Token is an authentication token. It never appears in errors or in
	// Describe.
	Token string
}

// Source reads and writes the KV buckets of one NATS account. It
// connects on first use and is safe for concurrent use.
type Source struct {
	cfg     Config
	display string

	mu sync.Mutex
	nc *nats.Conn
	js jetstream.JetStream
}

var (
	_ source.Source     = (*Source)(nil)
	_ source.Describer  = (*Source)(nil)
	_ source.ChangeFeed = (*Source)(nil)
)

// New validates cfg and returns a Source for it. It does not connect.
func New(cfg Config) (*Source, error) {
	display, err := redactURLs(cfg.URL)
	if err != nil {
		return nil, err
	}
	if cfg.CredsFile != "" && cfg.Token != "" {
		return nil, errors.New("invalid nats config: set either a " +
			"credentials file or a token, not both")
	}
	for i, b := range cfg.Buckets {
		if b == "" {
			return nil, fmt.Errorf("invalid nats config: bucket %d has "+
				"an empty name", i)
		}
		if slices.Contains(cfg.Buckets[:i], b) {
			return nil, fmt.Errorf("invalid nats config: bucket %q "+
				"listed twice", b)
		}
	}
	cfg.Buckets = slices.Clone(cfg.Buckets)
	return &Source{cfg: cfg, display: display}, nil
}

// redactURLs checks the comma-separated server URLs and returns them
// without user information, for messages.
func redactURLs(raw string) (string, error) {
	if raw == "" {
		return "", errors.New("invalid nats config: missing URL")
	}
	var out []string
	for i, part := range strings.Split(raw, ",") {
		u, err := url.Parse(strings.TrimSpace(part))
		if err != nil || u.Host == "" {
			return "", fmt.Errorf("invalid nats config: URL %d is not "+
				"of the form nats://host:port", i)
		}
		u.User = nil
		out = append(out, u.String())
	}
	return strings.Join(out, ","), nil
}

// Describe returns "nats" and the server URLs without credentials.
func (s *Source) Describe() string {
	return "nats " + s.display
}

// Namespaces returns the configured buckets or, when none are
// configured, every KV bucket of the account.
func (s *Source) Namespaces(ctx context.Context) ([]string, error) {
	if len(s.cfg.Buckets) > 0 {
		return slices.Clone(s.cfg.Buckets), nil
	}
	js, err := s.connect()
	if err != nil {
		return nil, fmt.Errorf("list namespaces: %w", err)
	}
	lister := js.KeyValueStoreNames(ctx)
	var names []string
	for name := range lister.Name() {
		names = append(names, name)
	}
	if err := lister.Error(); err != nil {
		return nil, fmt.Errorf("list buckets of %s: %w", s.Describe(), err)
	}
	slices.Sort(names)
	return names, nil
}

// Close closes the connection, if one was made.
func (s *Source) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.nc != nil {
		s.nc.Close()
		s.nc, s.js = nil, nil
	}
	return nil
}

// connect returns the JetStream context, connecting on first use.
func (s *Source) connect() (jetstream.JetStream, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.js != nil {
		return s.js, nil
	}
	opts := []nats.Option{nats.Name("lifeline"),
		nats.Timeout(connectTimeout)}
	if s.cfg.CredsFile != "" {
		opts = append(opts, nats.UserCredentials(s.cfg.CredsFile))
	}
	if s.cfg.Token != "" {
		opts = append(opts, nats.Token(s.cfg.Token))
	}
	nc, err := nats.Connect(s.cfg.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", s.Describe(), err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("open JetStream on %s: %w", s.Describe(), err)
	}
	s.nc, s.js = nc, js
	return js, nil
}

// maxPayload returns the largest message the server accepts.
func (s *Source) maxPayload() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.nc == nil {
		return 0
	}
	return s.nc.MaxPayload()
}

// bucket is one opened bucket and the state of its stream.
type bucket struct {
	kv     jetstream.KeyValue
	js     jetstream.JetStream
	info   *jetstream.StreamInfo
	prefix string
}

// open opens the bucket namespace and reads its stream's state. A
// bucket outside Config.Buckets, or missing from the server, is
// source.ErrUnknownNamespace.
func (s *Source) open(ctx context.Context, namespace string) (
	*bucket, error) {
	if namespace == "" || (len(s.cfg.Buckets) > 0 &&
		!slices.Contains(s.cfg.Buckets, namespace)) {
		return nil, fmt.Errorf("bucket %q is not configured for %s: %w",
			namespace, s.Describe(), source.ErrUnknownNamespace)
	}
	js, err := s.connect()
	if err != nil {
		return nil, err
	}
	kv, err := js.KeyValue(ctx, namespace)
	if errors.Is(err, jetstream.ErrBucketNotFound) ||
		errors.Is(err, jetstream.ErrInvalidBucketName) {
		return nil, fmt.Errorf("bucket %q not found on %s; create it "+
			"first: %w", namespace, s.Describe(),
			source.ErrUnknownNamespace)
	}
	if err != nil {
		return nil, fmt.Errorf("open bucket %q on %s: %w", namespace,
			s.Describe(), err)
	}
	b := &bucket{kv: kv, js: js, prefix: "$KV." + namespace + "."}
	if err := b.refresh(ctx); err != nil {
		return nil, fmt.Errorf("open bucket %q on %s: %w", namespace,
			s.Describe(), err)
	}
	return b, nil
}

// refresh reads the state of the bucket's stream.
func (b *bucket) refresh(ctx context.Context) error {
	st, err := b.kv.Status(ctx)
	if err != nil {
		return fmt.Errorf("get bucket status: %w", err)
	}
	bs, ok := st.(*jetstream.KeyValueBucketStatus)
	if !ok {
		return fmt.Errorf("unexpected bucket status type %T", st)
	}
	b.info = bs.StreamInfo()
	return nil
}
