package bolt

import (
	"bytes"
	"context"
	"math/rand/v2"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/lifeline-backup/lifeline/internal/source"
)

// fillRandom writes random nested buckets, values and sequence numbers
// into b, down to depth levels of nesting.
func fillRandom(rng *rand.Rand, b *bbolt.Bucket, depth int) error {
	if err := b.SetSequence(rng.Uint64()); err != nil {
		return err
	}
	for range rng.IntN(30) {
		key := randomBytes(rng, 1+rng.IntN(40))
		if b.Bucket(key) != nil {
			continue
		}
		if err := b.Put(key, randomBytes(rng, rng.IntN(2000))); err != nil {
			return err
		}
	}
	if depth == 0 {
		return nil
	}
	for range rng.IntN(4) {
		name := randomBytes(rng, 1+rng.IntN(12))
		if hasKey(b, name) {
			continue
		}
		nested, err := b.CreateBucket(name)
		if err != nil {
			return err
		}
		if err := fillRandom(rng, nested, depth-1); err != nil {
			return err
		}
	}
	return nil
}

// randomBytes returns n bytes drawn mostly from 0x00, 0x01 and 0xff, so
// keys often need escaping.
func randomBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		switch rng.IntN(4) {
		case 0:
			b[i] = 0x00
		case 1:
			b[i] = 0x01
		default:
			b[i] = byte(rng.UintN(256))
		}
	}
	return b
}

// writeFixedCases adds the cases that random data may miss.
func writeFixedCases(tx *bbolt.Tx) error {
	b, err := tx.CreateBucketIfNotExists([]byte("fixed"))
	if err != nil {
		return err
	}
	big := make([]byte, 20<<20)
	for i := range big {
		big[i] = byte(i * 7)
	}
	puts := map[string][]byte{
		"readable":         []byte("value"),
		"empty":            {},
		"big":              big,
		"\x00":             []byte("zero key"),
		"\x01":             []byte("escape key"),
		"\x01\x02\x00\x01": []byte("mixed key"),
	}
	for k, v := range puts {
		if err := b.Put([]byte(k), v); err != nil {
			return err
		}
	}
	for _, name := range []string{"empty bucket", "a\x00b", "\x01\x01"} {
		if _, err := b.CreateBucket([]byte(name)); err != nil {
			return err
		}
	}
	deep := b
	for _, name := range []string{"l1", "l2", "l3", "l4"} {
		if deep, err = deep.CreateBucket([]byte(name)); err != nil {
			return err
		}
		if err := deep.SetSequence(uint64(len(name)) << 60); err != nil {
			return err
		}
	}
	if _, err := tx.CreateBucket([]byte("empty top")); err != nil {
		return err
	}
	return deep.Put([]byte("leaf"), []byte("deep value"))
}

func TestRoundTrip_ByteForByte(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("random seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))

	from := tempFile(t, "from.db")
	update(t, from, func(tx *bbolt.Tx) error {
		for _, name := range []string{"plain", "bin\x00ary", "\x01"} {
			b, err := tx.CreateBucket([]byte(name))
			if err != nil {
				return err
			}
			if err := fillRandom(rng, b, 3); err != nil {
				return err
			}
		}
		return writeFixedCases(tx)
	})

	to := tempFile(t, "to.db")
	copyAll(t, newSource(t, Config{Path: from}),
		newSource(t, Config{Path: to, Create: true}))

	want := dumpFile(t, from)
	if len(want["fixed"]) < 15 {
		t.Fatalf("source file holds %d entries in bucket fixed, want "+
			"at least 15", len(want["fixed"]))
	}
	compareDumps(t, dumpFile(t, to), want)
}

// copyAll reads every namespace of from and writes it to to in batches.
func copyAll(t *testing.T, from, to *Source) {
	t.Helper()
	ctx := context.Background()
	names, err := from.Namespaces(ctx)
	if err != nil {
		t.Fatalf("Namespaces: %v", err)
	}
	if len(names) != 5 {
		t.Fatalf("Namespaces = %q, want 5 names", names)
	}
	for _, name := range names {
		records := readAll(t, from, name)
		for start := 0; start < len(records); start += 50 {
			batch := records[start:min(start+50, len(records))]
			res, err := to.Write(ctx, name, batch, source.KeepExisting,
				time.Now())
			if err != nil {
				t.Fatalf("Write(%q): %v", name, err)
			}
			if res.Written != int64(len(batch)) || len(res.Conflicts) > 0 {
				t.Fatalf("Write(%q) = %+v, want %d written, "+
					"no conflicts", name, res, len(batch))
			}
		}
	}
}

func TestRead_RecordsInOrder(t *testing.T) {
	path := tempFile(t, "read.db")
	update(t, path, func(tx *bbolt.Tx) error {
		b, _ := tx.CreateBucket([]byte("b"))
		b.SetSequence(5)
		b.Put([]byte("k"), []byte("v"))
		b.CreateBucket([]byte("e"))
		n, _ := b.CreateBucket([]byte("n"))
		n.SetSequence(2)
		return n.Put([]byte("x\x00"), []byte{})
	})
	s := newSource(t, Config{Path: path})

	got := readAll(t, s, "b")
	want := []source.Record{
		bucketRec("", 5),
		bucketRec("e", 0),
		valueRec("k", "v"),
		bucketRec("n", 2),
		valueRec("n\x00x\x01\x01", ""),
	}
	if len(got) != len(want) {
		t.Fatalf("Read returned %d records, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if !bytes.Equal(g.Key, w.Key) || !bytes.Equal(g.Value, w.Value) ||
			!bytes.Equal(g.Metadata, w.Metadata) {
			t.Errorf("record %d = %q %q %q, want %q %q %q", i,
				g.Key, g.Value, g.Metadata, w.Key, w.Value, w.Metadata)
		}
		if !g.ExpiresAt.IsZero() || g.Deleted {
			t.Errorf("record %d: expiry %v, deleted %v; want neither",
				i, g.ExpiresAt, g.Deleted)
		}
	}
	if got[2].Metadata != nil {
		t.Errorf("value record metadata = %q, want nil", got[2].Metadata)
	}
}
