package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/lifeline-backup/lifeline/bench/internal/benchenv"
)

// harness is the state the cases share: the working directory, the
// lifeline binary and its config, and the servers started so far.
type harness struct {
	root string
	dir  string
	keys int

	lifeline string
	key      string
	config   string
	repoDir  string
	// rdbPath is the RDB file that the peer of the backup wrote and
	// the peer of the restore loads.
	rdbPath string

	source  *server
	target  *server
	servers []*server

	// full is lifeline's full backup, the peer of the incrementals.
	full measurement
	// serveRecords is how many records serve's incremental stored.
	serveRecords float64
	// cities are the places the source was loaded from.
	cities []city
}

func newHarness(keys int) (*harness, error) {
	root, err := benchenv.ModuleRoot()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "lifeline-bench-")
	if err != nil {
		return nil, fmt.Errorf("create working directory: %w", err)
	}
	h := &harness{root: root, dir: dir, keys: keys,
		config:  filepath.Join(dir, "lifeline.yaml"),
		repoDir: filepath.Join(dir, "repo"),
		rdbPath: filepath.Join(dir, "peer", "dump.rdb"),
	}
	for _, sub := range []string{"logs", "peer"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, fmt.Errorf("create working directory: %w", err)
		}
	}
	return h, nil
}

// close stops every server and removes the working directory unless
// keep is set.
func (h *harness) close(keep bool) {
	for _, s := range h.servers {
		s.stop()
	}
	if keep {
		benchenv.Progress("kept working directory %s", h.dir)
		return
	}
	os.RemoveAll(h.dir)
}

// startServer starts a server in a subdirectory named after it, waits
// until it is ready and registers it for close.
func (h *harness) startServer(ctx context.Context, name string,
	extra ...string) (*server, error) {
	s, err := startServer(name, filepath.Join(h.dir, name), extra...)
	if err != nil {
		return nil, err
	}
	h.servers = append(h.servers, s)
	if _, err := s.waitReady(ctx, time.Minute); err != nil {
		return nil, err
	}
	return s, nil
}

// setup starts and loads the source server, builds lifeline and
// creates the repository.
func (h *harness) setup(ctx context.Context) error {
	benchenv.Progress("building lifeline")
	bin, err := benchenv.BuildLifeline(ctx, h.root, h.dir)
	if err != nil {
		return err
	}
	h.lifeline = bin
	if h.key, err = benchenv.GenerateKey(ctx, bin); err != nil {
		return err
	}
	if h.source, err = h.startServer(ctx, "source"); err != nil {
		return err
	}
	if err := h.loadSource(ctx); err != nil {
		return err
	}
	if err := writeConfig(h.config, h.repoDir, h.source); err != nil {
		return err
	}
	if _, err := h.runLifeline(ctx, h.source, "init"); err != nil {
		return err
	}
	return nil
}

func (h *harness) loadSource(ctx context.Context) error {
	path := filepath.Join(h.root, "..", "shared", "data", "cities",
		"cities.json.gz")
	cities, err := readCities(path)
	if err != nil {
		benchenv.Progress("using random cities: %v", err)
		cities = randomCities(100_000)
	}
	benchenv.Progress("loading %d keys", h.keys)
	began := time.Now()
	h.cities = cities
	if err := loadKeys(ctx, h.source.client, h.keys, cities); err != nil {
		return err
	}
	n, err := h.source.dbSize(ctx)
	if err != nil {
		return err
	}
	if n != int64(h.keys) {
		return fmt.Errorf("load keys: source has %d keys, expected %d",
			n, h.keys)
	}
	benchenv.Progress("loaded %d keys in %.1fs", n, time.Since(began).Seconds())
	return nil
}

// fillSizes adds the sizes of the RDB file and the repository.
func (h *harness) fillSizes(rep *report) error {
	st, err := os.Stat(h.rdbPath)
	if err != nil {
		return fmt.Errorf("size of the RDB file: %w", err)
	}
	rep.RDBBytes = st.Size()
	err = filepath.WalkDir(h.repoDir, func(_ string, d os.DirEntry,
		err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err == nil {
			rep.RepositoryBytes += info.Size()
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("size of the repository: %w", err)
	}
	return nil
}
