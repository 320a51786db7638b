package seal

import (
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
)

// Key is one named 256-bit key of the keyring. Its bytes never leave the
// process: String and LogValue print only the id.
type Key struct {
	ID     string
	secret []byte
}

// Bytes returns the key material.
func (k Key) Bytes() []byte { return k.secret }

// String returns the key id, never the key.
func (k Key) String() string { return "key " + k.ID }

// GoString keeps the key material out of %#v.
func (k Key) GoString() string { return "seal.Key{ID: " + strconv.Quote(k.ID) + "}" }

// LogValue keeps the key material out of logs.
func (k Key) LogValue() slog.Value { return slog.StringValue(k.ID) }

// ParseKey decodes a base64 key of exactly KeySize bytes. Surrounding
// white space, as left by editors and echo, is ignored.
func ParseKey(id, encoded string) (Key, error) {
	s := strings.TrimSpace(encoded)
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		b, err = base64.RawStdEncoding.DecodeString(s)
	}
	if err != nil {
		return Key{}, fmt.Errorf("key %q is not valid base64; "+
			"make one with 'lifeline keys generate'", id)
	}
	if len(b) != KeySize {
		return Key{}, fmt.Errorf("key %q is %d bytes, want %d; "+
			"make one with 'lifeline keys generate'", id, len(b), KeySize)
	}
	return Key{ID: id, secret: b}, nil
}

// KeyFromEnv reads a base64 key from the environment variable name.
func KeyFromEnv(id, name string) (Key, error) {
	v, ok := os.LookupEnv(name)
	if !ok || strings.TrimSpace(v) == "" {
		return Key{}, fmt.Errorf("key %q: environment variable %s is "+
			"not set", id, name)
	}
	return ParseKey(id, v)
}

// KeyFromFile reads a base64 key from a file.
func KeyFromFile(id, path string) (Key, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Key{}, fmt.Errorf("key %q: read key file: %w", id, err)
	}
	return ParseKey(id, string(b))
}

// GenerateKey returns a new random key, base64-encoded.
func GenerateKey() (string, error) {
	k, err := NewDataKey()
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(k), nil
}

// Keyring holds the keys lifeline may use. The first key encrypts new
// backups; every key may decrypt.
type Keyring struct {
	keys []Key
}

// NewKeyring builds a keyring from keys in order of preference.
func NewKeyring(keys ...Key) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("keyring is empty: configure at least " +
			"one key in the keys list")
	}
	seen := make(map[string]bool)
	for _, k := range keys {
		if k.ID == "" {
			return nil, errors.New("keyring: a key has an empty id")
		}
		if seen[k.ID] {
			return nil, fmt.Errorf("keyring: key id %q appears twice", k.ID)
		}
		seen[k.ID] = true
	}
	return &Keyring{keys: keys}, nil
}

// String lists the key ids, never the keys.
func (r Keyring) String() string {
	var ids []string
	for _, k := range r.keys {
		ids = append(ids, k.ID)
	}
	return "keyring [" + strings.Join(ids, ", ") + "]"
}

// GoString keeps the key material out of %#v.
func (r Keyring) GoString() string { return r.String() }

// LogValue keeps the key material out of logs.
func (r Keyring) LogValue() slog.Value { return slog.StringValue(r.String()) }

// Format prints the key ids for every verb, so no verb of fmt can reach
// the key material in the unexported fields.
func (r Keyring) Format(f fmt.State, _ rune) { fmt.Fprint(f, r.String()) }

// Primary returns the key that encrypts new backups.
func (r *Keyring) Primary() Key { return r.keys[0] }

// Keys returns every key in order of preference.
func (r *Keyring) Keys() []Key { return r.keys }

// Get returns the key with the given id.
func (r *Keyring) Get(id string) (Key, bool) {
	for _, k := range r.keys {
		if k.ID == id {
			return k, true
		}
	}
	return Key{}, false
}
