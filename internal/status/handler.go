package status

import (
	"net/http"
	"strconv"
	"strings"
)

// cacheControl lets browsers and proxies reuse a response for a short
// time, shorter than any sensible check interval.
const cacheControl = "public, max-age=10"

// Handler returns the routes of the status page:
//
//	GET /                          the page
//	GET /api/status                the Report as JSON
//	GET /api/status/{id}/history   daily uptime, ?days=1..90
//	GET /badge/{id}.svg            an SVG badge of the state
//
// The page uses relative URLs, so the handler can be mounted under a
// prefix with http.StripPrefix. Its script fetches /api/status every
// Config.Refresh and updates states, codes, times and uptime in place.
// NOTE: the daily bars are not in /api/status, so they change only when
// the page is reloaded.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.servePage)
	mux.HandleFunc("GET /api/status", s.serveStatus)
	mux.HandleFunc("GET /api/status/{id}/history", s.serveHistory)
	mux.HandleFunc("GET /badge/{file}", s.serveBadge)
	return mux
}

func (s *Server) serveStatus(w http.ResponseWriter, r *http.Request) {
	snap := s.snapshot()
	writeCached(w, r, "application/json", snap.json, snap.etag)
}

func (s *Server) servePage(w http.ResponseWriter, r *http.Request) {
	snap := s.snapshot()
	page, etag, err := s.page(snap)
	if err != nil {
		s.log.Error("serve status page", "error", err)
		http.Error(w, "render status page failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Security-Policy", pageCSP)
	writeCached(w, r, "text/html; charset=utf-8", page, etag)
}

// pageCSP allows only the page's inline style and script and requests
// to its own origin.
const pageCSP = "default-src 'none'; style-src 'unsafe-inline'; " +
	"script-src 'unsafe-inline'; connect-src 'self'; img-src 'self'"

func (s *Server) serveHistory(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	days := historyDays
	if v := r.URL.Query().Get("days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > historyDays {
			http.Error(w, "invalid days, want 1 to 90", http.StatusBadRequest)
			return
		}
		days = n
	}
	snap := s.snapshot()
	summaries, ok := snap.days[id]
	if !ok {
		http.Error(w, "component not found", http.StatusNotFound)
		return
	}
	data, etag := encodeJSON(historyReport(id, summaries, days))
	writeCached(w, r, "application/json", data, etag)
}

func (s *Server) serveBadge(w http.ResponseWriter, r *http.Request) {
	id, ok := strings.CutSuffix(r.PathValue("file"), ".svg")
	if !ok {
		http.NotFound(w, r)
		return
	}
	snap := s.snapshot()
	for _, c := range snap.report.Components {
		if c.ID == id {
			svg := badge(c.Name, c.Status)
			writeCached(w, r, "image/svg+xml", svg, etagOf(svg))
			return
		}
	}
	http.Error(w, "component not found", http.StatusNotFound)
}

// writeCached writes body with its ETag and cache headers, or 304 Not
// Modified when the request's If-None-Match contains the ETag.
func writeCached(
	w http.ResponseWriter, r *http.Request,
	contentType string, body []byte, etag string,
) {
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Cache-Control", cacheControl)
	h.Set("X-Content-Type-Options", "nosniff")
	if etagMatches(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
}

// etagMatches applies the weak comparison of RFC 9110 section 13.1.2
// to an If-None-Match list.
func etagMatches(header, etag string) bool {
	for tag := range strings.SplitSeq(header, ",") {
		tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
		if tag == "*" || tag == etag {
			return true
		}
	}
	return false
}
