package bolt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// Key encoding: a record key is the path of a value or nested bucket
// below the top-level bucket, as nested bucket names followed by the leaf
// key. EncodeKey escapes each segment (0x01 becomes 0x01 0x02, 0x00
// becomes 0x01 0x01) and joins the segments with 0x00. A key in the
// top-level bucket that contains neither byte is therefore its own
// encoding, so plain text keys stay readable in a backup.
const (
	separator = 0x00
	escape    = 0x01
)

// EncodeKey returns the record key for path, which lists the nested
// bucket names and then the leaf key. An empty path encodes to an empty
// key, which is the key of the top-level bucket itself.
//
// Every segment must be non-empty, as bbolt requires of keys and bucket
// names. DecodeKey rejects a key with an empty segment, so such a path
// does not round trip.
func EncodeKey(path [][]byte) []byte {
	size := len(path)
	for _, segment := range path {
		size += len(segment) + bytes.Count(segment, []byte{separator}) +
			bytes.Count(segment, []byte{escape})
	}
	key := make([]byte, 0, size)
	for i, segment := range path {
		if i > 0 {
			key = append(key, separator)
		}
		key = appendEscaped(key, segment)
	}
	return key
}

func appendEscaped(dst, segment []byte) []byte {
	for _, b := range segment {
		switch b {
		case escape:
			dst = append(dst, escape, 0x02)
		case separator:
			dst = append(dst, escape, 0x01)
		default:
			dst = append(dst, b)
		}
	}
	return dst
}

// ErrInvalidKey is returned by DecodeKey, and by Write for a record whose
// key DecodeKey rejects: the key contains an empty segment, or an escape
// byte 0x01 that is not followed by 0x01 or 0x02.
var ErrInvalidKey = errors.New("invalid bolt record key")

// DecodeKey splits a record key made by EncodeKey back into its path. An
// empty key decodes to an empty path. The returned segments do not share
// memory with key.
func DecodeKey(key []byte) ([][]byte, error) {
	if len(key) == 0 {
		return nil, nil
	}
	var path [][]byte
	for i, part := range bytes.Split(key, []byte{separator}) {
		segment, err := unescape(part)
		if err != nil {
			return nil, fmt.Errorf("decode segment %d: %w", i, err)
		}
		path = append(path, segment)
	}
	return path, nil
}

func unescape(part []byte) ([]byte, error) {
	if len(part) == 0 {
		return nil, fmt.Errorf("empty segment: %w", ErrInvalidKey)
	}
	segment := make([]byte, 0, len(part))
	for i := 0; i < len(part); i++ {
		if part[i] != escape {
			segment = append(segment, part[i])
			continue
		}
		i++
		if i == len(part) {
			return nil, fmt.Errorf("escape byte at end: %w", ErrInvalidKey)
		}
		switch part[i] {
		case 0x01:
			segment = append(segment, separator)
		case 0x02:
			segment = append(segment, escape)
		default:
			return nil, fmt.Errorf("escape byte before 0x%02x: %w",
				part[i], ErrInvalidKey)
		}
	}
	return segment, nil
}

// Record metadata is described in the package documentation: nil for a
// value record, "bucket" and an 8-byte big-endian sequence number for a
// bucket record.
const bucketTag = "bucket"

const bucketMetadataSize = len(bucketTag) + 8

// ErrInvalidMetadata is returned by Write for a record whose Metadata is
// neither nil nor bucket metadata.
var ErrInvalidMetadata = errors.New("invalid bolt record metadata")

func bucketMetadata(sequence uint64) []byte {
	meta := make([]byte, bucketMetadataSize)
	copy(meta, bucketTag)
	binary.BigEndian.PutUint64(meta[len(bucketTag):], sequence)
	return meta
}

// parseMetadata reports whether meta marks a bucket record and, if so,
// returns the bucket's sequence number.
func parseMetadata(meta []byte) (isBucket bool, sequence uint64, err error) {
	if len(meta) == 0 {
		return false, 0, nil
	}
	if len(meta) != bucketMetadataSize ||
		string(meta[:len(bucketTag)]) != bucketTag {
		return false, 0, fmt.Errorf("%d bytes: %w", len(meta),
			ErrInvalidMetadata)
	}
	return true, binary.BigEndian.Uint64(meta[len(bucketTag):]), nil
}
