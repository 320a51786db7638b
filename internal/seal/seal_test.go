package seal

import (
	"bytes"
	"errors"
	"testing"
)

// testKey returns a fixed key whose bytes are 0, 1, ..., 31, so fuzz seeds
// sealed under it stay valid between runs.
func testKey() []byte {
	k := make([]byte, KeySize)
	for i := range k {
		k[i] = byte(i)
	}
	return k
}

func otherKey() []byte {
	k := testKey()
	k[0] ^= 0xff
	return k
}

func mustSeal(t *testing.T, key []byte, name string, plain []byte) []byte {
	t.Helper()
	sealed, err := Seal(key, name, plain)
	if err != nil {
		t.Fatalf("Seal(%q): %v", name, err)
	}
	return sealed
}

func TestSeal_RoundTrip(t *testing.T) {
	tests := []struct {
		name  string
		plain []byte
	}{
		{"empty", []byte{}},
		{"nil", nil},
		{"small", []byte("hello, lifeline")},
		{"binary", []byte{0, 0xff, 0x80, 0, 1}},
		{"one MiB", bytes.Repeat([]byte("0123456789abcdef"), 1<<16)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sealed := mustSeal(t, testKey(), "data/ab/abcdef", tt.plain)
			got, err := Open(testKey(), "data/ab/abcdef", sealed)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if !bytes.Equal(got, tt.plain) {
				t.Errorf("Open returned %d bytes that differ from the "+
					"%d sealed", len(got), len(tt.plain))
			}
			if bytes.Contains(sealed, []byte("lifeline")) {
				t.Errorf("sealed object contains the plaintext")
			}
		})
	}
}

func TestSeal_Header(t *testing.T) {
	sealed := mustSeal(t, testKey(), "config", []byte("x"))
	if got := string(sealed[:3]); got != "LLS" {
		t.Errorf("magic = %q, want %q", got, "LLS")
	}
	if got := sealed[3]; got != Version {
		t.Errorf("version byte = %d, want %d", got, Version)
	}
	// Header, 12-byte nonce, 1 byte of ciphertext and a 16-byte tag.
	if want := 4 + 12 + 1 + 16; len(sealed) != want {
		t.Errorf("sealed length = %d, want %d", len(sealed), want)
	}
}

func TestSeal_UniqueNonce(t *testing.T) {
	plain := []byte("same plaintext")
	a := mustSeal(t, testKey(), "n", plain)
	b := mustSeal(t, testKey(), "n", plain)
	if bytes.Equal(a, b) {
		t.Fatal("two seals of the same plaintext are equal")
	}
	if bytes.Equal(a[4:16], b[4:16]) {
		t.Errorf("two seals share the nonce %x", a[4:16])
	}
}

func TestOpen_FlippedByte(t *testing.T) {
	sealed := mustSeal(t, testKey(), "snapshots/x", []byte("manifest"))
	regions := func(i int) string {
		switch {
		case i < 4:
			return "header"
		case i < 16:
			return "nonce"
		case i < len(sealed)-16:
			return "ciphertext"
		}
		return "tag"
	}
	for i := range sealed {
		for _, mask := range []byte{0x01, 0x80, 0xff} {
			damaged := bytes.Clone(sealed)
			damaged[i] ^= mask
			got, err := Open(testKey(), "snapshots/x", damaged)
			if err == nil {
				t.Errorf("byte %d (%s) ^ %#x: Open returned %q, want "+
					"an error", i, regions(i), mask, got)
				continue
			}
			if !errors.Is(err, ErrAuth) && !errors.Is(err, ErrMalformed) {
				t.Errorf("byte %d (%s) ^ %#x: error %v, want ErrAuth "+
					"or ErrMalformed", i, regions(i), mask, err)
			}
			if i >= 4 && !errors.Is(err, ErrAuth) {
				t.Errorf("byte %d (%s): error %v, want ErrAuth", i,
					regions(i), err)
			}
		}
	}
}

func TestOpen_WrongName(t *testing.T) {
	sealed := mustSeal(t, testKey(), "data/ab/ab01", []byte("chunk"))
	for _, name := range []string{
		"data/ab/ab02", "data/ab/ab0", "data/ab/ab01 ", "", "DATA/ab/ab01",
	} {
		_, err := Open(testKey(), name, sealed)
		if !errors.Is(err, ErrAuth) {
			t.Errorf("Open under %q: error %v, want ErrAuth", name, err)
		}
	}
}

func TestOpen_WrongKey(t *testing.T) {
	sealed := mustSeal(t, testKey(), "keys/main", []byte("check"))
	_, err := Open(otherKey(), "keys/main", sealed)
	if !errors.Is(err, ErrAuth) {
		t.Errorf("Open with another key: error %v, want ErrAuth", err)
	}
}

func TestOpen_Truncated(t *testing.T) {
	sealed := mustSeal(t, testKey(), "n", []byte("some plaintext"))
	for n := 0; n < len(sealed); n++ {
		_, err := Open(testKey(), "n", sealed[:n])
		if !errors.Is(err, ErrAuth) && !errors.Is(err, ErrMalformed) {
			t.Errorf("first %d of %d bytes: error %v, want ErrAuth or "+
				"ErrMalformed", n, len(sealed), err)
		}
	}
	// Shorter than header, nonce and tag together.
	for _, n := range []int{0, 3, 4, 16, 31} {
		_, err := Open(testKey(), "n", sealed[:n])
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("first %d bytes: error %v, want ErrMalformed", n, err)
		}
	}
}

func TestOpen_TrailingByte(t *testing.T) {
	sealed := mustSeal(t, testKey(), "n", []byte("plaintext"))
	_, err := Open(testKey(), "n", append(sealed, 0))
	if !errors.Is(err, ErrAuth) {
		t.Errorf("Open with a byte appended: error %v, want ErrAuth", err)
	}
}

func TestOpen_VersionChanged(t *testing.T) {
	sealed := mustSeal(t, testKey(), "n", []byte("plaintext"))
	for _, v := range []byte{0, Version + 1, 0xff} {
		damaged := bytes.Clone(sealed)
		damaged[3] = v
		_, err := Open(testKey(), "n", damaged)
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("version %d: error %v, want ErrMalformed", v, err)
		}
	}
}

func TestOpen_OtherMagic(t *testing.T) {
	sealed := mustSeal(t, testKey(), "n", []byte("plaintext"))
	damaged := bytes.Clone(sealed)
	copy(damaged, "XYZ")
	_, err := Open(testKey(), "n", damaged)
	if !errors.Is(err, ErrMalformed) {
		t.Errorf("other magic: error %v, want ErrMalformed", err)
	}
}

func TestSeal_WrongKeySize(t *testing.T) {
	valid := mustSeal(t, testKey(), "n", []byte("x"))
	// 16 and 24 bytes are valid AES keys but not AES-256 keys.
	for _, size := range []int{0, 1, 16, 24, 31, 33, 64} {
		key := make([]byte, size)
		if _, err := Seal(key, "n", []byte("x")); err == nil {
			t.Errorf("Seal with a %d-byte key: no error", size)
		}
		if _, err := Open(key, "n", valid); err == nil {
			t.Errorf("Open with a %d-byte key: no error", size)
		}
	}
}

func TestNewDataKey(t *testing.T) {
	a, err := NewDataKey()
	if err != nil {
		t.Fatalf("NewDataKey: %v", err)
	}
	b, err := NewDataKey()
	if err != nil {
		t.Fatalf("NewDataKey: %v", err)
	}
	if len(a) != KeySize {
		t.Errorf("data key is %d bytes, want %d", len(a), KeySize)
	}
	if bytes.Equal(a, b) {
		t.Error("two data keys are equal")
	}
}

// FuzzOpen feeds arbitrary objects and names to Open under a fixed key.
// Open must not panic, and whatever it accepts must seal and open again.
func FuzzOpen(f *testing.F) {
	key := testKey()
	for _, plain := range []string{"", "x", "lifeline key check"} {
		sealed, err := Seal(key, "keys/main", []byte(plain))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(sealed, "keys/main")
	}
	f.Add([]byte("LLS\x01"), "n")
	f.Add([]byte{}, "")
	f.Fuzz(func(t *testing.T, sealed []byte, name string) {
		plain, err := Open(key, name, sealed)
		if err != nil {
			if !errors.Is(err, ErrAuth) && !errors.Is(err, ErrMalformed) {
				t.Fatalf("Open: error %v, want ErrAuth or ErrMalformed",
					err)
			}
			return
		}
		again, err := Open(key, name, mustSeal(t, key, name, plain))
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		if !bytes.Equal(again, plain) {
			t.Fatal("reopened plaintext differs")
		}
	})
}
