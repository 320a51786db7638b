package main

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
)

// endpoints is the HTTP server that the checks request: /check/0 to
// /check/N-1 each return 200 and a short JSON body.
type endpoints struct {
	*httptest.Server
	count atomic.Int64
}

func startEndpoints() *endpoints {
	e := &endpoints{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /check/{n}", func(w http.ResponseWriter,
		_ *http.Request) {
		e.count.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"status":"UP"}`))
	})
	e.Server = httptest.NewServer(mux)
	return e
}

// requests returns the number of requests served so far.
func (e *endpoints) requests() int64 { return e.count.Load() }
