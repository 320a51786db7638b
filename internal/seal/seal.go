// Package seal encrypts repository objects with AES-256-GCM and manages
// the keyring that protects them.
//
// Every sealed object binds its name and the format version in as
// associated data, so an object moved to another name, or replayed from
// another format, fails to open. Keys never enter the repository: only
// objects sealed under them do.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
)

// Version is the envelope format version written into every sealed object.
const Version = 1

// KeySize is the size in bytes of every key: AES-256.
const KeySize = 32

var magic = [3]byte{'L', 'L', 'S'}

const headerSize = len(magic) + 1

// ErrMalformed is returned by Open for input too short to be a sealed
// object, or one whose header names another format.
var ErrMalformed = errors.New("not a sealed lifeline object")

// ErrAuth is returned by Open when authentication fails: the key is wrong,
// or the object was altered, truncated or stored under another name.
var ErrAuth = errors.New("authentication failed: wrong key or damaged object")

// Seal encrypts plaintext under key for the object called name.
func Seal(key []byte, name string, plaintext []byte) ([]byte, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, headerSize+aead.NonceSize(),
		headerSize+aead.NonceSize()+len(plaintext)+aead.Overhead())
	copy(out, magic[:])
	out[len(magic)] = Version
	nonce := out[headerSize:]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal: read random nonce: %w", err)
	}
	return aead.Seal(out, nonce, plaintext, associatedData(name)), nil
}

// Open decrypts an object sealed by Seal under the same key and name.
func Open(key []byte, name string, sealed []byte) ([]byte, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	if len(sealed) < headerSize+aead.NonceSize()+aead.Overhead() {
		return nil, ErrMalformed
	}
	if [3]byte(sealed[:len(magic)]) != magic {
		return nil, ErrMalformed
	}
	if v := sealed[len(magic)]; v != Version {
		return nil, fmt.Errorf("%w: format version %d, want %d",
			ErrMalformed, v, Version)
	}
	nonce := sealed[headerSize : headerSize+aead.NonceSize()]
	body := sealed[headerSize+aead.NonceSize():]
	plain, err := aead.Open(nil, nonce, body, associatedData(name))
	if err != nil {
		return nil, ErrAuth
	}
	return plain, nil
}

// NewDataKey returns a fresh random key for one backup.
func NewDataKey() ([]byte, error) {
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("seal: read random key: %w", err)
	}
	return k, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("seal: key is %d bytes, want %d",
			len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return cipher.NewGCM(block)
}

func associatedData(name string) []byte {
	ad := make([]byte, 0, headerSize+len(name))
	ad = append(ad, magic[:]...)
	ad = append(ad, Version)
	return append(ad, name...)
}
