package status

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/lifeline-backup/lifeline/internal/status/history"
)

// snapshot is the state of every component at one version, with its
// encoded JSON, so that GET /api/status only writes cached bytes. The
// page is rendered from it on first request.
type snapshot struct {
	version uint64
	report  Report
	json    []byte
	etag    string
	days    map[string][]history.Summary

	pageOnce sync.Once
	page     []byte
	pageETag string
	pageErr  error
}

// Report returns the current state of every component, as served by
// GET /api/status.
func (s *Server) Report() Report {
	return s.snapshot().report
}

// snapshot returns the cached snapshot, rebuilt when a result has been
// recorded since it was built.
func (s *Server) snapshot() *snapshot {
	if snap := s.cache.Load(); snap != nil &&
		snap.version == s.version.Load() {
		return snap
	}
	s.buildMu.Lock()
	defer s.buildMu.Unlock()
	if snap := s.cache.Load(); snap != nil &&
		snap.version == s.version.Load() {
		return snap
	}
	snap := s.build()
	s.cache.Store(snap)
	return snap
}

// build copies the state of every component and encodes it.
func (s *Server) build() *snapshot {
	snap := &snapshot{days: make(map[string][]history.Summary)}
	report := Report{
		GeneratedAt:    s.clock.Now().UTC().Truncate(time.Second),
		RefreshSeconds: int(s.cfg.Refresh / time.Second),
		Components:     make([]ComponentReport, 0, len(s.components)),
	}

	s.mu.Lock()
	snap.version = s.version.Load()
	statuses := make([]Status, 0, len(s.components))
	for _, c := range s.components {
		cr := componentReport(c)
		report.Components = append(report.Components, cr)
		statuses = append(statuses, cr.Status)
		snap.days[c.id] = c.days
	}
	s.mu.Unlock()

	report.Overall = Worst(statuses...)
	snap.report = report
	snap.json, snap.etag = encodeJSON(report)
	return snap
}

// encodeJSON returns v as JSON with a strong ETag of its bytes.
func encodeJSON(v any) ([]byte, string) {
	data, err := json.Marshal(v)
	if err != nil {
		// The report types contain only encodable fields.
		panic(fmt.Sprintf("encode status report: %v", err))
	}
	data = append(data, '\n')
	return data, etagOf(data)
}

func etagOf(data []byte) string {
	sum := sha256.Sum256(data)
	return `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`
}
