package main

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strconv"

	"github.com/lifeline-backup/lifeline/internal/backup"
	"github.com/lifeline-backup/lifeline/internal/config"
	"github.com/lifeline-backup/lifeline/internal/notify"
	"github.com/lifeline-backup/lifeline/internal/repo"
)

// newDispatcher builds the notifiers of the config. A webhook URL that
// cannot be read is an error: a config that promises alerts must send
// them. Alert state lives in the state folder, one file per repository.
func newDispatcher(c *config.Config, r *repo.Repo,
	log *slog.Logger) (*notify.Dispatcher, error) {
	var ns []notify.Notifier
	for _, s := range c.Notify.Slack {
		u, err := secretURL(s)
		if err != nil {
			return nil, err
		}
		ns = append(ns, notify.NewSlack(u, notify.Options{}))
	}
	for _, s := range c.Notify.Webhooks {
		u, err := secretURL(s)
		if err != nil {
			return nil, err
		}
		ns = append(ns, notify.NewWebhook(u, notify.Options{}))
	}
	state := ""
	if len(ns) > 0 {
		state = filepath.Join(c.StateDir, "notify-"+r.ID()[:12]+".json")
	}
	return notify.NewDispatcher(ns, notify.DispatchConfig{
		NotifySuccess: c.Notify.Successes, StatePath: state,
	}, log), nil
}

func secretURL(s config.Secret) (string, error) {
	if s.Env != "" {
		return notify.URLFromEnv(s.Env)
	}
	return notify.URLFromFile(s.File)
}

// reportBackup notifies per source of a backup: each source failed on
// its own error or succeeded. A failure before any source was read
// (a lock, an unreachable repository) counts for every source.
func reportBackup(ctx context.Context, d *notify.Dispatcher,
	names []string, tier repo.Tier, m *repo.Manifest, err error) {
	failed := sourceErrors(err)
	for _, name := range names {
		serr, ok := failed[name]
		if !ok && err != nil && m == nil {
			serr = err
		}
		details := map[string]string{}
		if m != nil && serr == nil {
			details["snapshot"] = m.ID
			details["records"] = strconv.FormatInt(sourceRecords(m, name), 10)
		}
		d.Report(context.WithoutCancel(ctx), "backup", name, string(tier),
			serr, details)
	}
}

// sourceErrors maps each failed source to its first error.
func sourceErrors(err error) map[string]error {
	out := map[string]error{}
	var walk func(error)
	walk = func(e error) {
		if se, ok := e.(*backup.SourceError); ok {
			if _, ok := out[se.Source]; !ok {
				out[se.Source] = se
			}
			return
		}
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, inner := range j.Unwrap() {
				walk(inner)
			}
		} else if inner := errors.Unwrap(e); inner != nil {
			walk(inner)
		}
	}
	if err != nil {
		walk(err)
	}
	return out
}

func sourceRecords(m *repo.Manifest, source string) int64 {
	var n int64
	for _, e := range m.Entries {
		if e.Source == source {
			n += e.Records
		}
	}
	return n
}
