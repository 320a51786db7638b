// Command snapshot-server is a reference server for lifeline's HTTP
// snapshot protocol. It keeps records in memory, so they last only as
// long as the process, and serves GET /snapshot and POST /restore.
//
// Usage:
//
//	SNAPSHOT_TOKEN=secret snapshot-server -listen 127.0.0.1:8080
//
// The bearer token comes from the SNAPSHOT_TOKEN environment variable,
// never from a flag, so it does not show in process listings.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/lifeline-backup/lifeline/examples/snapshot-server/snapserver"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "snapshot-server:", err)
		os.Exit(1)
	}
}

func run() error {
	listen := flag.String("listen", "127.0.0.1:8080",
		"address (host:port) to listen on")
	namespace := flag.String("namespace", "default",
		"namespace name sent in snapshot headers")
	flag.Parse()
	token := os.Getenv("SNAPSHOT_TOKEN")
	if token == "" {
		return errors.New("missing token: set SNAPSHOT_TOKEN")
	}

	srv := &http.Server{
		Addr:              *listen,
		Handler:           snapserver.New(*namespace, token),
		ReadHeaderTimeout: 10 * time.Second,
	}
	ctx, stop := signal.NotifyContext(context.Background(),
		os.Interrupt, syscall.SIGTERM)
	defer stop()
	errs := make(chan error, 1)
	go func() { errs <- srv.ListenAndServe() }()
	slog.Info("serving", "listen", *listen, "namespace", *namespace)

	select {
	case err := <-errs:
		return err
	case <-ctx.Done():
	}
	slog.Info("stopping", "listen", *listen)
	shutdown, cancel := context.WithTimeout(context.Background(),
		10*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}
