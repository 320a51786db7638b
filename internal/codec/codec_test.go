package codec

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/lifeline-backup/lifeline/internal/source"
)

var compressions = []Compression{None, Gzip, Zstd}

// testData returns n bytes, half of them random and half repeated text,
// so compressors meet both kinds of input.
func testData(n int) []byte {
	rng := rand.New(rand.NewPCG(1, uint64(n)))
	out := make([]byte, n)
	for i := range out {
		if (i/4096)%2 == 0 {
			out[i] = byte(rng.Uint32())
		} else {
			out[i] = "lifeline record "[i%16]
		}
	}
	return out
}

func TestCompress_RoundTrip(t *testing.T) {
	sizes := []struct {
		name string
		data []byte
	}{
		{"empty", []byte{}},
		{"small", []byte("one small value")},
		{"5 MiB", testData(5 << 20)},
	}
	for _, c := range compressions {
		for _, size := range sizes {
			t.Run(c.String()+"/"+size.name, func(t *testing.T) {
				payload, err := Compress(c, size.data)
				if err != nil {
					t.Fatalf("Compress: %v", err)
				}
				if Compression(payload[0]) != c {
					t.Errorf("first byte = %d, want %d", payload[0], c)
				}
				got, err := Decompress(payload)
				if err != nil {
					t.Fatalf("Decompress: %v", err)
				}
				if !bytes.Equal(got, size.data) {
					t.Errorf("Decompress returned %d bytes that differ "+
						"from the %d compressed", len(got), len(size.data))
				}
			})
		}
	}
}

func TestCompress_Shrinks(t *testing.T) {
	data := bytes.Repeat([]byte("lifeline record "), 1<<16)
	for _, c := range []Compression{Gzip, Zstd} {
		payload, err := Compress(c, data)
		if err != nil {
			t.Fatalf("Compress(%v): %v", c, err)
		}
		if len(payload) >= len(data)/10 {
			t.Errorf("%v: %d bytes compress to %d", c, len(data),
				len(payload))
		}
	}
}

func TestCompress_UnknownAlgorithm(t *testing.T) {
	if _, err := Compress(Compression(3), []byte("x")); err == nil {
		t.Error("Compress with algorithm 3: no error")
	}
}

func TestDecompress_UnknownAlgorithm(t *testing.T) {
	for _, b := range []byte{3, 0x7f, 0xff} {
		if _, err := Decompress([]byte{b, 1, 2, 3}); err == nil {
			t.Errorf("Decompress with algorithm byte %d: no error", b)
		}
	}
}

func TestDecompress_Empty(t *testing.T) {
	if _, err := Decompress(nil); err == nil {
		t.Error("Decompress(nil): no error")
	}
}

// headerEnd returns the offset in a payload after which every flipped
// byte must be detected. A gzip header's modification time, extra flags
// and operating system bytes are outside its checksum.
func headerEnd(c Compression) int {
	if c == Gzip {
		return 1 + 10
	}
	return 1
}

func TestDecompress_Corrupted(t *testing.T) {
	data := bytes.Repeat([]byte("some record bytes "), 500)
	for _, c := range []Compression{Gzip, Zstd} {
		t.Run(c.String(), func(t *testing.T) {
			payload, err := Compress(c, data)
			if err != nil {
				t.Fatalf("Compress: %v", err)
			}
			for i := headerEnd(c); i < len(payload); i++ {
				damaged := bytes.Clone(payload)
				damaged[i] ^= 0x01
				if _, err := Decompress(damaged); err == nil {
					t.Errorf("byte %d of %d flipped: no error", i,
						len(payload))
				}
			}
			// TestDecompress_NoFrame covers the algorithm byte alone.
			for n := 2; n < len(payload); n++ {
				if _, err := Decompress(payload[:n]); err == nil {
					t.Errorf("first %d of %d bytes: no error", n,
						len(payload))
				}
			}
			garbage := append([]byte{byte(c)}, testData(1000)...)
			if _, err := Decompress(garbage); err == nil {
				t.Error("random body: no error")
			}
		})
	}
}

// TestDecompress_NoFrame checks that a payload cut down to its algorithm
// byte fails, because Compress writes a frame even for empty input.
func TestDecompress_NoFrame(t *testing.T) {
	for _, c := range []Compression{Gzip, Zstd} {
		got, err := Decompress([]byte{byte(c)})
		if err == nil {
			t.Errorf("%v: algorithm byte alone decompressed to %d bytes, "+
				"want an error", c, len(got))
		}
	}
}

func TestParseCompression(t *testing.T) {
	tests := []struct {
		in   string
		want Compression
	}{
		{"", Zstd},
		{"zstd", Zstd},
		{"gzip", Gzip},
		{"none", None},
	}
	for _, tt := range tests {
		got, err := ParseCompression(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseCompression(%q) = %v, %v, want %v", tt.in, got,
				err, tt.want)
		}
		if tt.in != "" && got.String() != tt.in {
			t.Errorf("%v.String() = %q, want %q", got, got.String(), tt.in)
		}
	}
	if _, err := ParseCompression("lz4"); err == nil {
		t.Error(`ParseCompression("lz4"): no error`)
	}
}

func encode(t *testing.T, recs ...source.Record) []byte {
	t.Helper()
	e := NewEncoder()
	for i := range recs {
		if err := e.Encode(&recs[i]); err != nil {
			t.Fatalf("Encode record %d: %v", i, err)
		}
	}
	return bytes.Clone(e.Bytes())
}

func decodeAll(t *testing.T, data []byte) []source.Record {
	t.Helper()
	var out []source.Record
	d := NewDecoder(data)
	for {
		r, err := d.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("Next after %d records: %v", len(out), err)
		}
		out = append(out, *r)
	}
}

func checkRecord(t *testing.T, got, want source.Record) {
	t.Helper()
	if !bytes.Equal(got.Key, want.Key) {
		t.Errorf("Key = %q, want %q", got.Key, want.Key)
	}
	if !bytes.Equal(got.Value, want.Value) {
		t.Errorf("Value = %q, want %q", got.Value, want.Value)
	}
	if (got.Value == nil) != (want.Value == nil) {
		t.Errorf("Value nil = %v, want %v", got.Value == nil,
			want.Value == nil)
	}
	if !bytes.Equal(got.Metadata, want.Metadata) {
		t.Errorf("Metadata = %q, want %q", got.Metadata, want.Metadata)
	}
	if !got.ExpiresAt.Equal(want.ExpiresAt) {
		t.Errorf("ExpiresAt = %v, want %v", got.ExpiresAt, want.ExpiresAt)
	}
	if !got.ExpiresAt.IsZero() && got.ExpiresAt.Location() != time.UTC {
		t.Errorf("ExpiresAt location = %v, want UTC",
			got.ExpiresAt.Location())
	}
	if got.Deleted != want.Deleted {
		t.Errorf("Deleted = %v, want %v", got.Deleted, want.Deleted)
	}
}

func TestDecoder_RoundTrip(t *testing.T) {
	zone := time.FixedZone("UTC+5:30", 5*3600+1800)
	tests := []struct {
		name string
		rec  source.Record
	}{
		{"plain", source.Record{Key: []byte("user:1"),
			Value: []byte("alice")}},
		{"binary key", source.Record{Key: []byte{0, 0xff, 0xc3, 0x28, 0},
			Value: []byte{0x80, 0}}},
		{"empty key", source.Record{Key: []byte{}, Value: []byte("v")}},
		{"empty value", source.Record{Key: []byte("k"), Value: []byte{}}},
		{"nil value", source.Record{Key: []byte("k"), Value: nil}},
		{"metadata", source.Record{Key: []byte("k"), Value: []byte("v"),
			Metadata: []byte(`{"type":"hash"}`)}},
		{"expiry", source.Record{Key: []byte("k"), Value: []byte("v"),
			ExpiresAt: time.Date(2031, 5, 6, 7, 8, 9, 123456789, zone)}},
		{"expiry before 1970", source.Record{Key: []byte("k"),
			ExpiresAt: time.Date(1969, 12, 31, 23, 59, 59, 1, time.UTC)}},
		{"tombstone", source.Record{Key: []byte("gone"), Deleted: true}},
		{"large value", source.Record{Key: []byte("big"),
			Value: testData(1 << 20)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decodeAll(t, encode(t, tt.rec))
			if len(got) != 1 {
				t.Fatalf("decoded %d records, want 1", len(got))
			}
			checkRecord(t, got[0], tt.rec)
		})
	}
}

func TestDecoder_ExpiryNanoseconds(t *testing.T) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 999999999, time.Local)
	got := decodeAll(t, encode(t, source.Record{Key: []byte("k"),
		ExpiresAt: at}))
	if len(got) != 1 {
		t.Fatalf("decoded %d records, want 1", len(got))
	}
	if got[0].ExpiresAt != at.UTC() {
		t.Errorf("ExpiresAt = %#v, want %#v", got[0].ExpiresAt, at.UTC())
	}
	if got[0].ExpiresAt.Nanosecond() != 999999999 {
		t.Errorf("nanoseconds = %d, want 999999999",
			got[0].ExpiresAt.Nanosecond())
	}
}

func TestDecoder_Stream(t *testing.T) {
	var recs []source.Record
	for i := range 100 {
		recs = append(recs, source.Record{
			Key:     []byte{byte(i), 'k'},
			Value:   bytes.Repeat([]byte{byte(i)}, i),
			Deleted: i%7 == 0,
		})
	}
	got := decodeAll(t, encode(t, recs...))
	if len(got) != len(recs) {
		t.Fatalf("decoded %d records, want %d", len(got), len(recs))
	}
	for i := range recs {
		checkRecord(t, got[i], recs[i])
	}
}

func TestDecoder_EmptyStream(t *testing.T) {
	d := NewDecoder(nil)
	for range 2 {
		if _, err := d.Next(); !errors.Is(err, io.EOF) {
			t.Errorf("Next: error %v, want io.EOF", err)
		}
	}
}

// TestDecoder_SlicesSurviveNext checks the documented contract: the record
// is reused, but the byte slices returned earlier stay intact.
func TestDecoder_SlicesSurviveNext(t *testing.T) {
	d := NewDecoder(encode(t,
		source.Record{Key: []byte("first"), Value: []byte("one")},
		source.Record{Key: []byte("second"), Value: []byte("two")},
	))
	r, err := d.Next()
	if err != nil {
		t.Fatal(err)
	}
	key, value := r.Key, r.Value
	if _, err := d.Next(); err != nil {
		t.Fatal(err)
	}
	if string(key) != "first" || string(value) != "one" {
		t.Errorf("after Next, first record is %q=%q, want %q=%q", key,
			value, "first", "one")
	}
}

func TestDecoder_Truncated(t *testing.T) {
	recs := []source.Record{
		{Key: []byte("a"), Value: []byte("alpha"), Metadata: []byte("m")},
		{Key: []byte("b"), Value: testData(300),
			ExpiresAt: time.Unix(2000000000, 5)},
		{Key: []byte("c"), Deleted: true},
	}
	boundaries := map[int]int{0: 0}
	for i := range recs {
		boundaries[len(encode(t, recs[:i+1]...))] = i + 1
	}
	data := encode(t, recs...)
	for n := range len(data) {
		d := NewDecoder(data[:n])
		var err error
		var count int
		for err == nil {
			if _, err = d.Next(); err == nil {
				count++
			}
		}
		whole, atBoundary := boundaries[n]
		switch {
		case atBoundary && !errors.Is(err, io.EOF):
			t.Errorf("first %d bytes: error %v, want io.EOF", n, err)
		case atBoundary && count != whole:
			t.Errorf("first %d bytes: %d records, want %d", n, count, whole)
		case !atBoundary && !errors.Is(err, ErrCorrupt):
			t.Errorf("first %d bytes: error %v, want ErrCorrupt", n, err)
		}
	}
}

func TestDecoder_WrongFraming(t *testing.T) {
	tests := []struct {
		name string
		data []byte
	}{
		{"four fields", []byte{0x94, 0xc4, 0, 0xc4, 0, 0xc4, 0, 0}},
		{"six fields", []byte{0x96, 0xc4, 0, 0xc4, 0, 0xc4, 0, 0, 0xc2,
			0}},
		{"map", []byte{0x81, 0xa1, 'k', 0xa1, 'v'}},
		{"integer", []byte{0x01}},
		{"key is a map", []byte{0x95, 0x80, 0xc4, 0, 0xc4, 0, 0, 0xc2}},
		{"expiry is bytes", []byte{0x95, 0xc4, 0, 0xc4, 0, 0xc4, 0,
			0xc4, 0, 0xc2}},
		{"flag is a string", []byte{0x95, 0xc4, 0, 0xc4, 0, 0xc4, 0, 0,
			0xa1, 'x'}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewDecoder(tt.data).Next()
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("error %v, want ErrCorrupt", err)
			}
		})
	}
}

// TestDecoder_HugeLengthBounded decodes 8 bytes whose key claims a length
// of almost 4 GiB. The decoder must fail without allocating that much,
// because a damaged stream may claim any length.
func TestDecoder_HugeLengthBounded(t *testing.T) {
	data := []byte{0x95, 0xc6, 0xff, 0xff, 0x01, 0xff, 0xff, 0x02}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := NewDecoder(data).Next()
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrCorrupt) {
		t.Errorf("error %v, want ErrCorrupt", err)
	}
	const limit = 64 << 20
	if n := after.TotalAlloc - before.TotalAlloc; n > limit {
		t.Errorf("Next allocated %d MiB for %d bytes of input, want at "+
			"most %d MiB", n>>20, len(data), limit>>20)
	}
}

func TestEncoder_Reset(t *testing.T) {
	e := NewEncoder()
	if err := e.Encode(&source.Record{Key: []byte("old")}); err != nil {
		t.Fatal(err)
	}
	e.Reset()
	if e.Len() != 0 {
		t.Errorf("Len after Reset = %d, want 0", e.Len())
	}
	if err := e.Encode(&source.Record{Key: []byte("new")}); err != nil {
		t.Fatal(err)
	}
	if e.Len() != len(e.Bytes()) {
		t.Errorf("Len = %d, but Bytes holds %d", e.Len(), len(e.Bytes()))
	}
	got := decodeAll(t, e.Bytes())
	if len(got) != 1 || string(got[0].Key) != "new" {
		t.Errorf("after Reset decoded %v, want one record %q", got, "new")
	}
}

// FuzzDecoder feeds arbitrary bytes to the decoder. It must return records
// or an error, never panic, and stop with io.EOF or ErrCorrupt.
func FuzzDecoder(f *testing.F) {
	e := NewEncoder()
	for _, r := range []source.Record{
		{Key: []byte("k"), Value: []byte("v"), Metadata: []byte("m")},
		{Key: []byte{0}, ExpiresAt: time.Unix(1, 2)},
		{Key: []byte("t"), Deleted: true},
	} {
		if err := e.Encode(&r); err != nil {
			f.Fatal(err)
		}
	}
	f.Add(bytes.Clone(e.Bytes()))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		d := NewDecoder(data)
		// Every record takes at least one byte, so this bounds the loop.
		for range len(data) + 1 {
			_, err := d.Next()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("Next: error %v, want ErrCorrupt", err)
				}
				return
			}
		}
		t.Fatalf("%d bytes yielded more than %d records", len(data),
			len(data))
	})
}
