package cfkv

import (
	"context"
	"fmt"
)

// sendBulk sends items in chunks of at most maxBulkPairs items and
// maxBulkBytes of body, and returns how many items the server applied.
// Keys that a response lists as unsuccessful are sent again, because
// Cloudflare's reference states that they should be retried.
func (s *Source) sendBulk(ctx context.Context, items []bulkItem,
	send func(chunk []bulkItem) (bulkResult, error)) (int64, error) {
	var done int64
	for len(items) > 0 {
		n := chunkLen(items)
		applied, err := s.sendChunk(ctx, items[:n], send)
		done += applied
		if err != nil {
			return done, err
		}
		items = items[n:]
	}
	return done, nil
}

// chunkLen returns how many leading items fit in one request: the body
// is "[" plus the elements joined by "," plus "]".
func chunkLen(items []bulkItem) int {
	size := 2
	for i, it := range items {
		size += len(it.json) + 1
		if i == maxBulkPairs || (size > maxBulkBytes && i > 0) {
			return i
		}
	}
	return len(items)
}

// sendChunk sends one chunk and retries its unsuccessful keys, up to
// maxAttempts requests in all.
func (s *Source) sendChunk(ctx context.Context, chunk []bulkItem,
	send func(chunk []bulkItem) (bulkResult, error)) (int64, error) {
	var done int64
	for attempt := 1; ; attempt++ {
		res, err := send(chunk)
		if err != nil {
			return done, err
		}
		failed := unsuccessful(chunk, res.UnsuccessfulKeys)
		done += int64(len(chunk) - len(failed))
		if len(failed) == 0 {
			return done, nil
		}
		if attempt == maxAttempts {
			return done, fmt.Errorf("%d keys still unsuccessful after "+
				"%d attempts, the first %q", len(failed), attempt,
				failed[0].key)
		}
		if err := s.api.sleep(ctx, backoff(attempt)); err != nil {
			return done, err
		}
		chunk = failed
	}
}

// unsuccessful returns the items of chunk whose keys are in keys.
func unsuccessful(chunk []bulkItem, keys []string) []bulkItem {
	if len(keys) == 0 {
		return nil
	}
	set := make(map[string]struct{}, len(keys))
	for _, k := range keys {
		set[k] = struct{}{}
	}
	var failed []bulkItem
	for _, it := range chunk {
		if _, ok := set[it.key]; ok {
			failed = append(failed, it)
		}
	}
	return failed
}

// joinJSON returns the JSON array of the items' elements.
func joinJSON(items []bulkItem) []byte {
	size := 2
	for _, it := range items {
		size += len(it.json) + 1
	}
	b := make([]byte, 0, size)
	b = append(b, '[')
	for i, it := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, it.json...)
	}
	return append(b, ']')
}

func itemKeys(items []bulkItem) []string {
	keys := make([]string, len(items))
	for i, it := range items {
		keys[i] = it.key
	}
	return keys
}
