package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/lifeline-backup/lifeline/internal/blob"
	"github.com/lifeline-backup/lifeline/internal/config"
	"github.com/lifeline-backup/lifeline/internal/repo"
	"github.com/lifeline-backup/lifeline/internal/restore"
	"github.com/lifeline-backup/lifeline/internal/seal"
	"github.com/lifeline-backup/lifeline/internal/source"
	"github.com/lifeline-backup/lifeline/internal/source/cfkv"
)

type restoreOpts struct {
	snapshot   string
	at         string
	sources    stringList
	namespaces stringList
	to         string
	dryRun     bool
	replace    bool
	diffFormat string
}

func init() {
	register(&command{
		name:    "restore",
		summary: "restore a backup into its sources or another source",
		usage: "lifeline restore --snapshot ID|latest | --at TIME " +
			"[--source NAME]... [--namespace NAME]... [--to SOURCE] " +
			"[--dry-run] [--replace] [--diff-format text|json]",
		help: `Restores the namespaces of one backup (--snapshot), or the state at a
moment (--at TIME: RFC 3339, or a duration back from now such as 90m,
36h, 6d), built from the newest full backup not later than it and the
incrementals after it. latest is the newest state of every namespace.
Every object the restore needs is decrypted and checked before the
first write, so a damaged backup is refused without touching the target,
and the message names the nearest older backup that is intact.

Before writing, the target is read and each record is classified: add
(the key is missing), unchanged, conflict (the key holds other content
and is left alone), change (overwritten, only with --replace), expired
(its expiry has passed; never written) or delete (a key the restored
state deleted, removed only with --replace). Keys of the target that the
restored state lacks are counted as extra and always left alone.
Without --replace no key that already exists in the target is changed
and nothing is deleted. --dry-run prints the same summary and writes
nothing; --diff-format json prints it as a JSON array.

--to writes into another configured source of the same type (another
Redis database or server, another bbolt file) instead of the source the
backup came from.

Examples:
  lifeline restore --snapshot latest --dry-run
  lifeline restore --snapshot 20261204T020000Z-1a2b3c4d --source cache
  lifeline restore --snapshot latest --source app --to app-copy
  lifeline restore --snapshot latest --source cache --namespace sessions --replace`,
		flags: func(fs *flag.FlagSet, env *cmdEnv) {
			o := &restoreOpts{}
			env.opts = o
			fs.StringVar(&o.snapshot, "snapshot", "",
				"backup `ID` to restore, a unique prefix of it, or latest")
			fs.StringVar(&o.at, "at", "",
				"restore the state at `TIME`: RFC 3339, or a duration "+
					"back from now such as 90m, 36h, 6d")
			fs.Var(&o.sources, "source",
				"restore only this source `NAME` (repeatable)")
			fs.Var(&o.namespaces, "namespace",
				"restore only this namespace `NAME` (repeatable)")
			fs.StringVar(&o.to, "to", "",
				"write into this configured `SOURCE` instead")
			fs.BoolVar(&o.dryRun, "dry-run", false,
				"print what would be written and write nothing")
			fs.StringVar(&o.diffFormat, "diff-format", "text",
				"`format` of the per-namespace summary: text (log lines) "+
					"or json (an array on standard output; logs go to "+
					"standard error)")
			fs.BoolVar(&o.replace, "replace", false,
				"overwrite keys that exist in the target with other content")
		},
		run: runRestore,
	})
}

func runRestore(ctx context.Context, env *cmdEnv, args []string) error {
	o := env.opts.(*restoreOpts)
	sel, err := o.selection(args)
	if err != nil {
		return err
	}
	jsonOut := env.stdout
	if o.diffFormat == "json" {
		// Standard output carries the JSON array alone, so logs move.
		env.stdout = env.stderr
	}
	log, err := env.newLogger()
	if err != nil {
		return err
	}
	c, err := env.loadConfig()
	if err != nil {
		return err
	}
	r, err := openRepo(ctx, c)
	if err != nil {
		return err
	}

	p := restorePlan{cfg: c, to: o.to, opened: map[string]source.Source{}}
	defer p.close()
	items, err := planRestore(ctx, r, &p, sel)
	if err != nil {
		return err
	}
	dryRun, err := previewReadOnly(log, items, o.dryRun)
	if err != nil {
		return err
	}
	logPlan(log, items)
	for _, it := range items {
		if err := r.Verify(ctx, it.Parts); err != nil {
			return refuseDamaged(ctx, r, sel, err)
		}
	}

	mode := source.KeepExisting
	if o.replace {
		mode = source.Replace
	}
	results, err := doRestore(ctx, log, r, items, mode, dryRun,
		newProgress(env.stderr, "restoring"))
	if o.diffFormat == "json" {
		if perr := printResults(jsonOut, results); perr != nil {
			return perr
		}
	}
	return err
}

// selection checks the command line and returns what to restore.
func (o *restoreOpts) selection(args []string) (restore.Selection, error) {
	var sel restore.Selection
	if len(args) > 0 {
		return sel, usagef("restore takes no arguments, got %q", args)
	}
	if (o.snapshot == "") == (o.at == "") {
		return sel, usagef("restore: give either --snapshot (an id " +
			"from 'lifeline snapshots', or latest) or --at TIME")
	}
	if err := checkDiffFormat(o.diffFormat); err != nil {
		return sel, err
	}
	sel = restore.Selection{Snapshot: o.snapshot, Sources: o.sources,
		Namespaces: o.namespaces}
	if o.at != "" {
		at, err := parseAt(o.at, time.Now())
		if err != nil {
			return sel, usagef("--at: %v", err)
		}
		sel.At = at
	}
	return sel, nil
}

// planRestore finds the chains of the selection and their targets. A
// selection that reaches a damaged backup is refused, naming the nearest
// good one.
func planRestore(ctx context.Context, r *repo.Repo, p *restorePlan,
	sel restore.Selection) ([]restore.Item, error) {
	chains, err := restore.Chains(ctx, r, sel)
	if isDamage(err) {
		return nil, refuseDamaged(ctx, r, sel, err)
	}
	if err != nil {
		return nil, err
	}
	return p.items(ctx, chains)
}

// printResults prints restore results as the JSON of --diff-format json.
func printResults(w io.Writer, results []restore.Result) error {
	var reports []diffReport
	for _, res := range results {
		reports = append(reports, newDiffReport(res.Source,
			res.Namespace, res.Target+"/"+res.ToNS, res.Diff))
	}
	return printDiffs(w, "json", reports)
}

// doRestore runs a restore and logs one summary per namespace; demo
// shares it.
func doRestore(ctx context.Context, log *slog.Logger, r *repo.Repo,
	items []restore.Item, mode source.WriteMode, dryRun bool,
	prog *progressLine) ([]restore.Result, error) {
	log.Info("restore started", "namespaces", len(items),
		"dry_run", dryRun)
	results, err := restore.Run(ctx, r, items, restore.Options{
		Mode: mode, DryRun: dryRun,
		Progress: func(res restore.Result) {
			prog.update(res.Source+"/"+res.Namespace, res.Written)
		},
	})
	prog.clear()
	if serr := reportSkipped(log, items); serr != nil && err == nil {
		err = serr
	}
	for i, res := range results {
		if err != nil && i == len(results)-1 {
			// The failed namespace: its error is the command's.
			log.Info("namespace restore stopped", "source", res.Source,
				"namespace", res.Namespace, "written", res.Written)
			continue
		}
		logRestoreResult(log, res, dryRun)
	}
	return results, err
}

func logRestoreResult(log *slog.Logger, res restore.Result, dryRun bool) {
	msg := "namespace restored"
	if dryRun {
		msg = "namespace restore preview (dry run, nothing written)"
	}
	d := res.Diff
	attrs := []any{"source", res.Source, "namespace", res.Namespace,
		"target", res.Target + "/" + res.ToNS, "records", res.Records,
		"written", res.Written}
	for k := restore.Add; k < restore.Kind(restore.Kinds); k++ {
		attrs = append(attrs, k.String(), d.Counts[k])
	}
	attrs = append(attrs, "duration_ms", res.Elapsed.Milliseconds())
	log.Info(msg, attrs...)
	for k := restore.Add; k < restore.Kind(restore.Kinds); k++ {
		if len(d.Samples[k]) > 0 && k != restore.Unchanged {
			log.Info("sample keys", "source", res.Source,
				"namespace", res.Namespace, "kind", k.String(),
				"keys", quoteKeys(d.Samples[k]))
		}
	}
}

// quoteKeys prints keys with non-printable bytes escaped, and the
// empty key, such as a bbolt bucket's own record, as "".
func quoteKeys(keys [][]byte) string {
	var q []string
	for _, k := range keys {
		if len(k) == 0 {
			q = append(q, `""`)
			continue
		}
		q = append(q, quoteKey(k))
	}
	return strings.Join(q, " ")
}

// restorePlan maps backup entries to target sources.
type restorePlan struct {
	cfg    *config.Config
	to     string
	opened map[string]source.Source
}

func (p *restorePlan) close() {
	for _, s := range p.opened {
		s.Close()
	}
}

func (p *restorePlan) target(name string) (*config.Source, source.Source,
	error) {
	cs, ok := p.cfg.Source(name)
	if !ok {
		return nil, nil, fmt.Errorf("target source %q is not in the "+
			"config (it has %s)", name,
			strings.Join(p.cfg.SourceNames(), ", "))
	}
	if src, ok := p.opened[name]; ok {
		return cs, src, nil
	}
	src, err := openSource(cs)
	if err != nil {
		return nil, nil, err
	}
	p.opened[name] = src
	return cs, src, nil
}

func (p *restorePlan) items(ctx context.Context,
	chains [][]repo.Part) ([]restore.Item, error) {
	var items []restore.Item
	for _, chain := range chains {
		e := chain[0].Entry
		name := e.Source
		if p.to != "" {
			name = p.to
		}
		cs, src, err := p.target(name)
		if err != nil {
			return nil, err
		}
		if cs.Type != e.Type {
			return nil, fmt.Errorf("cannot restore %s/%s (type %s) into "+
				"source %q of type %s", e.Source, e.Namespace, e.Type,
				name, cs.Type)
		}
		ns, err := targetNamespace(ctx, cs, src, e.Namespace)
		if err != nil {
			return nil, err
		}
		items = append(items, restore.Item{Parts: chain, Namespace: ns,
			To: restore.Target{Name: cs.Name, Type: cs.Type, Src: src}})
	}
	return items, nil
}

// targetNamespace picks the namespace of the target that receives ns:
// the one of the same name, else the target's only namespace. A bbolt
// target creates a bucket of the same name.
func targetNamespace(ctx context.Context, cs *config.Source,
	src source.Source, ns string) (string, error) {
	if cs.Type == "bolt" {
		return ns, nil
	}
	have, err := src.Namespaces(ctx)
	if err != nil {
		return "", err
	}
	if slices.Contains(have, ns) {
		return ns, nil
	}
	if len(have) == 1 {
		return have[0], nil
	}
	return "", fmt.Errorf("target source %q has no namespace %q and "+
		"several others (%s): configure a namespace %q there",
		cs.Name, ns, strings.Join(have, ", "), ns)
}

// previewReadOnly turns a restore into read-only sources (bucket
// listings) into a preview: it reports which entries are missing,
// changed or new in the live source and writes nothing.
func previewReadOnly(log *slog.Logger, items []restore.Item,
	dryRun bool) (bool, error) {
	readOnly := 0
	for _, it := range items {
		if ro, ok := it.To.Src.(source.ReadOnly); ok && ro.ReadOnly() {
			readOnly++
		}
	}
	switch {
	case readOnly == 0 || dryRun:
		return dryRun, nil
	case readOnly < len(items):
		return false, usagef("some targets are read-only listings, which " +
			"a restore only compares; restore them with --source on " +
			"their own")
	}
	log.Info("listing sources are never written: comparing the backup " +
		"with the live source instead (add = missing there now, change = " +
		"changed since, delete = not in the backup)")
	return true, nil
}

// reportSkipped logs the records a target refused to store (Cloudflare
// KV: an expiry too soon, a key too long) and returns an error when there
// were any, because the restore is then incomplete.
func reportSkipped(log *slog.Logger, items []restore.Item) error {
	total := 0
	seen := map[source.Source]bool{}
	for _, it := range items {
		sk, ok := it.To.Src.(interface{ Skipped() []cfkv.Skip })
		if !ok || seen[it.To.Src] {
			continue
		}
		seen[it.To.Src] = true
		byReason := map[cfkv.SkipReason][]string{}
		for _, s := range sk.Skipped() {
			byReason[s.Reason] = append(byReason[s.Reason], quoteKey(s.Key))
			total++
		}
		for reason, keys := range byReason {
			log.Warn("records not written", "target", it.To.Name,
				"reason", string(reason), "records", len(keys),
				"keys", strings.Join(keys[:min(len(keys), 10)], " "))
		}
	}
	if total > 0 {
		return fmt.Errorf("%d records were not written because the "+
			"target refuses them; the log lists why", total)
	}
	return nil
}

// isDamage reports whether err means a backup the restore needs is
// damaged, missing or has no data key the keyring opens.
func isDamage(err error) bool {
	return errors.Is(err, repo.ErrDamaged) || errors.Is(err, repo.ErrNoKey) ||
		errors.Is(err, blob.ErrNotFound) || errors.Is(err, seal.ErrAuth) ||
		errors.Is(err, seal.ErrMalformed)
}

// refuseDamaged returns the error of a restore refused because of
// damage, naming the newest older backup that still verifies.
func refuseDamaged(ctx context.Context, r *repo.Repo, sel restore.Selection,
	cause error) error {
	hint := "no older backup of the same namespaces verifies either"
	if id := nearestGood(ctx, r, sel); id != "" {
		hint = fmt.Sprintf("the newest older backup that verifies is %s "+
			"(lifeline restore --snapshot %s)", id, id)
	}
	return fmt.Errorf("restore refused, nothing was written: %w; %s; "+
		"'lifeline check --read-data' lists every damaged object", cause,
		hint)
}

// maxSuggestTries bounds how many older backups refuseDamaged verifies,
// because each try reads every chunk of a chain.
const maxSuggestTries = 10

// nearestGood returns the newest backup that started before the
// selected one and whose chains for the selected namespaces load and
// verify, or "".
func nearestGood(ctx context.Context, r *repo.Repo,
	sel restore.Selection) string {
	before, ok := selectedTime(ctx, r, sel)
	if !ok {
		return ""
	}
	snaps, _, err := r.Snapshots(ctx)
	if err != nil {
		return ""
	}
	tries := 0
	for i := len(snaps) - 1; i >= 0 && tries < maxSuggestTries; i-- {
		s := snaps[i]
		if !s.Time.Before(before) {
			continue
		}
		tries++
		if verifies(ctx, r, restore.Selection{Snapshot: s.ID,
			Sources: sel.Sources, Namespaces: sel.Namespaces}) {
			return s.ID
		}
	}
	return ""
}

// selectedTime returns when the selected backup started: from its
// manifest, else from the time its id starts with. With --at it is just
// after that time, because the backup at it may be the damaged one.
func selectedTime(ctx context.Context, r *repo.Repo,
	sel restore.Selection) (time.Time, bool) {
	if sel.Snapshot == "" {
		return sel.At.Add(time.Nanosecond), true
	}
	id, err := r.Resolve(ctx, sel.Snapshot)
	if err != nil {
		return time.Time{}, false
	}
	if s, err := r.LoadSnapshot(ctx, id); err == nil {
		return s.Time, true
	}
	prefix, _, _ := strings.Cut(id, "-")
	t, err := time.Parse("20060102T150405Z", prefix)
	return t, err == nil
}

// verifies reports whether every chain of the selection loads and every
// chunk of it authenticates.
func verifies(ctx context.Context, r *repo.Repo,
	sel restore.Selection) bool {
	chains, err := restore.Chains(ctx, r, sel)
	if err != nil {
		return false
	}
	for _, chain := range chains {
		if r.Verify(ctx, chain) != nil {
			return false
		}
	}
	return true
}
