package httpsnap

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/lifeline-backup/lifeline/internal/source"
)

// Write skips the records whose expiry has passed by now and POSTs the
// rest to {url}/restore in batches of about 8 MiB of lines. It stops at
// the first failed batch, and batches sent before it stay stored.
func (s *Source) Write(ctx context.Context, namespace string,
	records []source.Record, mode source.WriteMode, now time.Time) (
	source.WriteResult, error) {
	var res source.WriteResult
	if err := s.checkNamespace(namespace); err != nil {
		return res, err
	}
	modeName, err := modeParam(mode)
	if err != nil {
		return res, err
	}
	target, where := s.endpoint("/restore")
	target += "?mode=" + modeName
	fail := func(err error) (source.WriteResult, error) {
		return res, fmt.Errorf("write namespace %q to http snapshot "+
			"%s: %w", namespace, where, err)
	}

	b := newBatch(namespace)
	for i := range records {
		rec := &records[i]
		if !rec.Deleted && rec.Expired(now) {
			res.Expired++
			continue
		}
		line, err := encodeRecord(rec)
		if err != nil {
			return fail(err)
		}
		if b.records > 0 && b.size()+len(line) > maxBatchBytes {
			if err := s.post(ctx, target, b, &res); err != nil {
				return fail(err)
			}
			b = newBatch(namespace)
		}
		b.add(line, rec.Deleted)
	}
	if b.records > 0 {
		if err := s.post(ctx, target, b, &res); err != nil {
			return fail(err)
		}
	}
	return res, nil
}

func modeParam(mode source.WriteMode) (string, error) {
	switch mode {
	case source.KeepExisting:
		return "keep", nil
	case source.Replace:
		return "replace", nil
	}
	return "", fmt.Errorf("write to http snapshot: unknown write mode %d",
		mode)
}

func encodeRecord(rec *source.Record) ([]byte, error) {
	rl := recordLine{Key: rec.Key, Value: rec.Value,
		Metadata: rec.Metadata, Deleted: rec.Deleted}
	if rl.Key == nil {
		rl.Key = []byte{}
	}
	if !rec.ExpiresAt.IsZero() && !rec.Deleted {
		at := rec.ExpiresAt.UTC()
		rl.ExpiresAt = &at
	}
	line, err := json.Marshal(rl)
	if err != nil {
		return nil, fmt.Errorf("encode record: %w", err)
	}
	return append(line, '\n'), nil
}

// batch is the body of one restore request being built.
type batch struct {
	namespace  string
	lines      bytes.Buffer
	records    int64
	tombstones int64
}

func newBatch(namespace string) *batch {
	return &batch{namespace: namespace}
}

func (b *batch) add(line []byte, deleted bool) {
	b.lines.Write(line)
	b.records++
	if deleted {
		b.tombstones++
	}
}

func (b *batch) size() int { return b.lines.Len() }

// body returns the header, the record lines and the trailer.
func (b *batch) body() ([]byte, error) {
	count := b.records
	head, err := json.Marshal(header{Version: version,
		Namespace: b.namespace, Records: &count})
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(b.lines.Bytes())
	tail, err := json.Marshal(trailer{End: true, Records: b.records,
		SHA256: hex.EncodeToString(sum[:])})
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(head)+b.lines.Len()+len(tail)+2)
	out = append(append(out, head...), '\n')
	out = append(out, b.lines.Bytes()...)
	return append(append(out, tail...), '\n'), nil
}

// post sends one batch and adds the response's counts to res.
func (s *Source) post(ctx context.Context, target string, b *batch,
	res *source.WriteResult) error {
	body, err := b.body()
	if err != nil {
		return fmt.Errorf("encode batch: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := s.newRequest(ctx, http.MethodPost, target, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Accept", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return statusError(resp)
	}

	var wr writeResult
	dec := json.NewDecoder(io.LimitReader(resp.Body, MaxLineBytes))
	if err := dec.Decode(&wr); err != nil {
		return fmt.Errorf("invalid restore response: %w", err)
	}
	if err := checkCounts(wr, b); err != nil {
		return err
	}
	res.Written += wr.Written
	res.Conflicts = append(res.Conflicts, wr.Conflicts...)
	res.Deleted += wr.Deleted
	res.Expired += wr.Expired
	return nil
}

// checkCounts rejects a response that accounts for more records than the
// batch held.
func checkCounts(wr writeResult, b *batch) error {
	values := b.records - b.tombstones
	stored := wr.Written + int64(len(wr.Conflicts)) + wr.Expired
	if wr.Written < 0 || wr.Deleted < 0 || wr.Expired < 0 ||
		stored > values || wr.Deleted > b.tombstones {
		return fmt.Errorf("invalid restore response: it counts %d "+
			"written, %d conflicts, %d expired and %d deleted for %d "+
			"records and %d tombstones sent", wr.Written,
			len(wr.Conflicts), wr.Expired, wr.Deleted, values,
			b.tombstones)
	}
	return nil
}
