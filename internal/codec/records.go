package codec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/lifeline-backup/lifeline/internal/source"
)

// recordFields is the length of the MessagePack array that frames one
// record: key, value, metadata, expiry in Unix nanoseconds (0: never),
// and the tombstone flag.
const recordFields = 5

// Encoder appends records to a buffer in the MessagePack framing.
type Encoder struct {
	buf bytes.Buffer
	enc *msgpack.Encoder
}

// NewEncoder returns an empty encoder.
func NewEncoder() *Encoder {
	e := &Encoder{}
	e.enc = msgpack.NewEncoder(&e.buf)
	return e
}

// Encode appends one record.
func (e *Encoder) Encode(r *source.Record) error {
	var expires int64
	if !r.ExpiresAt.IsZero() {
		expires = r.ExpiresAt.UnixNano()
	}
	steps := []func() error{
		func() error { return e.enc.EncodeArrayLen(recordFields) },
		func() error { return e.enc.EncodeBytes(r.Key) },
		func() error { return e.enc.EncodeBytes(r.Value) },
		func() error { return e.enc.EncodeBytes(r.Metadata) },
		func() error { return e.enc.EncodeInt(expires) },
		func() error { return e.enc.EncodeBool(r.Deleted) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return fmt.Errorf("encode record: %w", err)
		}
	}
	return nil
}

// Len returns the number of encoded bytes held.
func (e *Encoder) Len() int { return e.buf.Len() }

// Bytes returns the encoded records. They stay valid until Reset.
func (e *Encoder) Bytes() []byte { return e.buf.Bytes() }

// Reset empties the encoder for reuse.
func (e *Encoder) Reset() { e.buf.Reset() }

// Decoder reads records framed by Encoder.
type Decoder struct {
	r   *bytes.Reader
	dec *msgpack.Decoder
	rec source.Record
}

// NewDecoder reads records from data.
func NewDecoder(data []byte) *Decoder {
	r := bytes.NewReader(data)
	return &Decoder{r: r, dec: msgpack.NewDecoder(r)}
}

// bytes reads one byte string. It checks the length in the header
// against the bytes left before allocating, so a damaged header cannot
// make it allocate gigabytes.
func (d *Decoder) bytes() ([]byte, error) {
	n, err := d.dec.DecodeBytesLen()
	if err != nil {
		return nil, err
	}
	if n == -1 {
		return nil, nil
	}
	if n > d.r.Len() {
		return nil, fmt.Errorf("byte string of %d bytes, only %d left",
			n, d.r.Len())
	}
	b := make([]byte, n)
	_, err = io.ReadFull(d.r, b)
	return b, err
}

// ErrCorrupt is returned by Decoder.Next for bytes that do not frame a
// record.
var ErrCorrupt = errors.New("corrupt record stream")

// Next returns the next record, or io.EOF after the last one. The record
// is reused by the following call; its byte slices are not.
func (d *Decoder) Next() (*source.Record, error) {
	n, err := d.dec.DecodeArrayLen()
	if errors.Is(err, io.EOF) {
		return nil, io.EOF
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if n != recordFields {
		return nil, fmt.Errorf("%w: record has %d fields, want %d",
			ErrCorrupt, n, recordFields)
	}
	r := &d.rec
	*r = source.Record{}
	var expires int64
	fields := []func() error{
		func() (err error) { r.Key, err = d.bytes(); return },
		func() (err error) { r.Value, err = d.bytes(); return },
		func() (err error) { r.Metadata, err = d.bytes(); return },
		func() (err error) { expires, err = d.dec.DecodeInt64(); return },
		func() (err error) { r.Deleted, err = d.dec.DecodeBool(); return },
	}
	for _, read := range fields {
		if err := read(); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
	}
	if expires != 0 {
		r.ExpiresAt = time.Unix(0, expires).UTC()
	}
	return r, nil
}
