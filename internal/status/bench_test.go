package status

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"
)

// benchServer returns a Server with 100 HTTP checks, each with one
// recorded result with two conditions. No check runs.
func benchServer(b *testing.B) *Server {
	b.Helper()
	cfg := Config{HistoryPath: filepath.Join(b.TempDir(), "s.db")}
	for i := range 100 {
		cfg.Checks = append(cfg.Checks, CheckConfig{
			ID:         fmt.Sprintf("check-%03d", i),
			Name:       fmt.Sprintf("Check %d", i),
			Group:      fmt.Sprintf("Group %d", i%5),
			URL:        "http://127.0.0.1:1/health",
			Conditions: []string{"[STATUS] == 200", "[RESPONSE_TIME] < 500"},
		})
	}
	s, err := New(cfg, newFakeClock(), nil)
	if err != nil {
		b.Fatalf("new: %v", err)
	}
	b.Cleanup(func() { s.Close() })
	for _, c := range s.components {
		s.record(context.Background(), c, Result{
			At: start, Status: StatusUp, HTTPStatus: 200,
			ResponseTime: 42 * time.Millisecond,
			Conditions: []ConditionResult{
				{"[STATUS] == 200", true, "[STATUS] (200) == 200"},
				{"[RESPONSE_TIME] < 500", true, "[RESPONSE_TIME] (42) < 500"},
			},
		})
	}
	return s
}

// BenchmarkAPIStatus measures GET /api/status with 100 components:
// "cached" serves the encoded report, "rebuilt" rebuilds it on every
// request, as after each new result.
func BenchmarkAPIStatus(b *testing.B) {
	s := benchServer(b)
	handler := s.Handler()
	req := httptest.NewRequest(http.MethodGet, "/api/status", nil)
	b.Run("cached", func(b *testing.B) {
		for b.Loop() {
			rec := httptest.NewRecorder()
			handler.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("status %d", rec.Code)
			}
		}
	})
	b.Run("rebuilt", func(b *testing.B) {
		for b.Loop() {
			s.version.Add(1)
			rec := httptest.NewRecorder()
			handler.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("status %d", rec.Code)
			}
		}
	})
}
