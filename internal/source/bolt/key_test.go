package bolt

import (
	"bytes"
	"errors"
	"testing"
)

func TestEncodeKey_Examples(t *testing.T) {
	tests := []struct {
		name string
		path [][]byte
		want []byte
	}{
		{"empty path", nil, []byte{}},
		{"readable key", [][]byte{[]byte("user:1")}, []byte("user:1")},
		{"nested", [][]byte{[]byte("a"), []byte("b")}, []byte("a\x00b")},
		{"zero byte", [][]byte{{0x00}}, []byte{0x01, 0x01}},
		{"escape byte", [][]byte{{0x01}}, []byte{0x01, 0x02}},
		{
			"both in nested",
			[][]byte{{'x', 0x00}, {0x01, 'y'}},
			[]byte{'x', 0x01, 0x01, 0x00, 0x01, 0x02, 'y'},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := EncodeKey(tt.path)
			if !bytes.Equal(got, tt.want) {
				t.Fatalf("EncodeKey(%q) = %q, want %q",
					tt.path, got, tt.want)
			}
			back, err := DecodeKey(got)
			if err != nil {
				t.Fatalf("DecodeKey(%q): %v", got, err)
			}
			if !equalPaths(back, tt.path) {
				t.Fatalf("DecodeKey(%q) = %q, want %q",
					got, back, tt.path)
			}
		})
	}
}

func TestDecodeKey_Invalid(t *testing.T) {
	tests := []struct {
		name string
		key  []byte
	}{
		{"leading separator", []byte("\x00a")},
		{"trailing separator", []byte("a\x00")},
		{"double separator", []byte("a\x00\x00b")},
		{"escape at end", []byte("a\x01")},
		{"escape before 0x03", []byte("a\x01\x03")},
		{"escape before separator", []byte("a\x01\x00b")},
		{"lone separator", []byte{0x00}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, err := DecodeKey(tt.key)
			if !errors.Is(err, ErrInvalidKey) {
				t.Fatalf("DecodeKey(%q) = %q, %v; want ErrInvalidKey",
					tt.key, path, err)
			}
		})
	}
}

// FuzzKeyRoundTrip splits the input at 0xff bytes into a path of
// non-empty segments and checks that encoding and decoding returns it.
func FuzzKeyRoundTrip(f *testing.F) {
	f.Add([]byte("plain"))
	f.Add([]byte("a\xffb\xffc"))
	f.Add([]byte{0x00, 0x01, 0xff, 0x01, 0x00, 0x01, 0x02})
	f.Add([]byte{0x01, 0x01, 0x02, 0x02})
	f.Fuzz(func(t *testing.T, data []byte) {
		var path [][]byte
		for _, segment := range bytes.Split(data, []byte{0xff}) {
			if len(segment) > 0 {
				path = append(path, segment)
			}
		}
		key := EncodeKey(path)
		if len(path) == 1 && !bytes.ContainsAny(path[0], "\x00\x01") &&
			!bytes.Equal(key, path[0]) {
			t.Fatalf("EncodeKey(%q) = %q, want the raw key", path, key)
		}
		got, err := DecodeKey(key)
		if err != nil {
			t.Fatalf("DecodeKey(EncodeKey(%q)): %v", path, err)
		}
		if !equalPaths(got, path) {
			t.Fatalf("DecodeKey(EncodeKey(%q)) = %q", path, got)
		}
	})
}

// FuzzDecodeKey checks that every key DecodeKey accepts is the one
// encoding of its path, so two different keys never name the same path.
func FuzzDecodeKey(f *testing.F) {
	f.Add([]byte("plain"))
	f.Add([]byte("a\x00b"))
	f.Add([]byte{0x01, 0x01, 0x00, 0x01, 0x02})
	f.Add([]byte{0x01, 0x03})
	f.Fuzz(func(t *testing.T, key []byte) {
		path, err := DecodeKey(key)
		if err != nil {
			if !errors.Is(err, ErrInvalidKey) {
				t.Fatalf("DecodeKey(%q): %v, want ErrInvalidKey", key, err)
			}
			return
		}
		if again := EncodeKey(path); !bytes.Equal(again, key) {
			t.Fatalf("EncodeKey(DecodeKey(%q)) = %q", key, again)
		}
	})
}

func TestParseMetadata(t *testing.T) {
	isBucket, seq, err := parseMetadata(bucketMetadata(1<<40 + 7))
	if err != nil || !isBucket || seq != 1<<40+7 {
		t.Fatalf("parseMetadata(bucketMetadata(1<<40+7)) = %v, %d, %v",
			isBucket, seq, err)
	}
	for _, meta := range [][]byte{nil, {}} {
		isBucket, _, err := parseMetadata(meta)
		if err != nil || isBucket {
			t.Fatalf("parseMetadata(%q) = %v, %v; want a value record",
				meta, isBucket, err)
		}
	}
	for _, meta := range []string{"bucket", "bucket123456789", "buckex12345678"} {
		if _, _, err := parseMetadata([]byte(meta)); !errors.Is(err,
			ErrInvalidMetadata) {
			t.Fatalf("parseMetadata(%q) error = %v, want "+
				"ErrInvalidMetadata", meta, err)
		}
	}
}

func equalPaths(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}
