package cfkv

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/lifeline-backup/lifeline/internal/source"
)

const (
	// maxBulkPairs is the most pairs or keys one bulk request may hold.
	maxBulkPairs = 10000
	// maxBulkBytes bounds the body of one bulk request. Cloudflare
	// allows 100 megabytes, read as decimal megabytes, the smaller.
	maxBulkBytes = 100_000_000
)

// SkipReason is the reason Write left a record out.
type SkipReason string

// The reasons Write leaves a record out. Cloudflare rejects a bulk
// request with any such record in it.
const (
	SkipTooSoon         SkipReason = "expires less than 60 seconds after now"
	SkipKeyTooLong      SkipReason = "key longer than 512 bytes"
	SkipInvalidKey      SkipReason = `key empty, ".", ".." or not UTF-8`
	SkipInvalidMetadata SkipReason = "metadata not JSON or longer than 1024 bytes"
	SkipValueTooLarge   SkipReason = "value larger than 25 MiB"
)

// Skip is one record that Write left out, unchanged and unwritten.
type Skip struct {
	Namespace string
	Key       []byte
	Reason    SkipReason
}

// Skipped returns the records that Write has left out since the previous
// call, and clears the list. The caller reports them to the user, because
// WriteResult has no field for them.
func (s *Source) Skipped() []Skip {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.skipped
	s.skipped = nil
	return out
}

// keyIndex is the set of keys that exist in one namespace, for
// KeepExisting. now is the Write argument it was built for.
type keyIndex struct {
	now  time.Time
	keys map[string]struct{}
}

// bulkItem is a key and its JSON element in a bulk request body: a pair
// for a write, the key string for a delete.
type bulkItem struct {
	key  string
	json []byte
}

// Write stores records with bulk writes and applies tombstones with bulk
// deletes in Replace mode. Records whose expiry has passed are counted
// in Expired. Records that Cloudflare would reject are left out and
// listed by Skipped. Within one call, a later record of a key wins over
// an earlier one. On error the result counts what was done before it.
func (s *Source) Write(ctx context.Context, namespace string,
	records []source.Record, mode source.WriteMode,
	now time.Time) (source.WriteResult, error) {
	var res source.WriteResult
	id, err := s.resolve(ctx, namespace)
	if err != nil {
		return res, err
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	where := fmt.Sprintf("namespace %q of %s", namespace, s.Describe())

	puts, deletes, skips := plan(records, mode, now, &res)
	s.addSkips(namespace, skips)
	if mode == source.KeepExisting && len(puts) > 0 {
		idx, err := s.index(ctx, id, now)
		if err != nil {
			return res, fmt.Errorf("list existing keys of %s: %w",
				where, err)
		}
		puts = dropExisting(puts, idx, &res)
	}

	n, err := s.sendBulk(ctx, puts, func(chunk []bulkItem) (bulkResult,
		error) {
		return s.api.bulkWrite(ctx, id, joinJSON(chunk))
	})
	res.Written += n
	if err != nil {
		s.dropIndex(id)
		return res, fmt.Errorf("write %d records to %s: %w",
			len(puts), where, err)
	}
	s.noteKeys(id, puts, true)

	n, err = s.sendBulk(ctx, deletes, func(chunk []bulkItem) (bulkResult,
		error) {
		return s.api.bulkDelete(ctx, id, itemKeys(chunk))
	})
	res.Deleted += n
	if err != nil {
		s.dropIndex(id)
		return res, fmt.Errorf("delete %d keys from %s: %w",
			len(deletes), where, err)
	}
	s.noteKeys(id, deletes, false)
	return res, nil
}

// plan sorts records into pairs to write and keys to delete, counts the
// expired ones in res and returns the ones Cloudflare would reject.
func plan(records []source.Record, mode source.WriteMode, now time.Time,
	res *source.WriteResult) (puts, deletes []bulkItem, skips []Skip) {
	minExpiry := ceilUnix(later(now, time.Now()).Add(MinExpiry))
	seen := make(map[string]struct{}, len(records))
	// Walking backwards keeps the last record of each key.
	for i := len(records) - 1; i >= 0; i-- {
		rec := &records[i]
		if _, dup := seen[string(rec.Key)]; dup {
			continue
		}
		seen[string(rec.Key)] = struct{}{}
		switch {
		case rec.Deleted && mode != source.Replace:
		case rec.Deleted:
			if reason := checkKey(rec.Key); reason != "" {
				continue // Cloudflare cannot hold such a key
			}
			deletes = append(deletes, deleteItem(string(rec.Key)))
		case rec.Expired(now):
			res.Expired++
		default:
			item, reason := putItem(rec, minExpiry)
			if reason != "" {
				skips = append(skips, Skip{Key: rec.Key, Reason: reason})
				continue
			}
			puts = append(puts, item)
		}
	}
	return puts, deletes, skips
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// ceilUnix returns t in Unix seconds, rounded up.
func ceilUnix(t time.Time) int64 {
	sec := t.Unix()
	if t.Nanosecond() > 0 {
		sec++
	}
	return sec
}

func checkKey(key []byte) SkipReason {
	switch {
	case len(key) == 0, string(key) == ".", string(key) == "..",
		!utf8.Valid(key):
		return SkipInvalidKey
	case len(key) > MaxKeyBytes:
		return SkipKeyTooLong
	}
	return ""
}

// putItem encodes rec as a bulk write pair, or returns why it cannot be
// written. minExpiry is the earliest expiry Cloudflare accepts.
func putItem(rec *source.Record, minExpiry int64) (bulkItem, SkipReason) {
	if reason := checkKey(rec.Key); reason != "" {
		return bulkItem{}, reason
	}
	if len(rec.Value) > MaxValueBytes {
		return bulkItem{}, SkipValueTooLarge
	}
	p := pair{Key: string(rec.Key)}
	if len(rec.Metadata) > 0 {
		if len(rec.Metadata) > MaxMetadataBytes ||
			!json.Valid(rec.Metadata) {
			return bulkItem{}, SkipInvalidMetadata
		}
		p.Metadata = rec.Metadata
	}
	if !rec.ExpiresAt.IsZero() {
		p.Expiration = ceilUnix(rec.ExpiresAt)
		if p.Expiration < minExpiry {
			return bulkItem{}, SkipTooSoon
		}
	}
	if utf8.Valid(rec.Value) {
		p.Value = string(rec.Value)
	} else {
		p.Value = base64.StdEncoding.EncodeToString(rec.Value)
		p.Base64 = true
	}
	b, err := json.Marshal(p)
	if err != nil {
		// Only invalid metadata can fail, and it was checked above.
		return bulkItem{}, SkipInvalidMetadata
	}
	return bulkItem{key: p.Key, json: b}, ""
}

func deleteItem(key string) bulkItem {
	b, _ := json.Marshal(key) // a string always encodes
	return bulkItem{key: key, json: b}
}

func (s *Source) addSkips(namespace string, skips []Skip) {
	if len(skips) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sk := range skips {
		sk.Namespace = namespace
		sk.Key = bytes.Clone(sk.Key)
		s.skipped = append(s.skipped, sk)
	}
}

// dropExisting removes the pairs whose key exists and reports them as
// conflicts.
func dropExisting(puts []bulkItem, idx *keyIndex,
	res *source.WriteResult) []bulkItem {
	kept := puts[:0]
	for _, p := range puts {
		if _, ok := idx.keys[p.key]; ok {
			res.Conflicts = append(res.Conflicts, []byte(p.key))
			continue
		}
		kept = append(kept, p)
	}
	return kept
}

// index returns the existing keys of the namespace, listed once per now.
func (s *Source) index(ctx context.Context, nsID string,
	now time.Time) (*keyIndex, error) {
	s.mu.Lock()
	idx := s.indexes[nsID]
	s.mu.Unlock()
	if idx != nil && idx.now.Equal(now) {
		return idx, nil
	}
	idx = &keyIndex{now: now, keys: map[string]struct{}{}}
	err := walkKeys(ctx, s.api, nsID, func(page []keyInfo) (int, error) {
		fresh := 0
		for _, k := range page {
			if _, ok := idx.keys[k.Name]; !ok {
				idx.keys[k.Name] = struct{}{}
				fresh++
			}
		}
		return fresh, nil
	})
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.indexes[nsID] = idx
	s.mu.Unlock()
	return idx, nil
}

func (s *Source) dropIndex(nsID string) {
	s.mu.Lock()
	delete(s.indexes, nsID)
	s.mu.Unlock()
}

// noteKeys records in the namespace's index, if it has one, that the
// keys of items now exist or, with exist false, no longer do.
func (s *Source) noteKeys(nsID string, items []bulkItem, exist bool) {
	s.mu.Lock()
	idx := s.indexes[nsID]
	s.mu.Unlock()
	if idx == nil {
		return
	}
	for _, it := range items {
		if exist {
			idx.keys[it.key] = struct{}{}
		} else {
			delete(idx.keys, it.key)
		}
	}
}
