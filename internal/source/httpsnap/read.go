package httpsnap

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/lifeline-backup/lifeline/internal/source"
)

// Read sends GET {url}/snapshot, checks the status and the header line,
// and returns an iterator that decodes one record line per Next call.
// Records whose expiry has passed are skipped. The caller must Close the
// iterator, which ends the request.
func (s *Source) Read(ctx context.Context, namespace string) (
	source.Iterator, error) {
	if err := s.checkNamespace(namespace); err != nil {
		return nil, err
	}
	target, where := s.endpoint("/snapshot")
	it := &iterator{where: where, namespace: namespace, hash: sha256.New()}
	if err := it.open(ctx, s, target); err != nil {
		it.Close()
		return nil, fmt.Errorf("read namespace %q from http snapshot "+
			"%s: %w", namespace, where, err)
	}
	return it, nil
}

// iterator decodes a snapshot response.
type iterator struct {
	where     string
	namespace string
	body      io.ReadCloser
	lines     *lineReader
	// hash sums the record lines, to be checked against the trailer.
	hash    hash.Hash
	records int64
	// announced is the header's record count, if it had one.
	announced *int64

	// idle cancels the request when no line arrives within the timeout,
	// and timedOut records that it fired.
	idle     *time.Timer
	timeout  time.Duration
	timedOut atomic.Bool
	cancel   context.CancelFunc

	done bool
	err  error
}

// open sends the request and reads the header line.
func (it *iterator) open(ctx context.Context, s *Source,
	target string) error {
	ctx, it.cancel = context.WithCancel(ctx)
	it.timeout = s.timeout
	it.idle = time.AfterFunc(s.timeout, func() {
		it.timedOut.Store(true)
		it.cancel()
	})
	req, err := s.newRequest(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", contentType)
	resp, err := s.client.Do(req)
	if err != nil {
		return it.requestError(err)
	}
	it.body = resp.Body
	if resp.StatusCode != http.StatusOK {
		return statusError(resp)
	}
	if err := checkContentType(resp); err != nil {
		return err
	}
	it.lines = newLineReader(resp.Body, MaxLineBytes)

	line, err := it.nextLine()
	if err != nil {
		return err
	}
	h, err := parseHeader(line)
	if err != nil {
		return err
	}
	it.announced = h.Records
	return nil
}

// requestError explains a failed request, naming the timeout when the
// idle timer ended it.
func (it *iterator) requestError(err error) error {
	if it.timedOut.Load() {
		return fmt.Errorf("no response within %s: %w", it.timeout, err)
	}
	return err
}

// nextLine reads a line with the idle timer running, so time the caller
// spends between Next calls does not count. A stream that ends or breaks
// before the trailer is a cut-short response.
func (it *iterator) nextLine() ([]byte, error) {
	it.idle.Reset(it.timeout)
	line, err := it.lines.next()
	it.idle.Stop()
	switch {
	case err == nil:
		return line, nil
	case errors.Is(err, errLineTooLong):
		return nil, fmt.Errorf("line %d: %w", it.records+2, err)
	case errors.Is(err, io.EOF):
		return nil, it.cutShort("the response ended without its " +
			"trailer line")
	case it.timedOut.Load():
		return nil, it.cutShort(fmt.Sprintf("no data for %s: %v",
			it.timeout, err))
	}
	return nil, it.cutShort(err.Error())
}

func (it *iterator) cutShort(reason string) error {
	return fmt.Errorf("response cut short after %d records: %s",
		it.records, reason)
}

// Next returns the next live record, or io.EOF once the trailer has been
// read and checked. Its slices are new on every call.
func (it *iterator) Next(ctx context.Context) (*source.Record, error) {
	if it.err != nil {
		return nil, it.err
	}
	if it.done {
		return nil, io.EOF
	}
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rec, err := it.decodeNext()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				err = fmt.Errorf("read namespace %q from http snapshot "+
					"%s: %w", it.namespace, it.where, err)
			}
			it.err = err
			return nil, err
		}
		if !rec.Expired(time.Now()) {
			return rec, nil
		}
	}
}

// decodeNext decodes the next line. For the trailer it checks the
// counts and returns io.EOF.
func (it *iterator) decodeNext() (*source.Record, error) {
	line, err := it.nextLine()
	if err != nil {
		return nil, err
	}
	var wl wireLine
	if err := json.Unmarshal(line, &wl); err != nil {
		return nil, fmt.Errorf("line %d is not valid JSON: %w",
			it.records+2, err)
	}
	if wl.End {
		if err := it.checkTrailer(wl); err != nil {
			return nil, err
		}
		it.done = true
		return nil, io.EOF
	}
	if wl.Key == nil {
		return nil, fmt.Errorf("line %d has no key", it.records+2)
	}
	it.hash.Write(line)
	it.records++
	rec := &source.Record{Key: *wl.Key, Value: wl.Value,
		Metadata: wl.Metadata}
	if wl.ExpiresAt != nil {
		rec.ExpiresAt = *wl.ExpiresAt
	}
	return rec, nil
}

// checkTrailer compares the trailer with the record lines received and
// checks that nothing follows it.
func (it *iterator) checkTrailer(t wireLine) error {
	if t.Records != it.records {
		return it.cutShort(fmt.Sprintf("the trailer counts %d records",
			t.Records))
	}
	if it.announced != nil && *it.announced != it.records {
		return it.cutShort(fmt.Sprintf("the header announced %d records",
			*it.announced))
	}
	if sum := hex.EncodeToString(it.hash.Sum(nil)); sum != t.SHA256 {
		return it.cutShort("the SHA-256 of the record lines does not " +
			"match the trailer")
	}
	// A read error after a matching trailer loses no record, so only
	// bytes after the trailer make the response invalid.
	_, err := it.lines.next()
	if err == nil || len(it.lines.buf) > 0 {
		return errors.New("invalid response: data follows the " +
			"trailer line")
	}
	return nil
}

// Close ends the request. It is safe to call more than once.
func (it *iterator) Close() error {
	if it.idle != nil {
		it.idle.Stop()
	}
	var err error
	if it.body != nil {
		err = it.body.Close()
		it.body = nil
	}
	if it.cancel != nil {
		it.cancel()
	}
	if it.err == nil && !it.done {
		it.err = errors.New("iterator is closed")
	}
	if err != nil {
		return fmt.Errorf("close response of http snapshot %s: %w",
			it.where, err)
	}
	return nil
}
