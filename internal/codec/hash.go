package codec

import (
	"encoding/binary"
	"encoding/hex"
	"math/bits"

	"github.com/zeebo/xxh3"

	"github.com/lifeline-backup/lifeline/internal/source"
)

// Hash is a 128-bit non-cryptographic hash. Integrity against tampering
// comes from the AES-GCM seal, so these hashes only need to tell records
// apart.
type Hash [16]byte

// KeyHash hashes a record's key, to detect keys seen twice.
func KeyHash(key []byte) Hash {
	return Hash(xxh3.Hash128(key).Bytes())
}

// ContentHash hashes what a record holds besides its key: value,
// metadata, expiry and the tombstone flag. The expiry counts in whole
// seconds, because sources such as Redis report it relative to the time of
// reading, and two reads of an unchanged key differ by a millisecond.
func ContentHash(r *source.Record) Hash {
	h := xxh3.New()
	var n [9]byte
	// A nil slice and an empty one hash the same: no source tells them
	// apart.
	writeField := func(b []byte) {
		binary.LittleEndian.PutUint64(n[:8], uint64(len(b)))
		h.Write(n[:8])
		h.Write(b)
	}
	writeField(r.Value)
	writeField(r.Metadata)
	var expires int64
	if !r.ExpiresAt.IsZero() {
		expires = r.ExpiresAt.Unix()
	}
	binary.LittleEndian.PutUint64(n[:8], uint64(expires))
	n[8] = 0
	if r.Deleted {
		n[8] = 1
	}
	h.Write(n[:])
	return Hash(h.Sum128().Bytes())
}

// RecordHash combines a record's key with its content hash.
func RecordHash(key []byte, content Hash) Hash {
	h := xxh3.New()
	h.Write(key)
	h.Write(content[:])
	return Hash(h.Sum128().Bytes())
}

// Sum is an order-independent hash of a set of records: the sum modulo
// 2^128 of their record hashes, so records read in any order give the
// same Sum.
type Sum struct{ hi, lo uint64 }

// Add folds one record hash into the sum.
func (s *Sum) Add(h Hash) {
	var carry uint64
	s.lo, carry = bits.Add64(s.lo, binary.BigEndian.Uint64(h[8:]), 0)
	s.hi, _ = bits.Add64(s.hi, binary.BigEndian.Uint64(h[:8]), carry)
}

// String returns the sum in hex.
func (s Sum) String() string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], s.hi)
	binary.BigEndian.PutUint64(b[8:], s.lo)
	return hex.EncodeToString(b[:])
}
