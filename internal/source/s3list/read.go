package s3list

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/lifeline-backup/lifeline/internal/source"
)

// Read checks that the bucket exists and returns an iterator over its
// objects in listing order (key order on S3). Up to Config.Concurrency
// HEAD requests run ahead of the caller, so memory holds at most that
// many records besides the page the listing holds. The caller must Close
// the iterator.
func (s *Source) Read(ctx context.Context, namespace string) (
	source.Iterator, error) {
	if err := s.checkNamespace(namespace); err != nil {
		return nil, err
	}
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return nil, fmt.Errorf("read namespace %q from %s: %w",
			namespace, s.Describe(), err)
	}
	if !ok {
		return nil, fmt.Errorf("read namespace %q from %s: bucket not "+
			"found: %w", namespace, s.Describe(),
			source.ErrUnknownNamespace)
	}

	ctx, cancel := context.WithCancel(ctx)
	it := &iterator{
		src:     s,
		cancel:  cancel,
		pending: make(chan *pending, s.concurrency),
	}
	it.wg.Add(1)
	go it.list(ctx)
	return it, nil
}

// pending is the HEAD request of one listed object, which done closes
// once rec or err is set. A nil rec with a nil err is an object deleted
// since it was listed.
type pending struct {
	done chan struct{}
	rec  *source.Record
	err  error
}

// iterator hands out the records of a listing in order while the HEAD
// requests of the next objects run.
type iterator struct {
	src    *Source
	cancel context.CancelFunc
	// pending holds the requests in listing order. The list goroutine
	// closes it at the end of the listing.
	pending chan *pending
	wg      sync.WaitGroup
	err     error
}

// list reads the listing and starts a HEAD request per object, at most
// Config.Concurrency at once.
func (it *iterator) list(ctx context.Context) {
	defer it.wg.Done()
	defer close(it.pending)
	sem := make(chan struct{}, it.src.concurrency)
	opts := minio.ListObjectsOptions{Prefix: it.src.prefix,
		Recursive: true}
	for obj := range it.src.client.ListObjects(ctx, it.src.bucket, opts) {
		p := &pending{done: make(chan struct{})}
		if obj.Err != nil {
			p.err = fmt.Errorf("list objects: %w", obj.Err)
			close(p.done)
			it.send(ctx, p)
			return
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		if !it.send(ctx, p) {
			<-sem
			return
		}
		it.wg.Add(1)
		go func() {
			defer it.wg.Done()
			defer func() { <-sem }()
			p.rec, p.err = it.src.head(ctx, obj.Key)
			close(p.done)
		}()
	}
}

func (it *iterator) send(ctx context.Context, p *pending) bool {
	select {
	case it.pending <- p:
		return true
	case <-ctx.Done():
		return false
	}
}

// Next returns the record of the next object, or io.EOF after the last.
func (it *iterator) Next(ctx context.Context) (*source.Record, error) {
	for it.err == nil {
		var p *pending
		var ok bool
		select {
		case p, ok = <-it.pending:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if !ok {
			it.err = io.EOF
			break
		}
		select {
		case <-p.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if p.err != nil {
			it.err = fmt.Errorf("read namespace %q from %s: %w",
				it.src.bucket, it.src.Describe(), p.err)
			break
		}
		if p.rec != nil {
			return p.rec, nil
		}
	}
	return nil, it.err
}

// Close stops the listing and waits for the HEAD requests under way. It
// is safe to call more than once.
func (it *iterator) Close() error {
	it.cancel()
	it.wg.Wait()
	if it.err == nil {
		it.err = fmt.Errorf("read %s: iterator is closed",
			it.src.Describe())
	}
	return nil
}

// head sends a HEAD request for key and returns its record, or nil for
// an object that no longer exists.
func (s *Source) head(ctx context.Context, key string) (
	*source.Record, error) {
	info, err := s.client.StatObject(ctx, s.bucket, key,
		minio.StatObjectOptions{})
	if err != nil {
		resp := minio.ToErrorResponse(err)
		if resp.Code == "NoSuchKey" ||
			resp.StatusCode == http.StatusNotFound {
			return nil, nil
		}
		return nil, fmt.Errorf("head object %q: %w", key, err)
	}
	value, err := s.encode(info)
	if err != nil {
		return nil, fmt.Errorf("encode object %q: %w", key, err)
	}
	return &source.Record{Key: []byte(key), Value: value}, nil
}

// objectValue is Record.Value. Its fields are in sorted order of their
// JSON names, and encoding/json sorts map keys, so the encoding is
// stable.
type objectValue struct {
	ContentType  string            `json:"content_type"`
	ETag         string            `json:"etag"`
	LastModified string            `json:"last_modified,omitempty"`
	Metadata     map[string]string `json:"metadata"`
	Size         int64             `json:"size"`
}

func (s *Source) encode(info minio.ObjectInfo) ([]byte, error) {
	v := objectValue{
		ContentType: info.ContentType,
		ETag:        strings.Trim(info.ETag, `"`),
		Metadata:    make(map[string]string, len(info.UserMetadata)),
		Size:        info.Size,
	}
	if !s.omitLastModified {
		v.LastModified = info.LastModified.UTC().Truncate(time.Second).
			Format(time.RFC3339)
	}
	for name, value := range info.UserMetadata {
		v.Metadata[strings.ToLower(name)] = value
	}
	return json.Marshal(v)
}
