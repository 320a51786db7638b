package repo

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/lifeline-backup/lifeline/internal/blob"
	"github.com/lifeline-backup/lifeline/internal/codec"
	"github.com/lifeline-backup/lifeline/internal/seal"
)

// Tier is the kind of a backup.
type Tier string

// The tiers of backup.
const (
	Incremental Tier = "incremental"
	Full        Tier = "full"
	Complete    Tier = "complete"
)

// ParseTier parses a tier name.
func ParseTier(s string) (Tier, error) {
	switch t := Tier(s); t {
	case Incremental, Full, Complete:
		return t, nil
	}
	return "", fmt.Errorf("unknown tier %q: use incremental, full or "+
		"complete", s)
}

// Manifest describes one committed backup. It is stored last, so a
// manifest that exists names only objects that exist.
type Manifest struct {
	Version  int         `json:"version"`
	ID       string      `json:"id"`
	Tier     Tier        `json:"tier"`
	Time     time.Time   `json:"time"`
	Finished time.Time   `json:"finished"`
	Host     string      `json:"host,omitempty"`
	Entries  []Namespace `json:"namespaces"`
}

// Namespace is the part of one backup that covers one namespace of one
// source.
type Namespace struct {
	Source    string `json:"source"`
	Type      string `json:"type"`
	Namespace string `json:"namespace"`
	// Base is the id of the backup an incremental builds on; empty for
	// a full or complete backup of the namespace.
	Base       string  `json:"base,omitempty"`
	Chunks     []Chunk `json:"chunks"`
	Index      []Chunk `json:"index,omitempty"`
	Records    int64   `json:"records"`
	Tombstones int64   `json:"tombstones,omitempty"`
	// RawBytes counts key, value and metadata bytes before compression.
	RawBytes int64 `json:"raw_bytes"`
	// Hash is an order-independent hash of every record, hex-encoded.
	Hash string `json:"hash"`
	// Cursor is a source's own change position, such as a revision.
	Cursor []byte `json:"cursor,omitempty"`
}

// Chunk names one stored object of records.
type Chunk struct {
	Name    string `json:"name"`
	Records int64  `json:"records"`
	Size    int64  `json:"size"`
}

// StoredBytes returns the bytes of every object the backup wrote.
func (m *Manifest) StoredBytes() int64 {
	var n int64
	for _, e := range m.Entries {
		for _, c := range e.Chunks {
			n += c.Size
		}
		for _, c := range e.Index {
			n += c.Size
		}
	}
	return n
}

// Records returns the number of records across namespaces.
func (m *Manifest) Records() int64 {
	var n int64
	for _, e := range m.Entries {
		n += e.Records
	}
	return n
}

// Sources returns the names of the sources in the backup, sorted.
func (m *Manifest) Sources() []string {
	seen := map[string]bool{}
	var out []string
	for _, e := range m.Entries {
		if !seen[e.Source] {
			seen[e.Source] = true
			out = append(out, e.Source)
		}
	}
	sort.Strings(out)
	return out
}

// NewSnapshotID returns a backup id that sorts by its start time.
func NewSnapshotID(start time.Time) string {
	return start.UTC().Format("20060102T150405Z") + "-" + newID()[:8]
}

func newID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("repo: crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}

func snapshotName(id string) string { return "snapshots/" + id }

func wrapName(snapshotID, keyID string) string {
	return "wraps/" + snapshotID + "/" + keyID
}

// ErrNoKey is returned when none of a backup's wrapped data keys belongs
// to a key of the keyring.
var ErrNoKey = errors.New("no key of the keyring opens this backup")

// dataKey unwraps a backup's data key with the first keyring key that has
// a wrap for it.
func (r *Repo) dataKey(ctx context.Context, snapshotID string) ([]byte, error) {
	var have []string
	for info, err := range r.store.List(ctx, "wraps/"+snapshotID+"/") {
		if err != nil {
			return nil, fmt.Errorf("list data keys of backup %s: %w",
				snapshotID, err)
		}
		keyID := info.Name[strings.LastIndex(info.Name, "/")+1:]
		have = append(have, keyID)
		k, ok := r.keys.Get(keyID)
		if !ok {
			continue
		}
		body, err := blob.ReadAll(ctx, r.store, info.Name)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", info.Name, err)
		}
		dk, err := seal.Open(k.Bytes(), info.Name, body)
		if err != nil {
			return nil, fmt.Errorf("open data key %s of backup %s: %w",
				info.Name, snapshotID, err)
		}
		return dk, nil
	}
	if len(have) == 0 {
		return nil, fmt.Errorf("backup %s has no data key object "+
			"(wraps/%s/): %w", snapshotID, snapshotID, ErrNoKey)
	}
	return nil, fmt.Errorf("backup %s is encrypted under key %s, which is "+
		"not in the keyring: %w; add that key to keys: in the config",
		snapshotID, strings.Join(have, ", "), ErrNoKey)
}

// putSealed compresses, seals and stores one object.
func (r *Repo) putSealed(ctx context.Context, key []byte, name string,
	c codec.Compression, plain []byte) (int64, error) {
	payload, err := codec.Compress(c, plain)
	if err != nil {
		return 0, err
	}
	body, err := seal.Seal(key, name, payload)
	if err != nil {
		return 0, err
	}
	err = r.store.Put(ctx, name, bytes.NewReader(body), int64(len(body)))
	if err != nil {
		return 0, fmt.Errorf("store %s: %w", name, err)
	}
	return int64(len(body)), nil
}

// ErrDamaged is returned for an object that exists but does not decrypt
// or decode: it was altered, truncated or replaced.
var ErrDamaged = errors.New("object is damaged")

// getSealed reads, opens and decompresses one object.
func (r *Repo) getSealed(ctx context.Context, key []byte,
	name string) ([]byte, error) {
	body, err := blob.ReadAll(ctx, r.store, name)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	payload, err := seal.Open(key, name, body)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w (%w)", name, ErrDamaged, err)
	}
	plain, err := codec.Decompress(payload)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w (%w)", name, ErrDamaged, err)
	}
	return plain, nil
}

// Snapshot is a committed backup together with its data key.
type Snapshot struct {
	Manifest
	dataKey []byte
}

// LoadSnapshot reads and opens the manifest of one backup.
func (r *Repo) LoadSnapshot(ctx context.Context, id string) (*Snapshot, error) {
	r.cacheMu.Lock()
	s, ok := r.cache[id]
	r.cacheMu.Unlock()
	if ok {
		return s, nil
	}
	s, err := r.loadSnapshot(ctx, id)
	if err != nil {
		return nil, err
	}
	r.cacheMu.Lock()
	if r.cache == nil {
		r.cache = map[string]*Snapshot{}
	}
	r.cache[id] = s
	r.cacheMu.Unlock()
	return s, nil
}

func (r *Repo) forgetSnapshot(id string) {
	r.cacheMu.Lock()
	delete(r.cache, id)
	r.cacheMu.Unlock()
}

func (r *Repo) loadSnapshot(ctx context.Context, id string) (*Snapshot, error) {
	dk, err := r.dataKey(ctx, id)
	if err != nil {
		return nil, err
	}
	plain, err := r.getSealed(ctx, dk, snapshotName(id))
	if err != nil {
		return nil, fmt.Errorf("backup %s: %w", id, err)
	}
	m, err := decodeManifest(id, plain)
	if err != nil {
		return nil, err
	}
	return &Snapshot{Manifest: m, dataKey: dk}, nil
}

// decodeManifest decodes the opened manifest of backup id and checks
// that it names that backup.
func decodeManifest(id string, plain []byte) (Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(plain, &m); err != nil {
		return Manifest{}, fmt.Errorf("backup %s: manifest: %w (%w)", id,
			ErrDamaged, err)
	}
	if m.ID != id {
		return Manifest{}, fmt.Errorf("backup %s: manifest names backup "+
			"%q: %w", id, m.ID, ErrDamaged)
	}
	return m, nil
}

// SnapshotIDs lists the ids of committed backups, oldest first.
func (r *Repo) SnapshotIDs(ctx context.Context) ([]string, error) {
	var ids []string
	for info, err := range r.store.List(ctx, "snapshots/") {
		if err != nil {
			return nil, fmt.Errorf("list backups: %w", err)
		}
		ids = append(ids, strings.TrimPrefix(info.Name, "snapshots/"))
	}
	return ids, nil
}

// Snapshots loads every committed backup, oldest first. Backups that fail
// to load are returned in the second slice with their errors, so one
// damaged manifest does not hide the others.
func (r *Repo) Snapshots(ctx context.Context) ([]*Snapshot, []error, error) {
	ids, err := r.SnapshotIDs(ctx)
	if err != nil {
		return nil, nil, err
	}
	var snaps []*Snapshot
	var bad []error
	for _, id := range ids {
		s, err := r.LoadSnapshot(ctx, id)
		if err != nil {
			bad = append(bad, err)
			continue
		}
		snaps = append(snaps, s)
	}
	// Ids order backups by second only; the manifest's time is exact.
	sort.SliceStable(snaps, func(i, j int) bool {
		return snaps[i].Time.Before(snaps[j].Time)
	})
	return snaps, bad, nil
}

// ErrSnapshotNotFound is returned by Resolve for an id that matches no
// backup.
var ErrSnapshotNotFound = errors.New("backup not found")

// Resolve turns "latest", a full id or a unique id prefix into a backup id.
func (r *Repo) Resolve(ctx context.Context, ref string) (string, error) {
	if ref == "latest" {
		// Ids order backups by second only, so the newest comes from
		// the manifests' exact times.
		return r.latest(ctx)
	}
	ids, err := r.SnapshotIDs(ctx)
	if err != nil {
		return "", err
	}
	var match []string
	for _, id := range ids {
		if id == ref {
			return id, nil
		}
		if strings.HasPrefix(id, ref) || strings.HasSuffix(id, "-"+ref) {
			match = append(match, id)
		}
	}
	switch len(match) {
	case 0:
		return "", fmt.Errorf("%q: %w; list backups with 'lifeline "+
			"snapshots'", ref, ErrSnapshotNotFound)
	case 1:
		return match[0], nil
	}
	return "", fmt.Errorf("%q matches %d backups (%s); give more of the id",
		ref, len(match), strings.Join(match, ", "))
}

// latest returns the newest backup. When a backup that started later
// than the newest readable one cannot be read, it returns that error
// instead: quietly restoring an older backup would lose data.
func (r *Repo) latest(ctx context.Context) (string, error) {
	ids, err := r.SnapshotIDs(ctx)
	if err != nil {
		return "", err
	}
	snaps, _, err := r.Snapshots(ctx)
	if err != nil {
		return "", err
	}
	if len(snaps) == 0 {
		return "", fmt.Errorf("latest: the repository holds no "+
			"readable backup: %w", ErrSnapshotNotFound)
	}
	newest := snaps[len(snaps)-1]
	last := ids[len(ids)-1]
	// Ids start with the start time to the second, so a later id that
	// is not readable is a newer backup.
	if last > newest.ID && last[:16] > newest.ID[:16] {
		_, err := r.LoadSnapshot(ctx, last)
		return "", fmt.Errorf("latest: the newest backup %s cannot be "+
			"read (%w); the newest readable one is %s: pass --snapshot "+
			"%s to restore it", last, err, newest.ID, newest.ID)
	}
	return newest.ID, nil
}
