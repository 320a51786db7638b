package codec

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/lifeline-backup/lifeline/internal/source"
)

func TestKeyHash(t *testing.T) {
	first, second := KeyHash([]byte("a")), KeyHash([]byte("a"))
	if first != second {
		t.Error("KeyHash of equal keys differs")
	}
	keys := [][]byte{[]byte("a"), []byte("b"), []byte("a\x00"),
		{0}, []byte("user:1"), []byte("user:10")}
	seen := map[Hash]string{}
	for _, k := range keys {
		h := KeyHash(k)
		if prev, ok := seen[h]; ok {
			t.Errorf("KeyHash(%q) equals KeyHash(%q)", k, prev)
		}
		seen[h] = string(k)
	}
}

func TestContentHash(t *testing.T) {
	at := time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)
	base := source.Record{Key: []byte("k"), Value: []byte("value"),
		Metadata: []byte("meta"), ExpiresAt: at}
	tests := []struct {
		name   string
		change func(r *source.Record)
		equal  bool
	}{
		{"same", func(r *source.Record) {}, true},
		{"other key", func(r *source.Record) { r.Key = []byte("x") }, true},
		{"same second", func(r *source.Record) {
			r.ExpiresAt = at.Add(999 * time.Millisecond)
		}, true},
		{"same instant in another zone", func(r *source.Record) {
			r.ExpiresAt = at.In(time.FixedZone("UTC-7", -7*3600))
		}, true},
		{"next second", func(r *source.Record) {
			r.ExpiresAt = at.Add(time.Second)
		}, false},
		{"previous second", func(r *source.Record) {
			r.ExpiresAt = at.Add(-time.Nanosecond)
		}, false},
		{"no expiry", func(r *source.Record) {
			r.ExpiresAt = time.Time{}
		}, false},
		{"other value", func(r *source.Record) {
			r.Value = []byte("valuE")
		}, false},
		{"other metadata", func(r *source.Record) {
			r.Metadata = []byte("meta2")
		}, false},
		{"bytes moved from value to metadata", func(r *source.Record) {
			r.Value = []byte("valu")
			r.Metadata = []byte("emeta")
		}, false},
		{"tombstone", func(r *source.Record) { r.Deleted = true }, false},
	}
	want := ContentHash(&base)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := base
			tt.change(&r)
			got := ContentHash(&r)
			if (got == want) != tt.equal {
				t.Errorf("hashes equal = %v, want %v", got == want, tt.equal)
			}
		})
	}
}

func TestContentHash_NilEqualsEmpty(t *testing.T) {
	a := source.Record{Key: []byte("k"), Value: nil, Metadata: nil}
	b := source.Record{Key: []byte("k"), Value: []byte{},
		Metadata: []byte{}}
	if ContentHash(&a) != ContentHash(&b) {
		t.Error("nil and empty value hash differently")
	}
}

func TestRecordHash(t *testing.T) {
	c1 := ContentHash(&source.Record{Value: []byte("1")})
	c2 := ContentHash(&source.Record{Value: []byte("2")})
	first, second := RecordHash([]byte("k"), c1), RecordHash([]byte("k"), c1)
	if first != second {
		t.Error("RecordHash of equal input differs")
	}
	if RecordHash([]byte("k"), c1) == RecordHash([]byte("k"), c2) {
		t.Error("RecordHash ignores the content hash")
	}
	if RecordHash([]byte("k"), c1) == RecordHash([]byte("j"), c1) {
		t.Error("RecordHash ignores the key")
	}
}

func sumOf(recs []source.Record) string {
	var s Sum
	for i := range recs {
		s.Add(RecordHash(recs[i].Key, ContentHash(&recs[i])))
	}
	return s.String()
}

func testRecords(n int) []source.Record {
	recs := make([]source.Record, n)
	for i := range recs {
		recs[i] = source.Record{
			Key:   []byte(fmt.Sprintf("key:%d", i)),
			Value: []byte(fmt.Sprintf("value %d", i)),
		}
	}
	return recs
}

func TestSum_OrderIndependent(t *testing.T) {
	recs := testRecords(200)
	want := sumOf(recs)

	reversed := make([]source.Record, len(recs))
	for i := range recs {
		reversed[len(recs)-1-i] = recs[i]
	}
	if got := sumOf(reversed); got != want {
		t.Errorf("reversed order: Sum = %s, want %s", got, want)
	}

	shuffled := append([]source.Record(nil), recs...)
	rng := rand.New(rand.NewPCG(7, 7))
	rng.Shuffle(len(shuffled), func(i, j int) {
		shuffled[i], shuffled[j] = shuffled[j], shuffled[i]
	})
	if got := sumOf(shuffled); got != want {
		t.Errorf("shuffled order: Sum = %s, want %s", got, want)
	}
}

func TestSum_DetectsChange(t *testing.T) {
	recs := testRecords(50)
	want := sumOf(recs)
	tests := []struct {
		name   string
		change func(recs []source.Record) []source.Record
	}{
		{"value", func(r []source.Record) []source.Record {
			r[10].Value = []byte("changed")
			return r
		}},
		{"expiry", func(r []source.Record) []source.Record {
			r[20].ExpiresAt = time.Unix(2000000000, 0)
			return r
		}},
		{"tombstone", func(r []source.Record) []source.Record {
			r[30].Deleted = true
			return r
		}},
		{"record removed", func(r []source.Record) []source.Record {
			return r[1:]
		}},
		{"record doubled", func(r []source.Record) []source.Record {
			return append(r, r[0])
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			changed := tt.change(append([]source.Record(nil), recs...))
			if got := sumOf(changed); got == want {
				t.Errorf("Sum = %s for both record sets", got)
			}
		})
	}
}

func TestSum_Carry(t *testing.T) {
	var low, one Hash
	for i := 8; i < 16; i++ {
		low[i] = 0xff
	}
	one[15] = 1
	var s Sum
	s.Add(low)
	s.Add(one)
	want := "0000000000000001" + "0000000000000000"
	if got := s.String(); got != want {
		t.Errorf("Sum = %s, want %s", got, want)
	}
}

func TestSum_Zero(t *testing.T) {
	var s Sum
	if got, want := s.String(), strings.Repeat("0", 32); got != want {
		t.Errorf("empty Sum = %s, want %s", got, want)
	}
}
