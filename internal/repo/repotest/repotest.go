// Package repotest creates repositories for tests: a local folder in
// t.TempDir() and a fresh random key.
package repotest

import (
	"context"
	"testing"
	"time"

	"github.com/lifeline-backup/lifeline/internal/blob/local"
	"github.com/lifeline-backup/lifeline/internal/repo"
	"github.com/lifeline-backup/lifeline/internal/seal"
)

// New creates a repository in a temporary folder under one new key
// with id "k1", as if created at now.
func New(t testing.TB, now time.Time) *repo.Repo {
	t.Helper()
	store, err := local.New(t.TempDir())
	if err != nil {
		t.Fatalf("new local store: %v", err)
	}
	r, err := repo.Init(context.Background(), store, Keyring(t), now)
	if err != nil {
		t.Fatalf("init repository: %v", err)
	}
	return r
}

// Keyring returns a keyring of one new random key with id "k1".
func Keyring(t testing.TB) *seal.Keyring {
	t.Helper()
	encoded, err := seal.GenerateKey()
	if err != nil {
		t.Fatalf("generate key: %v", err)
	}
	key, err := seal.ParseKey("k1", encoded)
	if err != nil {
		t.Fatalf("parse key: %v", err)
	}
	keys, err := seal.NewKeyring(key)
	if err != nil {
		t.Fatalf("new keyring: %v", err)
	}
	return keys
}
