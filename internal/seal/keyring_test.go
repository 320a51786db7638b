package seal

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const testKeyBase64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

func TestParseKey_Accepts(t *testing.T) {
	raw := strings.TrimRight(testKeyBase64, "=")
	tests := []struct {
		name    string
		encoded string
	}{
		{"plain", testKeyBase64},
		{"trailing newline", testKeyBase64 + "\n"},
		{"windows newline", testKeyBase64 + "\r\n"},
		{"surrounding spaces", "  " + testKeyBase64 + " \t"},
		{"leading newline", "\n" + testKeyBase64},
		{"no padding", raw},
		{"no padding and newline", raw + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ParseKey("main", tt.encoded)
			if err != nil {
				t.Fatalf("ParseKey: %v", err)
			}
			if k.ID != "main" {
				t.Errorf("ID = %q, want %q", k.ID, "main")
			}
			if !bytes.Equal(k.Bytes(), testKey()) {
				t.Errorf("Bytes = %x, want %x", k.Bytes(), testKey())
			}
		})
	}
}

func TestParseKey_Rejects(t *testing.T) {
	short := base64.StdEncoding.EncodeToString(testKey()[:16])
	long := base64.StdEncoding.EncodeToString(append(testKey(), 7))
	tests := []struct {
		name    string
		encoded string
		want    string
	}{
		{"empty", "", "0 bytes"},
		{"16 bytes", short, "16 bytes"},
		{"33 bytes", long, "33 bytes"},
		{"not base64", "s3cr3t-key-text!*", "base64"},
		{"url alphabet", "s3cr3t_key-text_s3cr3t_key-text_s3cr3t_key-",
			"base64"},
		{"hex", hex.EncodeToString(testKey()), "bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseKey("backup-2024", tt.encoded)
			if err == nil {
				t.Fatal("ParseKey: no error")
			}
			msg := err.Error()
			if !strings.Contains(msg, `"backup-2024"`) {
				t.Errorf("error %q does not name the key id", msg)
			}
			if !strings.Contains(msg, tt.want) {
				t.Errorf("error %q does not contain %q", msg, tt.want)
			}
			if tt.encoded != "" && strings.Contains(msg, tt.encoded) {
				t.Errorf("error %q contains the key text", msg)
			}
		})
	}
}

func TestKeyFromEnv(t *testing.T) {
	t.Setenv("LIFELINE_TEST_KEY", testKeyBase64+"\n")
	k, err := KeyFromEnv("main", "LIFELINE_TEST_KEY")
	if err != nil {
		t.Fatalf("KeyFromEnv: %v", err)
	}
	if !bytes.Equal(k.Bytes(), testKey()) {
		t.Errorf("Bytes = %x, want %x", k.Bytes(), testKey())
	}
}

func TestKeyFromEnv_Missing(t *testing.T) {
	const name = "LIFELINE_TEST_KEY_UNSET"
	t.Setenv(name, "")
	if err := os.Unsetenv(name); err != nil {
		t.Fatal(err)
	}
	checkMissing := func(t *testing.T) {
		t.Helper()
		_, err := KeyFromEnv("main", name)
		if err == nil {
			t.Fatal("KeyFromEnv: no error")
		}
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name the variable %s", err, name)
		}
		if !strings.Contains(err.Error(), `"main"`) {
			t.Errorf("error %q does not name the key id", err)
		}
	}
	t.Run("unset", checkMissing)
	t.Run("blank", func(t *testing.T) {
		t.Setenv(name, " \n")
		checkMissing(t)
	})
}

func TestKeyFromEnv_Invalid(t *testing.T) {
	t.Setenv("LIFELINE_TEST_KEY", "not-a-key-at-all")
	_, err := KeyFromEnv("main", "LIFELINE_TEST_KEY")
	if err == nil {
		t.Fatal("KeyFromEnv: no error")
	}
	if strings.Contains(err.Error(), "not-a-key-at-all") {
		t.Errorf("error %q contains the key text", err)
	}
}

func TestKeyFromFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(path, []byte(testKeyBase64+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	k, err := KeyFromFile("main", path)
	if err != nil {
		t.Fatalf("KeyFromFile: %v", err)
	}
	if !bytes.Equal(k.Bytes(), testKey()) {
		t.Errorf("Bytes = %x, want %x", k.Bytes(), testKey())
	}
}

func TestKeyFromFile_Missing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "absent")
	_, err := KeyFromFile("main", path)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error %v, want fs.ErrNotExist", err)
	}
	if err != nil && !strings.Contains(err.Error(), `"main"`) {
		t.Errorf("error %q does not name the key id", err)
	}
}

func TestGenerateKey(t *testing.T) {
	a, err := GenerateKey()
	if err != nil {
		t.Fatalf("GenerateKey: %v", err)
	}
	b, err := GenerateKey()
	if err != nil {
		t.Fatalf("GenerateKey: %v", err)
	}
	if a == b {
		t.Error("two generated keys are equal")
	}
	k, err := ParseKey("new", a)
	if err != nil {
		t.Fatalf("ParseKey of a generated key: %v", err)
	}
	if len(k.Bytes()) != KeySize {
		t.Errorf("generated key is %d bytes, want %d", len(k.Bytes()),
			KeySize)
	}
}

// secretForms returns the ways a leaked key could appear in text.
func secretForms(k Key) []string {
	b := k.Bytes()
	return []string{
		base64.StdEncoding.EncodeToString(b),
		base64.RawStdEncoding.EncodeToString(b),
		hex.EncodeToString(b),
		fmt.Sprint(b),
		strings.TrimPrefix(fmt.Sprintf("%#v", b), "[]byte"),
		string(b),
	}
}

func checkRedacted(t *testing.T, k Key, out string) {
	t.Helper()
	for _, form := range secretForms(k) {
		if strings.Contains(out, form) {
			t.Errorf("output %q contains the key as %q", out, form)
		}
	}
	if !strings.Contains(out, k.ID) {
		t.Errorf("output %q does not name the key id %q", out, k.ID)
	}
}

func TestKey_Redacted(t *testing.T) {
	k, err := ParseKey("main", testKeyBase64)
	if err != nil {
		t.Fatal(err)
	}
	type holder struct{ Key Key }
	tests := []struct {
		name string
		out  string
	}{
		{"Sprint", fmt.Sprint(k)},
		{"v", fmt.Sprintf("%v", k)},
		{"plus v", fmt.Sprintf("%+v", k)},
		{"pointer", fmt.Sprint(&k)},
		{"slice", fmt.Sprint([]Key{k})},
		{"struct field", fmt.Sprintf("%+v", holder{k})},
		{"String", k.String()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkRedacted(t, k, tt.out)
		})
	}
}

func TestKey_LogValue(t *testing.T) {
	k, err := ParseKey("main", testKeyBase64)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	logs := map[string]slog.Handler{
		"json": slog.NewJSONHandler(&buf, nil),
		"text": slog.NewTextHandler(&buf, nil),
	}
	for name, h := range logs {
		t.Run(name, func(t *testing.T) {
			buf.Reset()
			log := slog.New(h)
			log.Info("key loaded", "key", k)
			log.Info("key loaded", slog.Any("key", k))
			log.Info("keys loaded", slog.Group("keyring", "first", k))
			checkRedacted(t, k, buf.String())
		})
	}
}

// TestKey_GoStringRedacted covers %#v, which fmt serves from GoString
// rather than String.
func TestKey_GoStringRedacted(t *testing.T) {
	k, err := ParseKey("main", testKeyBase64)
	if err != nil {
		t.Fatal(err)
	}
	checkRedacted(t, k, fmt.Sprintf("%#v", k))
}

// TestKeyring_Redacted prints a whole keyring. fmt and slog's text handler
// cannot call Key.String on the keys in its unexported field, so the
// keyring must redact itself.
func TestKeyring_Redacted(t *testing.T) {
	k, err := ParseKey("main", testKeyBase64)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewKeyring(k)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("open", "keyring", r)
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("open", "keyring", r)
	tests := []struct {
		name string
		out  string
	}{
		{"Sprint", fmt.Sprint(r)},
		{"plus v", fmt.Sprintf("%+v", r)},
		{"value", fmt.Sprintf("%v", *r)},
		{"slog", buf.String()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, form := range secretForms(k) {
				if strings.Contains(tt.out, form) {
					t.Errorf("output %q contains the key as %q", tt.out,
						form)
				}
			}
		})
	}
}

func TestNewKeyring(t *testing.T) {
	a, err := ParseKey("a", testKeyBase64)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseKey("b", base64.StdEncoding.EncodeToString(otherKey()))
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewKeyring(a, b)
	if err != nil {
		t.Fatalf("NewKeyring: %v", err)
	}
	if r.Primary().ID != "a" {
		t.Errorf("Primary = %q, want %q", r.Primary().ID, "a")
	}
	if got := len(r.Keys()); got != 2 {
		t.Errorf("Keys returned %d keys, want 2", got)
	}
	got, ok := r.Get("b")
	if !ok || !bytes.Equal(got.Bytes(), otherKey()) {
		t.Errorf("Get(%q) = %v, %v, want key b", "b", got, ok)
	}
	if _, ok := r.Get("c"); ok {
		t.Errorf("Get(%q) found a key", "c")
	}
}

func TestNewKeyring_Rejects(t *testing.T) {
	a, err := ParseKey("a", testKeyBase64)
	if err != nil {
		t.Fatal(err)
	}
	a2, err := ParseKey("a", base64.StdEncoding.EncodeToString(otherKey()))
	if err != nil {
		t.Fatal(err)
	}
	noID := a
	noID.ID = ""
	tests := []struct {
		name string
		keys []Key
		want string
	}{
		{"empty", nil, "empty"},
		{"duplicate id", []Key{a, a2}, `"a"`},
		{"same key twice", []Key{a, a}, `"a"`},
		{"empty id", []Key{a, noID}, "empty id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewKeyring(tt.keys...)
			if err == nil {
				t.Fatal("NewKeyring: no error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}
