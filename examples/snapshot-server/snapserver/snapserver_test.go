package snapserver_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/lifeline-backup/lifeline/examples/snapshot-server/snapserver"
)

func post(t *testing.T, url, token, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url,
		strings.NewReader(body))
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("post %s: %v", url, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// A restore body without its trailer is rejected whole.
func TestRestore_CutShortBody(t *testing.T) {
	srv := snapserver.New("ns", "token")
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	body := `{"lifeline_snapshot":1,"namespace":"ns","records":2}` + "\n" +
		`{"key":"YQ==","value":"MQ==","metadata":null,"expires_at":null}` +
		"\n"

	resp := post(t, hs.URL+"/restore?mode=replace", "token", body)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status = %d, want 400", resp.StatusCode)
	}
	if srv.Len() != 0 {
		t.Errorf("server stored %d keys from a cut-short body", srv.Len())
	}
}

func TestRestore_WrongToken(t *testing.T) {
	srv := snapserver.New("ns", "token")
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	resp := post(t, hs.URL+"/restore?mode=keep", "other", "")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("status = %d, want 401", resp.StatusCode)
	}
}

func TestRestore_InvalidMode(t *testing.T) {
	srv := snapserver.New("ns", "token")
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	resp := post(t, hs.URL+"/restore?mode=merge", "token", "")
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status = %d, want 400", resp.StatusCode)
	}
}
