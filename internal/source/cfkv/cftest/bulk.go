package cftest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
)

// pairJSON is one pair of a bulk write body.
type pairJSON struct {
	Key           *string         `json:"key"`
	Value         *string         `json:"value"`
	Base64        bool            `json:"base64"`
	Expiration    int64           `json:"expiration"`
	ExpirationTTL int64           `json:"expiration_ttl"`
	Metadata      json.RawMessage `json:"metadata"`
}

// bulkWrite stores every pair of the body, or none when one breaks a
// limit.
func (s *Server) bulkWrite(w http.ResponseWriter, r *http.Request,
	ns *namespace) (any, any, *apiError) {
	body, e := readBody(w, r)
	if e != nil {
		return nil, nil, e
	}
	var pairs []pairJSON
	if err := json.Unmarshal(body, &pairs); err != nil {
		return nil, nil, fail(http.StatusBadRequest, 10400,
			"request body is not an array of key-value pairs")
	}
	if len(pairs) > MaxBulkPairs {
		return nil, nil, fail(http.StatusBadRequest, 10400,
			"more than 10,000 key-value pairs in one request")
	}
	entries := make([]Entry, len(pairs))
	for i, p := range pairs {
		entry, e := s.checkPair(p)
		if e != nil {
			return nil, nil, e
		}
		entries[i] = entry
	}
	s.stats.BulkWrites++

	failedN := min(s.faults.Unsuccessful, len(pairs))
	s.faults.Unsuccessful = 0
	s.stats.Unsuccessful += failedN
	failed := []string{}
	for i, p := range pairs {
		if i < failedN {
			failed = append(failed, *p.Key)
			continue
		}
		ns.put(*p.Key, entries[i])
	}
	return bulkResult(len(pairs)-failedN, failed), map[string]any{}, nil
}

func bulkResult(ok int, failed []string) map[string]any {
	return map[string]any{"successful_key_count": ok,
		"unsuccessful_keys": failed}
}

// checkPair validates one pair against the documented limits and
// returns the entry to store.
func (s *Server) checkPair(p pairJSON) (Entry, *apiError) {
	if p.Key == nil || p.Value == nil {
		return Entry{}, fail(http.StatusBadRequest, 10400,
			"each pair needs a key and a value")
	}
	if e := checkKey(*p.Key); e != nil {
		return Entry{}, e
	}
	value := []byte(*p.Value)
	if p.Base64 {
		var err error
		value, err = base64.StdEncoding.DecodeString(*p.Value)
		if err != nil {
			return Entry{}, fail(http.StatusBadRequest, 10400,
				"value of "+strconv.Quote(*p.Key)+" is not base64")
		}
	}
	if len(value) > MaxValueBytes {
		return Entry{}, fail(http.StatusRequestEntityTooLarge, 10400,
			"value of "+strconv.Quote(*p.Key)+" is larger than 25 MiB")
	}
	meta, e := checkMetadata(p)
	if e != nil {
		return Entry{}, e
	}
	exp, e := s.expiration(p)
	if e != nil {
		return Entry{}, e
	}
	return Entry{Value: value, Metadata: meta, Expiration: exp}, nil
}

func checkKey(key string) *apiError {
	switch {
	case key == "", key == ".", key == "..":
		return fail(http.StatusBadRequest, 10400,
			"invalid key name "+strconv.Quote(key))
	case len(key) > MaxKeyBytes:
		return fail(http.StatusRequestURITooLong, 10400,
			"key name longer than 512 bytes")
	}
	return nil
}

func checkMetadata(p pairJSON) (json.RawMessage, *apiError) {
	if len(p.Metadata) == 0 || string(p.Metadata) == "null" {
		return nil, nil
	}
	var b bytes.Buffer
	if err := json.Compact(&b, p.Metadata); err != nil {
		return nil, fail(http.StatusBadRequest, 10400, "invalid metadata")
	}
	if b.Len() > MaxMetadataBytes {
		return nil, fail(http.StatusRequestEntityTooLarge, 10400,
			"metadata of "+strconv.Quote(*p.Key)+
				" is longer than 1024 bytes")
	}
	return json.RawMessage(b.Bytes()), nil
}

// expiration returns the absolute expiration of p. expiration_ttl wins
// over expiration when both are set, as the API reference states.
func (s *Server) expiration(p pairJSON) (int64, *apiError) {
	now := s.now().Unix()
	switch {
	case p.ExpirationTTL != 0:
		if p.ExpirationTTL < MinExpiry {
			return 0, fail(http.StatusBadRequest, 10400,
				"Invalid expiration_ttl of "+
					strconv.FormatInt(p.ExpirationTTL, 10)+
					". Expiration TTL must be at least 60.")
		}
		return now + p.ExpirationTTL, nil
	case p.Expiration != 0:
		if p.Expiration < now+MinExpiry {
			return 0, fail(http.StatusBadRequest, 10400,
				"Invalid expiration of "+
					strconv.FormatInt(p.Expiration, 10)+
					". Expiration times must be at least 60 seconds "+
					"in the future.")
		}
		return p.Expiration, nil
	}
	return 0, nil
}

// bulkDelete removes the keys of a JSON array body.
func (s *Server) bulkDelete(w http.ResponseWriter, r *http.Request,
	ns *namespace) (any, any, *apiError) {
	body, e := readBody(w, r)
	if e != nil {
		return nil, nil, e
	}
	var keys []string
	if err := json.Unmarshal(body, &keys); err != nil {
		return nil, nil, fail(http.StatusBadRequest, 10400,
			"request body is not an array of keys")
	}
	if len(keys) > MaxBulkPairs {
		return nil, nil, fail(http.StatusBadRequest, 10400,
			"more than 10,000 keys in one request")
	}
	for _, k := range keys {
		ns.remove(k)
	}
	return bulkResult(len(keys), []string{}), map[string]any{}, nil
}
