package notify

import (
	"net/http"
	"testing"
	"time"
)

func TestSender_Backoff(t *testing.T) {
	s := newSender("webhook", "http://127.0.0.1:9/x", Options{})
	tests := []struct {
		attempt  int
		min, max time.Duration
	}{
		{1, time.Second, time.Second},
		{2, time.Second, 2 * time.Second},
		{3, 2 * time.Second, 4 * time.Second},
		{6, 16 * time.Second, 32 * time.Second},
		{7, 30 * time.Second, 60 * time.Second},
		{40, 30 * time.Second, 60 * time.Second},
	}
	for _, tt := range tests {
		for range 50 {
			d := s.backoff(tt.attempt)
			if d < tt.min || d > tt.max {
				t.Fatalf("backoff(%d) = %v, want between %v and %v",
					tt.attempt, d, tt.min, tt.max)
			}
		}
	}
}

func TestSender_RetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	s := newSender("webhook", "http://127.0.0.1:9/x",
		Options{Now: func() time.Time { return now }})
	date := now.Add(2 * time.Minute).Format(http.TimeFormat)
	past := now.Add(-time.Minute).Format(http.TimeFormat)
	tests := []struct {
		header string
		want   time.Duration
		ok     bool
	}{
		{"", 0, false},
		{"soon", 0, false},
		{"0", 0, true},
		{" 7 ", 7 * time.Second, true},
		{"-3", 0, true},
		{"9223372036854775807", MaxRetryAfter, true},
		{date, 2 * time.Minute, true},
		{past, 0, true},
	}
	for _, tt := range tests {
		h := http.Header{}
		if tt.header != "" {
			h.Set("Retry-After", tt.header)
		}
		got, ok := s.retryAfter(h)
		if got != tt.want || ok != tt.ok {
			t.Errorf("retryAfter(%q) = %v, %v; want %v, %v",
				tt.header, got, ok, tt.want, tt.ok)
		}
	}
}

func TestMessage(t *testing.T) {
	long := make([]byte, 0, 600)
	for len(long) < 600 {
		long = append(long, "é"...)
	}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, ""},
		{"first line", errorString("open: denied\nstack"), "open: denied"},
		{"long", errorString(string(long)), string(long[:500]) + "…"},
	}
	for _, tt := range tests {
		if got := message(tt.err); got != tt.want {
			t.Errorf("%s: message = %q, want %q", tt.name, got, tt.want)
		}
	}
}

type errorString string

func (e errorString) Error() string { return string(e) }
