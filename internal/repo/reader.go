package repo

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/lifeline-backup/lifeline/internal/blob"
	"github.com/lifeline-backup/lifeline/internal/codec"
	"github.com/lifeline-backup/lifeline/internal/seal"
	"github.com/lifeline-backup/lifeline/internal/source"
)

// ReadChunk reads and decrypts one chunk of a backup and calls fn for
// every record in it. The record passed to fn is reused after fn returns.
func (r *Repo) ReadChunk(ctx context.Context, s *Snapshot, c Chunk,
	fn func(*source.Record) error) error {
	plain, err := r.getSealed(ctx, s.dataKey, c.Name)
	if err != nil {
		return fmt.Errorf("backup %s: %w", s.ID, err)
	}
	dec := codec.NewDecoder(plain)
	var n int64
	for {
		rec, err := dec.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("backup %s: decode %s: %w (%w)", s.ID,
				c.Name, ErrDamaged, err)
		}
		n++
		if err := fn(rec); err != nil {
			return err
		}
	}
	if n != c.Records {
		return fmt.Errorf("backup %s: %s holds %d records, the manifest "+
			"says %d: %w", s.ID, c.Name, n, c.Records, ErrDamaged)
	}
	return nil
}

// ReadNamespace calls fn for every record of one namespace entry of a
// backup, chunk by chunk, so memory holds one chunk at a time.
func (r *Repo) ReadNamespace(ctx context.Context, s *Snapshot, e Namespace,
	fn func(*source.Record) error) error {
	for _, c := range e.Chunks {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := r.ReadChunk(ctx, s, c, fn); err != nil {
			return err
		}
	}
	return nil
}

// Entry returns the entry of a backup for one source and namespace.
func (s *Snapshot) Entry(src, ns string) (Namespace, bool) {
	for _, e := range s.Entries {
		if e.Source == src && e.Namespace == ns {
			return e, true
		}
	}
	return Namespace{}, false
}

// Verify reads every chunk of the parts and checks that each decrypts,
// without decoding records, so a restore can refuse a damaged backup
// before it writes anything.
func (r *Repo) Verify(ctx context.Context, parts []Part) error {
	type job struct {
		s *Snapshot
		c Chunk
	}
	jobs := make(chan job)
	errs := make(chan error, verifyWorkers)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range verifyWorkers {
		go func() {
			for j := range jobs {
				if err := r.authenticate(ctx, j.s, j.c); err != nil {
					errs <- err
					cancel()
					for range jobs {
					}
					return
				}
			}
			errs <- nil
		}()
	}
	// Chunks are handed out in order; a worker that fails stops the rest.
send:
	for _, p := range parts {
		for _, c := range p.Entry.Chunks {
			select {
			case jobs <- job{p.Snapshot, c}:
			case <-ctx.Done():
				break send
			}
		}
	}
	close(jobs)
	var first error
	for range verifyWorkers {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	if first == nil {
		first = ctx.Err()
	}
	return first
}

// verifyWorkers is how many chunks Verify reads and authenticates at
// once: reading from S3 waits on the network, and AES-GCM keeps a core
// busy, so two overlap the waits.
const verifyWorkers = 2

// authenticate reads one chunk and checks its seal, without decompressing
// or decoding it.
func (r *Repo) authenticate(ctx context.Context, s *Snapshot, c Chunk) error {
	body, err := blob.ReadAll(ctx, r.store, c.Name)
	if err != nil {
		return fmt.Errorf("backup %s: read %s: %w", s.ID, c.Name, err)
	}
	if _, err := seal.Open(s.dataKey, c.Name, body); err != nil {
		return fmt.Errorf("backup %s: open %s: %w (%w)", s.ID, c.Name,
			ErrDamaged, err)
	}
	return nil
}
