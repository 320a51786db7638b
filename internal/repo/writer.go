package repo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/lifeline-backup/lifeline/internal/codec"
	"github.com/lifeline-backup/lifeline/internal/seal"
	"github.com/lifeline-backup/lifeline/internal/source"
)

// ChunkSize is the size of encoded records, before compression, at which
// a chunk object is cut. A record larger than this fills a chunk alone.
const ChunkSize = 4 << 20

// Writer writes one backup. Its objects stay invisible until Commit
// stores the manifest.
type Writer struct {
	repo        *Repo
	id          string
	tier        Tier
	start       time.Time
	dataKey     []byte
	compression codec.Compression

	mu      sync.Mutex
	entries []Namespace
}

// NewWriter starts a backup that began at start.
func (r *Repo) NewWriter(tier Tier, start time.Time,
	c codec.Compression) (*Writer, error) {
	dk, err := seal.NewDataKey()
	if err != nil {
		return nil, err
	}
	return &Writer{
		repo:        r,
		id:          NewSnapshotID(start),
		tier:        tier,
		start:       start.UTC(),
		dataKey:     dk,
		compression: c,
	}, nil
}

// ID returns the id the backup will have once committed.
func (w *Writer) ID() string { return w.id }

// Namespace starts writing one namespace. base is the id of the backup an
// incremental builds on, or empty.
func (w *Writer) Namespace(src, typ, ns, base string) *NamespaceWriter {
	return &NamespaceWriter{
		w: w,
		entry: Namespace{
			Source: src, Type: typ, Namespace: ns, Base: base,
		},
		data:  newChunker(w, "data"),
		index: newChunker(w, "index"),
		seen:  make(map[codec.Hash]struct{}),
	}
}

// Commit stores the data key wrap and then the manifest, which makes the
// backup visible.
func (w *Writer) Commit(ctx context.Context,
	finished time.Time) (*Manifest, error) {
	w.mu.Lock()
	entries := append([]Namespace(nil), w.entries...)
	w.mu.Unlock()
	sort.Slice(entries, func(i, j int) bool {
		a, b := entries[i], entries[j]
		if a.Source != b.Source {
			return a.Source < b.Source
		}
		return a.Namespace < b.Namespace
	})
	ctx = w.repo.retainContext(ctx, w.tier, w.start)
	host, _ := os.Hostname()
	m := Manifest{
		Version:  FormatVersion,
		ID:       w.id,
		Tier:     w.tier,
		Time:     w.start,
		Finished: finished.UTC(),
		Host:     host,
		Entries:  entries,
	}

	k := w.repo.keys.Primary()
	name := wrapName(w.id, k.ID)
	wrapped, err := seal.Seal(k.Bytes(), name, w.dataKey)
	if err != nil {
		return nil, err
	}
	err = w.repo.store.Put(ctx, name, bytes.NewReader(wrapped),
		int64(len(wrapped)))
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", name, err)
	}

	plain, err := json.Marshal(&m)
	if err != nil {
		return nil, err
	}
	_, err = w.repo.putSealed(ctx, w.dataKey, snapshotName(w.id),
		w.compression, plain)
	if err != nil {
		return nil, fmt.Errorf("commit backup %s: %w", w.id, err)
	}
	return &m, nil
}

// NamespaceWriter writes the records of one namespace into chunks and its
// change index. It is not safe for concurrent use.
type NamespaceWriter struct {
	w     *Writer
	entry Namespace
	data  *chunker
	index *chunker
	sum   codec.Sum
	seen  map[codec.Hash]struct{}
}

// Add writes one record. A key already added is skipped and Add returns
// false, because some sources (Redis SCAN) may yield a key twice.
func (nw *NamespaceWriter) Add(ctx context.Context,
	r *source.Record) (bool, error) {
	kh := codec.KeyHash(r.Key)
	if _, dup := nw.seen[kh]; dup {
		return false, nil
	}
	nw.seen[kh] = struct{}{}

	content := codec.ContentHash(r)
	if err := nw.data.add(ctx, r); err != nil {
		return false, err
	}
	idx := source.Record{Key: r.Key, Value: content[:], Deleted: r.Deleted}
	if err := nw.index.add(ctx, &idx); err != nil {
		return false, err
	}
	nw.sum.Add(codec.RecordHash(r.Key, content))
	if r.Deleted {
		nw.entry.Tombstones++
	} else {
		nw.entry.Records++
	}
	nw.entry.RawBytes += int64(len(r.Key) + len(r.Value) + len(r.Metadata))
	return true, nil
}

// SetCursor records the source's change position for the next
// incremental.
func (nw *NamespaceWriter) SetCursor(c []byte) { nw.entry.Cursor = c }

// Close flushes the last chunks and adds the namespace to the backup.
func (nw *NamespaceWriter) Close(ctx context.Context) (Namespace, error) {
	if err := nw.data.flush(ctx); err != nil {
		return Namespace{}, err
	}
	if err := nw.index.flush(ctx); err != nil {
		return Namespace{}, err
	}
	nw.entry.Chunks = nw.data.chunks
	nw.entry.Index = nw.index.chunks
	nw.entry.Hash = nw.sum.String()
	nw.w.mu.Lock()
	nw.w.entries = append(nw.w.entries, nw.entry)
	nw.w.mu.Unlock()
	return nw.entry, nil
}

// chunker cuts a record stream into sealed chunk objects. Compressing,
// sealing and storing a full chunk runs in a goroutine while the next
// chunk fills, so a source is read while the store is written; at most
// one chunk waits, which bounds memory to three chunks.
type chunker struct {
	w       *Writer
	prefix  string
	enc     *codec.Encoder
	records int64
	chunks  []Chunk

	pending chan pendingChunk
	done    chan error
}

type pendingChunk struct {
	enc     *codec.Encoder
	records int64
}

func newChunker(w *Writer, prefix string) *chunker {
	return &chunker{w: w, prefix: prefix, enc: codec.NewEncoder()}
}

func (c *chunker) add(ctx context.Context, r *source.Record) error {
	// A record that would push the chunk past ChunkSize starts a new one,
	// so a large record fills a chunk alone.
	size := len(r.Key) + len(r.Value) + len(r.Metadata)
	if c.records > 0 && c.enc.Len()+size > ChunkSize {
		if err := c.cut(ctx); err != nil {
			return err
		}
	}
	if err := c.enc.Encode(r); err != nil {
		return err
	}
	c.records++
	if c.enc.Len() >= ChunkSize {
		return c.cut(ctx)
	}
	return nil
}

// cut hands the current chunk to the storing goroutine.
func (c *chunker) cut(ctx context.Context) error {
	if c.records == 0 {
		return nil
	}
	if c.pending == nil {
		c.pending = make(chan pendingChunk, 1)
		c.done = make(chan error, 1)
		go c.store(c.w.repo.retainContext(ctx, c.w.tier, c.w.start))
	}
	select {
	case c.pending <- pendingChunk{enc: c.enc, records: c.records}:
	case err := <-c.done:
		// The storing goroutine failed and exited.
		c.done <- err
		return err
	}
	c.enc = codec.NewEncoder()
	c.records = 0
	return nil
}

// store seals and stores chunks in order until pending is closed or a
// store fails.
func (c *chunker) store(ctx context.Context) {
	for p := range c.pending {
		id := newID()
		name := c.prefix + "/" + id[:2] + "/" + id
		size, err := c.w.repo.putSealed(ctx, c.w.dataKey, name,
			c.w.compression, p.enc.Bytes())
		if err != nil {
			c.done <- err
			return
		}
		c.chunks = append(c.chunks, Chunk{Name: name, Records: p.records,
			Size: size})
	}
	c.done <- nil
}

// flush stores the last chunk and waits until every chunk is stored.
func (c *chunker) flush(ctx context.Context) error {
	if err := c.cut(ctx); err != nil {
		return err
	}
	if c.pending == nil {
		return nil
	}
	close(c.pending)
	return <-c.done
}

// Start returns the time the backup started.
func (w *Writer) Start() time.Time { return w.start }
