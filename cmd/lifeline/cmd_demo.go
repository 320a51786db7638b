package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/lifeline-backup/lifeline/internal/backup"
	"github.com/lifeline-backup/lifeline/internal/config"
	"github.com/lifeline-backup/lifeline/internal/repo"
	"github.com/lifeline-backup/lifeline/internal/restore"
	"github.com/lifeline-backup/lifeline/internal/seal"
	"github.com/lifeline-backup/lifeline/internal/source"
)

type demoOpts struct {
	dir     string
	records int
}

func init() {
	register(&command{
		name:    "demo",
		summary: "back up and restore a sample bbolt store, step by step",
		usage:   "lifeline demo [--dir DIR] [--records N]",
		help: `Runs the main job on the embedded default, with nothing to install:
it creates a bbolt store of realistic records (sessions that expire,
signing keys, audit-log entries, configuration), writes a config and a
key file, creates a local repository, backs the store up, changes some
records, restores the backup into a new file, compares it with the
original, and checks the repository. Every step prints its counts and
time. It uses the same code as init, backup, restore and check.

All files go to DIR, which must not exist yet or be empty; the key
file in it is the demo's only copy of the key.

Examples:
  lifeline demo
  lifeline demo --dir /tmp/lifeline-demo --records 20000`,
		flags: func(fs *flag.FlagSet, env *cmdEnv) {
			o := &demoOpts{}
			env.opts = o
			fs.StringVar(&o.dir, "dir", "lifeline-demo",
				"`folder` for the demo's store, repository, key and config")
			fs.IntVar(&o.records, "records", 5000,
				"how many records the sample store holds (`N`, at least 100)")
		},
		run: runDemo,
	})
}

func runDemo(ctx context.Context, env *cmdEnv, args []string) error {
	o := env.opts.(*demoOpts)
	if len(args) > 0 {
		return usagef("demo takes no arguments, got %q", args)
	}
	if o.records < 100 {
		return usagef("--records %d is too small: give at least 100",
			o.records)
	}
	if env.logFormat == "auto" {
		env.logFormat = "text"
	}
	log, err := env.newLogger()
	if err != nil {
		return err
	}
	d, err := newDemo(o.dir)
	if err != nil {
		return err
	}
	step := func(n int, what string) func() {
		fmt.Fprintf(env.stdout, "\n== step %d: %s\n", n, what)
		began := time.Now()
		return func() {
			fmt.Fprintf(env.stdout, "   (%d ms)\n",
				time.Since(began).Milliseconds())
		}
	}

	done := step(1, "create a sample bbolt store at "+d.storePath)
	counts, err := writeSampleStore(d.storePath, o.records, time.Now())
	if err != nil {
		return err
	}
	for _, b := range sampleBuckets {
		fmt.Fprintf(env.stdout, "   bucket %-13s %6d records\n", b, counts[b])
	}
	fmt.Fprintf(env.stdout, "   (the backup also counts one record per "+
		"bucket and nested bucket)\n")
	done()

	done = step(2, "write a key and a config, and create the repository")
	c, r, err := d.setUp(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "   config %s\n   key file %s (mode 0600)\n"+
		"   repository %s\n", c.Path, d.keyPath, r.Store())
	done()

	done = step(3, "back up the store (tier full)")
	app, _ := c.Source("app")
	src, err := openSource(app)
	if err != nil {
		return err
	}
	defer src.Close()
	_, err = doBackup(ctx, log, r, []backup.Source{{Name: "app",
		Type: "bolt", Src: src}}, repo.Full, compression(c), nil)
	if err != nil {
		return err
	}
	done()

	done = step(4, "change the live store after the backup")
	changed, err := changeSampleStore(d.storePath)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "   %d records changed or deleted\n", changed)
	done()

	done = step(5, "restore the backup into a new file "+d.restoredPath)
	snap, err := d.restoreLatest(ctx, log, c, r)
	if err != nil {
		return err
	}
	done()

	done = step(6, "compare the restored file with the backup")
	if err := compareWithBackup(ctx, r, snap, d.restoredPath); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "   every namespace matches the backup's "+
		"record count and content hash\n")
	done()

	done = step(7, "check the repository, reading every record")
	if err := doCheck(ctx, log, r, 100); err != nil {
		return err
	}
	done()

	fmt.Fprintf(env.stdout, "\nDemo finished. Try:\n"+
		"  export LIFELINE_CONFIG=%s\n  go run ./cmd/lifeline snapshots\n",
		c.Path)
	return nil
}

// demo holds the paths of one demo run.
type demo struct {
	dir, storePath, restoredPath, keyPath, configPath, repoPath string
}

func newDemo(dir string) (*demo, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if entries, err := os.ReadDir(abs); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("demo folder %s is not empty: remove it "+
			"or pass --dir with a new folder", abs)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("create demo folder: %w", err)
	}
	return &demo{
		dir:          abs,
		storePath:    filepath.Join(abs, "app.db"),
		restoredPath: filepath.Join(abs, "restored.db"),
		keyPath:      filepath.Join(abs, "demo.key"),
		configPath:   filepath.Join(abs, "lifeline.yaml"),
		repoPath:     filepath.Join(abs, "repo"),
	}, nil
}

// setUp writes the key file and config, then creates the repository.
func (d *demo) setUp(ctx context.Context) (*config.Config, *repo.Repo,
	error) {
	key, err := seal.GenerateKey()
	if err != nil {
		return nil, nil, err
	}
	if err := os.WriteFile(d.keyPath, []byte(key+"\n"), 0o600); err != nil {
		return nil, nil, fmt.Errorf("write demo key: %w", err)
	}
	text := fmt.Sprintf(`# Written by 'lifeline demo'.
repository:
  url: file://%s
keys:
  - id: demo
    file: %s
sources:
  - name: app
    type: bolt
    path: %s
  - name: app-restored
    type: bolt
    path: %s
`, d.repoPath, d.keyPath, d.storePath, d.restoredPath)
	if err := os.WriteFile(d.configPath, []byte(text), 0o600); err != nil {
		return nil, nil, fmt.Errorf("write demo config: %w", err)
	}
	c, err := config.Load(d.configPath)
	if err != nil {
		return nil, nil, err
	}
	keys, err := loadKeyring(c)
	if err != nil {
		return nil, nil, err
	}
	store, err := openStore(ctx, c.Repository)
	if err != nil {
		return nil, nil, err
	}
	r, err := repo.Init(ctx, store, keys, time.Now())
	return c, r, err
}

func (d *demo) restoreLatest(ctx context.Context, log *slog.Logger,
	c *config.Config, r *repo.Repo) (*repo.Snapshot, error) {
	chains, err := restore.Chains(ctx, r,
		restore.Selection{Snapshot: "latest"})
	if err != nil {
		return nil, err
	}
	p := restorePlan{cfg: c, to: "app-restored",
		opened: map[string]source.Source{}}
	defer p.close()
	items, err := p.items(ctx, chains)
	if err != nil {
		return nil, err
	}
	_, err = doRestore(ctx, log, r, items, source.KeepExisting, false, nil)
	return chains[0][0].Snapshot, err
}

// compareWithBackup reads the restored file back and compares each
// namespace's count and content hash with the backup's manifest.
func compareWithBackup(ctx context.Context, r *repo.Repo, s *repo.Snapshot,
	path string) error {
	restored, err := openSource(&config.Source{Name: "restored",
		Type: "bolt", Path: path})
	if err != nil {
		return err
	}
	defer restored.Close()
	for _, e := range s.Entries {
		got, err := restore.Summarize(ctx, restored, e.Namespace)
		if err != nil {
			return err
		}
		if got.Records != e.Records || got.Hash != e.Hash {
			return fmt.Errorf("restored namespace %s differs from the "+
				"backup: %d records, hash %s; the backup has %d, %s",
				e.Namespace, got.Records, got.Hash, e.Records, e.Hash)
		}
	}
	return nil
}
