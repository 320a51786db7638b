package snapserver

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
)

// snapshot streams every live record, one line each, then the trailer.
func (s *Server) snapshot(w http.ResponseWriter, _ *http.Request) {
	keys, live, fault := s.copyLive()
	count := len(keys)
	head, _ := json.Marshal(header{Version: 1, Namespace: s.namespace,
		Records: &count})
	w.Header().Set("Content-Type", ndjson)
	w.WriteHeader(http.StatusOK)
	w.Write(append(head, '\n'))

	sum := sha256.New()
	for i, k := range keys {
		if fault.Cut && i == fault.CutAfter {
			cutConnection(w)
			return
		}
		line, err := encodeRecord([]byte(k), live[k])
		if err != nil {
			// The status line is sent, so the missing trailer is
			// what tells the client.
			return
		}
		sum.Write(line)
		w.Write(line)
	}
	if fault.Cut && fault.CutAfter >= len(keys) {
		cutConnection(w)
		return
	}
	if fault.DropTrailer {
		return
	}
	t := trailer{End: true, Records: count,
		SHA256: hex.EncodeToString(sum.Sum(nil))}
	if fault.WrongHash {
		t.SHA256 = sha256Hex([]byte("not the record lines"))
	}
	tail, _ := json.Marshal(t)
	w.Write(append(tail, '\n'))
}

// cutConnection sends what is buffered and closes the connection without
// ending the response.
func cutConnection(w http.ResponseWriter) {
	rc := http.NewResponseController(w)
	rc.Flush()
	conn, _, err := rc.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	conn.Close()
}

func encodeRecord(key []byte, rec Record) ([]byte, error) {
	wr := wireRecord{Key: &key, Value: rec.Value, Metadata: rec.Metadata}
	if !rec.ExpiresAt.IsZero() {
		at := rec.ExpiresAt.UTC()
		wr.ExpiresAt = &at
	}
	line, err := json.Marshal(wr)
	return append(line, '\n'), err
}

// restoreResult is the body of a successful restore response.
type restoreResult struct {
	Written   int      `json:"written"`
	Conflicts [][]byte `json:"conflicts"`
	Deleted   int      `json:"deleted"`
	Expired   int      `json:"expired"`
}

// restore checks the whole body, then applies its records under the lock
// in one step.
func (s *Server) restore(w http.ResponseWriter, r *http.Request) {
	media, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || media != ndjson {
		writeError(w, http.StatusUnsupportedMediaType,
			"restore body must be "+ndjson)
		return
	}

	mode := r.URL.Query().Get("mode")
	if mode != "keep" && mode != "replace" {
		writeError(w, http.StatusBadRequest,
			"query parameter mode must be keep or replace, not "+
				strconv.Quote(mode))
		return
	}

	limit := s.MaxBody
	if limit <= 0 {
		limit = DefaultMaxBody
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		writeError(w, http.StatusRequestEntityTooLarge,
			fmt.Sprintf("restore body is over %d bytes", limit))
		return
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "read body: "+err.Error())
		return
	}

	records, err := parseStream(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, s.apply(records, mode == "replace"))
}

// parseStream checks the header, the trailer's count and hash, and
// decodes the record lines.
func parseStream(body []byte) ([]wireRecord, error) {
	if len(body) == 0 || body[len(body)-1] != '\n' {
		return nil, errors.New("body cut short: it does not end with " +
			"a line feed")
	}
	lines := bytes.SplitAfter(body, []byte("\n"))
	lines = lines[:len(lines)-1] // the empty string after the last \n
	if len(lines) < 2 {
		return nil, errors.New("body cut short: it needs a header " +
			"and a trailer line")
	}

	var h header
	if err := json.Unmarshal(lines[0], &h); err != nil || h.Version != 1 {
		return nil, errors.New("first line is not a version 1 header")
	}
	var t trailer
	last := lines[len(lines)-1]
	if err := json.Unmarshal(last, &t); err != nil || !t.End {
		return nil, errors.New("body cut short: the last line is not " +
			"a trailer")
	}

	middle := lines[1 : len(lines)-1]
	recordBytes := body[len(lines[0]) : len(body)-len(last)]
	if t.Records != len(middle) ||
		(h.Records != nil && *h.Records != len(middle)) {
		return nil, fmt.Errorf("body cut short: %d record lines, "+
			"trailer counts %d", len(middle), t.Records)
	}
	if sha256Hex(recordBytes) != t.SHA256 {
		return nil, errors.New("body cut short: SHA-256 of the record " +
			"lines does not match the trailer")
	}

	records := make([]wireRecord, len(middle))
	for i, line := range middle {
		if err := json.Unmarshal(line, &records[i]); err != nil {
			return nil, fmt.Errorf("line %d is not valid JSON: %v",
				i+2, err)
		}
		if records[i].Key == nil {
			return nil, fmt.Errorf("line %d has no key", i+2)
		}
	}
	return records, nil
}

// apply stores the records of one restore request under the lock.
func (s *Server) apply(records []wireRecord, replace bool) restoreResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	res := restoreResult{Conflicts: [][]byte{}}
	for _, wr := range records {
		key := string(*wr.Key)
		old, ok := s.records[key]
		exists := ok && (old.ExpiresAt.IsZero() || old.ExpiresAt.After(now))
		switch {
		case wr.Deleted:
			if replace && exists {
				delete(s.records, key)
				res.Deleted++
			}
		case wr.ExpiresAt != nil && !wr.ExpiresAt.After(now):
			res.Expired++
		case exists && !replace:
			res.Conflicts = append(res.Conflicts, *wr.Key)
		default:
			rec := Record{Value: wr.Value, Metadata: wr.Metadata}
			if wr.ExpiresAt != nil {
				rec.ExpiresAt = *wr.ExpiresAt
			}
			s.records[key] = rec
			res.Written++
		}
	}
	return res
}
