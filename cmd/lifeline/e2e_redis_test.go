package main

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/lifeline-backup/lifeline/internal/blob/s3/s3test"
	"github.com/lifeline-backup/lifeline/internal/source/redis/redistest"
)

// rdbFiles returns the shared RDB test files and fails the test when
// there are none.
func rdbFiles(t *testing.T) []string {
	t.Helper()
	dir := sharedData(t, "redis-rdb")
	files, err := filepath.Glob(filepath.Join(dir, "*.rdb"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no RDB files in %s", dir)
	}
	return files
}

// roundTripRDB loads file into a server, backs it up through the
// repository section repository, restores it into an empty server and
// compares the DEBUG DIGEST of both servers.
func roundTripRDB(t *testing.T, e *e2e, repository, file string) {
	t.Helper()
	from := redistest.StartWithRDB(t, file)
	to := redistest.Start(t)
	keys, err := from.Client(t).DBSize(context.Background()).Result()
	if err != nil {
		t.Fatalf("DBSIZE: %v", err)
	}
	if keys == 0 {
		t.Fatalf("server loaded no keys from %s", file)
	}
	e.writeConfig(repository,
		redisSource("cache", from.URL(0)),
		redisSource("copy", to.URL(0)))

	e.mustRun("init")
	e.mustRun("backup", "--tier", "full", "--source", "cache")
	e.mustRun("restore", "--snapshot", "latest", "--to", "copy")

	got, want := redistest.Digest(t, to), redistest.Digest(t, from)
	if got != want {
		t.Errorf("restored DEBUG DIGEST = %s, want %s", got, want)
	}
}

func TestE2E_RDBRoundTripLocal(t *testing.T) {
	for _, file := range rdbFiles(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			e := newE2E(t)
			_, url := e.localRepo()
			roundTripRDB(t, e, fileRepository(url), file)
		})
	}
}

func TestE2E_RDBRoundTripS3(t *testing.T) {
	cfg := s3test.Start(t)
	for _, file := range rdbFiles(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			e := newE2E(t)
			e.setS3Credentials(cfg.AccessKeyID, cfg.SecretAccessKey)
			// Each file gets its own prefix, so init finds it empty.
			repository := s3Repository(cfg, filepath.Base(file))
			roundTripRDB(t, e, repository, file)
		})
	}
}
