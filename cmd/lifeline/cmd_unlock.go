package main

import (
	"context"
	"flag"
	"fmt"
	"time"
)

type unlockOpts struct{ force bool }

func init() {
	register(&command{
		name:    "unlock",
		summary: "remove locks whose holder is gone",
		usage:   "lifeline unlock [--force]",
		help: `Removes expired lock objects and prints whose they were. A live lock
renews itself every few minutes, so an expired one belongs to a process
that died. --force also removes live locks: use it only when you know
the holder is gone, because two writers may then damage the repository.

Examples:
  lifeline unlock
  lifeline unlock --force`,
		flags: func(fs *flag.FlagSet, env *cmdEnv) {
			o := &unlockOpts{}
			env.opts = o
			fs.BoolVar(&o.force, "force", false,
				"also remove locks that have not expired")
		},
		run: runUnlock,
	})
}

func runUnlock(ctx context.Context, env *cmdEnv, args []string) error {
	o := env.opts.(*unlockOpts)
	if len(args) > 0 {
		return usagef("unlock takes no arguments, got %q", args)
	}
	c, err := env.loadConfig()
	if err != nil {
		return err
	}
	r, err := openRepo(ctx, c)
	if err != nil {
		return err
	}
	removed, err := r.RemoveLocks(ctx, time.Now(), o.force)
	for _, l := range removed {
		fmt.Fprintf(env.stdout, "removed %s\n", l.Holder())
	}
	if err != nil {
		return err
	}
	locks, err := r.Locks(ctx)
	if err != nil {
		return err
	}
	for _, l := range locks {
		fmt.Fprintf(env.stdout, "kept live %s (expires %s)\n", l.Holder(),
			l.Expires.Format(time.RFC3339))
	}
	if len(removed) == 0 && len(locks) == 0 {
		fmt.Fprintln(env.stdout, "no locks")
	}
	return nil
}
