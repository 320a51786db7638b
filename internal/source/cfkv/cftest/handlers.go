package cftest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// apiError is an error response: its status and the envelope's error.
type apiError struct {
	status  int
	code    int
	message string
}

func fail(status, code int, message string) *apiError {
	return &apiError{status: status, code: code, message: message}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Requests++
	if s.injectFault(w) {
		return
	}
	if e := s.authorize(r); e != nil {
		s.stats.AuthFailures++
		writeError(w, e)
		return
	}
	result, info, e := s.route(w, r)
	if e != nil {
		writeError(w, e)
		return
	}
	if result == nil && info == nil {
		return // the handler wrote a raw response
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"success": true, "errors": []any{}, "messages": []any{},
		"result": result, "result_info": info,
	})
}

func (s *Server) injectFault(w http.ResponseWriter) bool {
	switch {
	case s.faults.TooManyRequests > 0:
		s.faults.TooManyRequests--
		s.stats.TooManyRequests++
		w.Header().Set("Retry-After", strconv.Itoa(s.faults.RetryAfter))
		writeError(w, fail(http.StatusTooManyRequests, 10100,
			"More than 1200 requests per 300 seconds reached. "+
				"Please wait and consider throttling your request speed"))
		return true
	case s.faults.ServerErrors > 0:
		s.faults.ServerErrors--
		s.stats.ServerErrors++
		writeError(w, fail(http.StatusInternalServerError, 10001,
			"internal server error"))
		return true
	}
	return false
}

func (s *Server) authorize(r *http.Request) *apiError {
	h := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		return fail(http.StatusBadRequest, 6003, "Invalid request headers")
	}
	if token != s.Token {
		return fail(http.StatusForbidden, 10000, "Authentication error")
	}
	return nil
}

// route dispatches on the escaped path, so that a key's "%2F" stays part
// of the key.
func (s *Server) route(w http.ResponseWriter,
	r *http.Request) (any, any, *apiError) {
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(),
		"/client/v4/accounts/"+url.PathEscape(s.AccountID)+
			"/storage/kv/namespaces")
	if !ok {
		return nil, nil, fail(http.StatusNotFound, 7003,
			"Could not route to "+r.URL.Path+
				", perhaps your object identifier is invalid?")
	}
	if rest == "" {
		if r.Method != http.MethodGet {
			return nil, nil, methodNotAllowed()
		}
		return s.listNamespaces(r.URL.Query())
	}
	id, sub, _ := strings.Cut(strings.TrimPrefix(rest, "/"), "/")
	ns := s.find(id)
	if ns == nil {
		return nil, nil, fail(http.StatusNotFound, 10013,
			"namespace not found")
	}
	return s.routeNamespace(w, r, ns, sub)
}

func (s *Server) routeNamespace(w http.ResponseWriter, r *http.Request,
	ns *namespace, sub string) (any, any, *apiError) {
	op, escKey, _ := strings.Cut(sub, "/")
	switch {
	case op == "keys" && r.Method == http.MethodGet:
		return s.listKeys(ns, r.URL.Query())
	case op == "values" && r.Method == http.MethodGet:
		return nil, nil, s.getValue(w, ns, escKey)
	case op == "metadata" && r.Method == http.MethodGet:
		return s.getMetadata(ns, escKey)
	case sub == "bulk" && r.Method == http.MethodPut:
		return s.bulkWrite(w, r, ns)
	case sub == "bulk" && r.Method == http.MethodDelete,
		sub == "bulk/delete" && r.Method == http.MethodPost:
		return s.bulkDelete(w, r, ns)
	}
	return nil, nil, methodNotAllowed()
}

func methodNotAllowed() *apiError {
	return fail(http.StatusMethodNotAllowed, 10405, "Method not allowed")
}

func (s *Server) listNamespaces(q url.Values) (any, any, *apiError) {
	page, e := intParam(q, "page", 1, 1, 1<<30)
	if e != nil {
		return nil, nil, e
	}
	perPage, e := intParam(q, "per_page", 20, 1, MaxNamespacePage)
	if e != nil {
		return nil, nil, e
	}
	type nsJSON struct {
		ID                  string `json:"id"`
		Title               string `json:"title"`
		SupportsURLEncoding bool   `json:"supports_url_encoding"`
	}
	list := []nsJSON{}
	for i := (page - 1) * perPage; i < min(page*perPage,
		len(s.namespaces)); i++ {
		ns := s.namespaces[i]
		list = append(list, nsJSON{ns.id, ns.title, true})
	}
	total := len(s.namespaces)
	info := map[string]int{"page": page, "per_page": perPage,
		"count": len(list), "total_count": total,
		"total_pages": (total + perPage - 1) / perPage}
	return list, info, nil
}

func intParam(q url.Values, name string, def, lo,
	hi int) (int, *apiError) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, fail(http.StatusBadRequest, 10400,
			"invalid "+name+" "+strconv.Quote(v))
	}
	return n, nil
}

// listKeys serves one page of keys after the cursor's position. The
// cursor is the last key of the previous page, base64url-encoded after a
// "c" so that the start position is not empty.
func (s *Server) listKeys(ns *namespace, q url.Values) (any, any,
	*apiError) {
	limit, e := intParam(q, "limit", MaxKeyPage, MinKeyPage, MaxKeyPage)
	if e != nil {
		return nil, nil, e
	}
	reqCursor := q.Get("cursor")
	after, ok := decodeCursor(reqCursor)
	if !ok {
		return nil, nil, fail(http.StatusBadRequest, 10400, "invalid cursor")
	}
	if s.faults.EmptyPages > 0 {
		s.faults.EmptyPages--
		s.stats.EmptyPages++
		return []any{}, cursorInfo(0, encodeCursor(after)), nil
	}

	page, last, more := s.page(ns, after, q.Get("prefix"), limit)
	next := ""
	if more {
		next = encodeCursor(last)
	}
	if len(page) > 0 && s.faults.RepeatCursors > 0 {
		s.faults.RepeatCursors--
		s.stats.RepeatedCursors++
		next = encodeCursor(after)
	}
	return page, cursorInfo(len(page), next), nil
}

func cursorInfo(count int, cursor string) map[string]any {
	return map[string]any{"count": count, "cursor": cursor}
}

type keyJSON struct {
	Name       string          `json:"name"`
	Expiration int64           `json:"expiration,omitempty"`
	Metadata   json.RawMessage `json:"metadata,omitempty"`
}

// page returns up to limit live keys after the key after, the last key
// it looked at, and whether keys remain.
func (s *Server) page(ns *namespace, after, prefix string,
	limit int) ([]keyJSON, string, bool) {
	keys := ns.keys()
	i := sort.SearchStrings(keys, after)
	if i < len(keys) && keys[i] == after && after != "" {
		i++
	}
	now := s.now().Unix()
	out := []keyJSON{}
	last := after
	for ; i < len(keys) && len(out) < limit; i++ {
		k := keys[i]
		last = k
		e := ns.entries[k]
		if !strings.HasPrefix(k, prefix) || !live(e, now) {
			continue
		}
		out = append(out, keyJSON{k, e.Expiration, e.Metadata})
	}
	return out, last, i < len(keys)
}

func encodeCursor(after string) string {
	return "c" + base64.RawURLEncoding.EncodeToString([]byte(after))
}

func decodeCursor(c string) (string, bool) {
	if c == "" {
		return "", true
	}
	rest, ok := strings.CutPrefix(c, "c")
	if !ok {
		return "", false
	}
	b, err := base64.RawURLEncoding.DecodeString(rest)
	return string(b), err == nil
}

// lookup returns the live entry of an escaped key name.
func (s *Server) lookup(ns *namespace, escKey string) (string, Entry,
	*apiError) {
	key, err := url.PathUnescape(escKey)
	if err != nil || key == "" {
		return "", Entry{}, fail(http.StatusBadRequest, 10400,
			"invalid key name")
	}
	e, ok := ns.entries[key]
	if !ok || !live(e, s.now().Unix()) {
		return "", Entry{}, fail(http.StatusNotFound, 10009,
			"get: 'key not found'")
	}
	return key, e, nil
}

func (s *Server) getValue(w http.ResponseWriter, ns *namespace,
	escKey string) *apiError {
	_, e, ae := s.lookup(ns, escKey)
	if ae != nil {
		return ae
	}
	s.stats.Values++
	if e.Expiration != 0 {
		w.Header().Set("Expiration", strconv.FormatInt(e.Expiration, 10))
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.WriteHeader(http.StatusOK)
	w.Write(e.Value)
	return nil
}

func (s *Server) getMetadata(ns *namespace, escKey string) (any, any,
	*apiError) {
	_, e, ae := s.lookup(ns, escKey)
	if ae != nil {
		return nil, nil, ae
	}
	if e.Metadata == nil {
		return json.RawMessage("null"), map[string]any{}, nil
	}
	return e.Metadata, map[string]any{}, nil
}

// readBody reads a request body of at most MaxBulkBytes.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, *apiError) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBulkBytes))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, fail(http.StatusRequestEntityTooLarge, 10011,
			"request body larger than 100 MB")
	}
	if err != nil {
		return nil, fail(http.StatusBadRequest, 10400, "unreadable body")
	}
	return body, nil
}

func writeError(w http.ResponseWriter, e *apiError) {
	writeJSON(w, e.status, map[string]any{
		"success":  false,
		"errors":   []any{map[string]any{"code": e.code, "message": e.message}},
		"messages": []any{},
		"result":   nil,
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}
