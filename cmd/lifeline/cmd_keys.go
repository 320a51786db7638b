package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/lifeline-backup/lifeline/internal/seal"
)

type keysOpts struct{ force bool }

func init() {
	register(&command{
		name:    "keys",
		summary: "generate, rotate, rewrap and retire encryption keys",
		usage: "lifeline keys generate | rotate | status | rewrap | " +
			"retire ID [--force]",
		help: `Subcommands:
  generate   print a new random 256-bit key, base64-encoded
  rotate     print a new key and the config lines that put it first in
             the keyring; new backups are then encrypted under it
  status     show each key id, whether the keyring has it, and how many
             backups it protects (and how many only it opens)
  rewrap     re-wrap the data key of every backup under the first key of
             the keyring and drop the wraps under other keys, without
             reading or rewriting any data object
  retire ID  delete every wrap under key ID and its key check; refused
             while some backup opens with no other key, unless --force

Keys are never stored in the repository. Each backup's data is encrypted
under its own data key, which is stored wrapped (encrypted) under a key
of the keyring. Rotation: add the new key first in the config, run
'keys rewrap', then remove the old key from the config and 'keys retire'
it. A retired key's backups stay readable only through their other
wraps; a backup that the retired key alone opened is unreadable for
good (crypto-erasure), which is why that needs --force.

Examples:
  lifeline keys generate > /etc/lifeline/k2026.key
  lifeline keys rotate
  lifeline keys rewrap
  lifeline keys status
  lifeline keys retire k2025`,
		flags: func(fs *flag.FlagSet, env *cmdEnv) {
			o := &keysOpts{}
			env.opts = o
			fs.BoolVar(&o.force, "force", false,
				"with retire: also erase backups only that key opens")
		},
		run: runKeys,
	})
}

func runKeys(ctx context.Context, env *cmdEnv, args []string) error {
	o := env.opts.(*keysOpts)
	if len(args) == 0 {
		return usagef("keys: missing subcommand; use generate, rotate, " +
			"status, rewrap or retire")
	}
	want := 1
	if args[0] == "retire" {
		want = 2
	}
	if len(args) != want {
		return usagef("keys %s: takes %d argument(s), got %q", args[0],
			want-1, args[1:])
	}
	switch args[0] {
	case "generate":
		k, err := seal.GenerateKey()
		if err != nil {
			return err
		}
		fmt.Fprintln(env.stdout, k)
		return nil
	case "rotate":
		return keysRotate(env)
	case "status":
		return keysStatus(ctx, env)
	case "rewrap":
		return keysRewrap(ctx, env)
	case "retire":
		return keysRetire(ctx, env, args[1], o.force)
	}
	return usagef("keys: unknown subcommand %q; use generate, rotate, "+
		"status, rewrap or retire", args[0])
}

func keysRotate(env *cmdEnv) error {
	k, err := seal.GenerateKey()
	if err != nil {
		return err
	}
	id := "k" + time.Now().UTC().Format("20060102")
	envName := "LIFELINE_KEY_" + strings.ToUpper(id)
	fmt.Fprintf(env.stdout, `New key %s. Store it where the daemon reads it, for example:

  export %s=%s

then put it first under keys: in the config, keeping the old keys after it:

keys:
  - id: %s
    env: %s
  # ...the existing keys follow

New backups are then encrypted under %s. Run 'lifeline keys rewrap' to move
the existing backups to it, after which the old keys can be retired.
`, id, envName, k, id, envName, id)
	return nil
}

func keysStatus(ctx context.Context, env *cmdEnv) error {
	c, err := env.loadConfig()
	if err != nil {
		return err
	}
	r, err := openRepo(ctx, c)
	if err != nil {
		return err
	}
	uses, err := r.KeyUses(ctx)
	if err != nil {
		return err
	}
	primary := r.Keyring().Primary().ID
	tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tIN KEYRING\tBACKUPS\tONLY THIS KEY\tNOTE")
	for _, u := range uses {
		note := ""
		switch {
		case u.ID == primary:
			note = "encrypts new backups"
		case !u.InKeyring && u.Only > 0:
			note = "missing: its backups cannot be restored"
		}
		fmt.Fprintf(tw, "%s\t%v\t%d\t%d\t%s\n", u.ID, u.InKeyring,
			u.Backups, u.Only, note)
	}
	return tw.Flush()
}

func keysRewrap(ctx context.Context, env *cmdEnv) error {
	c, err := env.loadConfig()
	if err != nil {
		return err
	}
	r, err := openRepo(ctx, c)
	if err != nil {
		return err
	}
	lock, err := r.Lock(ctx, "keys rewrap", true, nil)
	if err != nil {
		return fmt.Errorf("keys rewrap: %w", err)
	}
	defer lock.Unlock(context.WithoutCancel(ctx))
	res, err := r.Rewrap(ctx, lock)
	fmt.Fprintf(env.stdout, "rewrapped %d backups under key %q; removed "+
		"%d wraps under other keys\n", res.Rewrapped,
		r.Keyring().Primary().ID, res.Removed)
	if err != nil {
		return fmt.Errorf("keys rewrap: %w", err)
	}
	return nil
}

func keysRetire(ctx context.Context, env *cmdEnv, id string,
	force bool) error {
	c, err := env.loadConfig()
	if err != nil {
		return err
	}
	keys, err := loadKeyring(c)
	if err != nil {
		return err
	}
	if _, ok := keys.Get(id); ok {
		return fmt.Errorf("key %q is still in the config's keyring: "+
			"remove it from keys: first, so new backups cannot use it", id)
	}
	r, err := openRepo(ctx, c)
	if err != nil {
		return err
	}
	lock, err := r.Lock(ctx, "keys retire", true, nil)
	if err != nil {
		return fmt.Errorf("keys retire: %w", err)
	}
	defer lock.Unlock(context.WithoutCancel(ctx))
	erased, err := r.RetireKey(ctx, id, force, lock)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "retired key %q; %d backups that only it "+
		"opened are now unreadable\n", id, erased)
	return nil
}
