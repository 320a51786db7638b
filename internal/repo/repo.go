// Package repo is the repository format: where each object lives, how it
// is sealed, and how backups are committed by writing their manifest last.
//
// Layout of a repository:
//
//	config                       plain JSON: format version, repository id
//	keys/<key-id>                a known text sealed under that key, to tell
//	                             a wrong key from a damaged object
//	snapshots/<snapshot-id>      a backup's manifest, sealed under its data key
//	wraps/<snapshot-id>/<key-id> the backup's data key sealed under a key of
//	                             the keyring
//	data/<id[0:2]>/<id>          record chunks, sealed under the data key
//	index/<id[0:2]>/<id>         change index chunks (key to content hash)
//
// The package does not read sources or write targets; packages backup and
// restore do, through the types here.
package repo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/lifeline-backup/lifeline/internal/blob"
	"github.com/lifeline-backup/lifeline/internal/seal"
)

// FormatVersion is the repository format this code writes and reads.
const FormatVersion = 1

const configName = "config"

// keyCheckText is sealed under each key as keys/<id>. The repository id is
// appended so a key check cannot be copied between repositories.
const keyCheckText = "lifeline key check\x00"

// ErrNotInitialized is returned by Open for a store that holds no
// repository.
var ErrNotInitialized = errors.New("no repository here: run 'lifeline init' first")

// ErrWrongKey is returned when a key of the keyring fails to open its key
// check object: the key's bytes are not the ones the repository knows by
// that id.
var ErrWrongKey = errors.New("wrong key")

// Config is the plain description stored as the object "config".
type Config struct {
	Version int       `json:"version"`
	ID      string    `json:"id"`
	Created time.Time `json:"created"`
}

// Repo is an open repository.
type Repo struct {
	store blob.Store
	keys  *seal.Keyring
	cfg   Config

	// cache holds loaded manifests by backup id. Manifests never
	// change once stored, so an entry stays valid until the backup is
	// deleted.
	cacheMu sync.Mutex
	cache   map[string]*Snapshot

	// keyCheckProblems lists key checks that do not open under a key
	// that opens data keys of backups: the check object is damaged, not
	// the key wrong. Check reports them.
	keyCheckProblems []Problem

	// retain is how long after its start a backup's objects stay
	// locked, or nil; see SetRetention.
	retain func(Tier) time.Duration
}

// Init creates a repository in an empty store. It refuses a store that
// already holds a repository or any other object.
func Init(ctx context.Context, store blob.Store, keys *seal.Keyring,
	now time.Time) (*Repo, error) {
	for info, err := range store.List(ctx, "") {
		if err != nil {
			return nil, fmt.Errorf("init repository %s: %w", store, err)
		}
		if info.Name == configName {
			return nil, fmt.Errorf("init repository %s: a repository "+
				"already exists here; nothing was changed", store)
		}
		return nil, fmt.Errorf("init repository %s: the location is not "+
			"empty (it holds %s); nothing was changed", store, info.Name)
	}
	r := &Repo{store: store, keys: keys, cfg: Config{
		Version: FormatVersion,
		ID:      newID(),
		Created: now.UTC(),
	}}
	for _, k := range keys.Keys() {
		if err := r.putKeyCheck(ctx, k); err != nil {
			return nil, err
		}
	}
	body, err := json.MarshalIndent(r.cfg, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := store.Put(ctx, configName, bytes.NewReader(body),
		int64(len(body))); err != nil {
		return nil, fmt.Errorf("init repository %s: write config: %w",
			store, err)
	}
	return r, nil
}

// Open opens an existing repository and checks every key of the keyring
// against the repository's key checks. A key the repository has not seen
// yet gets its key check written.
func Open(ctx context.Context, store blob.Store,
	keys *seal.Keyring) (*Repo, error) {
	body, err := blob.ReadAll(ctx, store, configName)
	if errors.Is(err, blob.ErrNotFound) {
		return nil, fmt.Errorf("open repository %s: %w", store,
			ErrNotInitialized)
	}
	if err != nil {
		return nil, fmt.Errorf("open repository %s: %w", store, err)
	}
	r := &Repo{store: store, keys: keys}
	if err := json.Unmarshal(body, &r.cfg); err != nil {
		return nil, fmt.Errorf("open repository %s: config is not "+
			"valid JSON: %w", store, err)
	}
	if r.cfg.Version != FormatVersion {
		return nil, fmt.Errorf("open repository %s: format version %d "+
			"is not supported by this lifeline (it reads %d)",
			store, r.cfg.Version, FormatVersion)
	}
	for _, k := range keys.Keys() {
		if err := r.verifyKey(ctx, k); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Store returns the blob store under the repository.
func (r *Repo) Store() blob.Store { return r.store }

// ID returns the repository id.
func (r *Repo) ID() string { return r.cfg.ID }

// Keyring returns the keyring the repository was opened with.
func (r *Repo) Keyring() *seal.Keyring { return r.keys }

func keyCheckName(id string) string { return "keys/" + id }

func (r *Repo) putKeyCheck(ctx context.Context, k seal.Key) error {
	name := keyCheckName(k.ID)
	body, err := seal.Seal(k.Bytes(), name, []byte(keyCheckText+r.cfg.ID))
	if err != nil {
		return err
	}
	err = r.store.Put(ctx, name, bytes.NewReader(body), int64(len(body)))
	if err != nil && !errors.Is(err, blob.ErrExists) {
		return fmt.Errorf("write key check %s: %w", name, err)
	}
	return nil
}

func (r *Repo) verifyKey(ctx context.Context, k seal.Key) error {
	name := keyCheckName(k.ID)
	body, err := blob.ReadAll(ctx, r.store, name)
	if errors.Is(err, blob.ErrNotFound) {
		return r.putKeyCheck(ctx, k)
	}
	if err != nil {
		return fmt.Errorf("read key check %s: %w", name, err)
	}
	plain, err := seal.Open(k.Bytes(), name, body)
	if err == nil && string(plain) == keyCheckText+r.cfg.ID {
		return nil
	}
	if wrap := r.opensWrap(ctx, k); wrap != "" {
		r.keyCheckProblems = append(r.keyCheckProblems, Problem{
			Object: name,
			Err: fmt.Errorf("%w: key %q opens %s, so the key is right "+
				"and its key check is damaged; remove %s and the next "+
				"command writes it again", ErrDamaged, k.ID, wrap, name),
		})
		return nil
	}
	return fmt.Errorf("key %q does not open its key check %s in "+
		"repository %s: %w: check that the configured key for id %q "+
		"is the one this repository was written with",
		k.ID, name, r.store, ErrWrongKey, k.ID)
}

// opensWrap returns the name of a data key wrap under k that k opens, or
// "" when there is none, which distinguishes a damaged key check from a
// wrong key.
func (r *Repo) opensWrap(ctx context.Context, k seal.Key) string {
	for info, err := range r.store.List(ctx, "wraps/") {
		if err != nil {
			return ""
		}
		if !strings.HasSuffix(info.Name, "/"+k.ID) {
			continue
		}
		body, err := blob.ReadAll(ctx, r.store, info.Name)
		if err != nil {
			continue
		}
		if _, err := seal.Open(k.Bytes(), info.Name, body); err == nil {
			return info.Name
		}
	}
	return ""
}
