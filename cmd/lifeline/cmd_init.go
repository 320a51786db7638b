package main

import (
	"context"
	"fmt"
	"time"

	"github.com/lifeline-backup/lifeline/internal/repo"
)

func init() {
	register(&command{
		name:    "init",
		summary: "create the repository named in the config",
		usage:   "lifeline init [--config FILE]",
		help: `Creates an empty repository at the configured URL and writes a key
check for every configured key. It refuses a location that already holds
a repository or any other object, and then changes nothing.

Examples:
  export LIFELINE_KEY_K2026=$(lifeline keys generate)
  lifeline init --config lifeline.yaml`,
		run: runInit,
	})
}

func runInit(ctx context.Context, env *cmdEnv, args []string) error {
	if len(args) > 0 {
		return usagef("init takes no arguments, got %q", args)
	}
	c, err := env.loadConfig()
	if err != nil {
		return err
	}
	keys, err := loadKeyring(c)
	if err != nil {
		return err
	}
	store, err := openStore(ctx, c.Repository)
	if err != nil {
		return err
	}
	r, err := repo.Init(ctx, store, keys, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "created repository %s at %s (keys: %d, "+
		"new backups use key %q)\n", r.ID()[:12], store,
		len(keys.Keys()), keys.Primary().ID)
	return nil
}
