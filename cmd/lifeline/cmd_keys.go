package main

import (
	"context"
	"fmt"

	"github.com/lifeline-backup/lifeline/internal/seal"
)

func init() {
	register(&command{
		name:    "keys",
		summary: "manage encryption keys (keys generate)",
		usage:   "lifeline keys generate",
		help: `Subcommands:
  generate   print a new random 256-bit key, base64-encoded, on
             standard output

Keys are never stored in the repository. Keep the key where the config
says (an environment variable or a file): without it the backups it
protects cannot be read.

Examples:
  lifeline keys generate > /etc/lifeline/k2026.key
  export LIFELINE_KEY_K2026=$(lifeline keys generate)`,
		run: runKeys,
	})
}

func runKeys(_ context.Context, env *cmdEnv, args []string) error {
	if len(args) == 0 {
		return usagef("keys: missing subcommand; use 'keys generate'")
	}
	switch args[0] {
	case "generate":
		if len(args) > 1 {
			return usagef("keys generate takes no arguments")
		}
		k, err := seal.GenerateKey()
		if err != nil {
			return err
		}
		fmt.Fprintln(env.stdout, k)
		return nil
	}
	return usagef("keys: unknown subcommand %q; use 'keys generate'",
		args[0])
}
