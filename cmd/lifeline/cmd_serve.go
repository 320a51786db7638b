package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/lifeline-backup/lifeline/internal/config"
	"github.com/lifeline-backup/lifeline/internal/drill"
	"github.com/lifeline-backup/lifeline/internal/metrics"
	"github.com/lifeline-backup/lifeline/internal/notify"
	"github.com/lifeline-backup/lifeline/internal/repo"
	"github.com/lifeline-backup/lifeline/internal/schedule"
)

func init() {
	register(&command{
		name:    "serve",
		summary: "run backups and prune on a schedule, with metrics",
		usage:   "lifeline serve [--config FILE]",
		help: `Runs the jobs of the config on cron expressions in UTC until stopped:

  backup-incremental  schedule.incremental, default "0 * * * *"
  backup-full         schedule.full, default "0 2 * * *"; then prune,
                      unless schedule.prune_after_full is false
  backup-complete     schedule.complete, default "0 3 * * 0"
  drill               drill.schedule, default "0 4 1 */3 *" (quarterly):
                      a drill of every bbolt source and every source
                      with a drill target

Jobs never overlap: a job that becomes due while another runs waits and
runs after it. A job whose last run was missed while the daemon was down
runs once at start. A job that finds the repository locked by another
process waits for the lock up to serve.lock_wait (default 30m).

A redis source with keyspace_notifications: true is followed while serve
runs: serve subscribes to its keyspace notifications, checking them with
CONFIG GET and turning them on with CONFIG SET when they are off, so its
incrementals read only the keys changed since the previous backup. After
a gap (serve or Redis restarted, the subscription lost, FLUSHDB,
FLUSHALL, SWAPDB, DEBUG, CONFIG SET, CONFIG RESETSTAT, XREADGROUP, XACK)
the next incremental compares a full read with the change index, as the
backup command always does, and logs why.

Failures, and the first success after a failure, go to the notifiers of
notify:. Logs are JSON lines on standard output (text on a terminal).
The HTTP server at serve.listen (default 127.0.0.1:9877) serves the
status page at /, its JSON at /api/status (history at
/api/status/ID/history?days=90, badges at /badge/ID.svg), Prometheus
metrics at /metrics and lifeline's own health at /healthz. The page
shows the checks under status.checks, the freshness of each source's
backups (up while the newest is younger than its RPO objective, or the
incremental interval plus status.freshness_margin), each source's last
drill, and whether the repository answers. Confirmed state changes go to
the notifiers.

SIGTERM or SIGINT stops the daemon: the running job may finish within
serve.stop_timeout (default 5m), else it is cancelled; the log says
which.

Examples:
  lifeline serve --config /etc/lifeline/lifeline.yaml`,
		run: runServe,
	})
}

// daemon is the state of one serve process.
type daemon struct {
	cfg     *config.Config
	repo    *repo.Repo
	log     *slog.Logger
	metrics *metrics.Metrics
	notify  *notify.Dispatcher
	clock   schedule.Clock
	started time.Time
	// follow keeps the sources that follow their changes open.
	follow *followers
}

func runServe(ctx context.Context, env *cmdEnv, args []string) error {
	if len(args) > 0 {
		return usagef("serve takes no arguments, got %q", args)
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
	d := &daemon{cfg: c, repo: r, log: log, metrics: metrics.New(),
		clock: schedule.RealClock(), follow: newFollowers(log)}
	defer d.follow.close()
	d.started = d.clock.Now()
	if d.notify, err = newDispatcher(c, r, log); err != nil {
		return err
	}
	sched, err := d.scheduler()
	if err != nil {
		return err
	}
	page, err := newStatus(c, r, d.notify, d.clock, log)
	if err != nil {
		return fmt.Errorf("status page: %w", err)
	}
	defer page.Close()
	srv, err := d.listen(page.Handler())
	if err != nil {
		return err
	}
	log.Info("serve started", "listen", srv.Addr, "repository",
		r.Store().String())
	// Following starts before the first backup, whose reads then
	// carry the cursors that the next incrementals continue from.
	if all, err := selectSources(c, nil); err == nil {
		d.follow.start(ctx, all)
	}
	pageDone := make(chan error, 1)
	go func() { pageDone <- page.Run(ctx) }()
	runErr := sched.Run(ctx)
	if err := <-pageDone; err != nil && !errors.Is(err, context.Canceled) {
		log.Error("status checks stopped", "error", err.Error())
	}
	shutdown, cancel := context.WithTimeout(context.Background(),
		10*time.Second)
	defer cancel()
	srv.Shutdown(shutdown)
	log.Info("serve stopped")
	return runErr
}

// scheduler registers the backup jobs of the config.
func (d *daemon) scheduler() (*schedule.Scheduler, error) {
	s, err := schedule.New(d.clock, d.log, schedule.Options{
		LastRun:     d.lastRun,
		StopTimeout: d.cfg.Serve.StopTimeout.Std(),
	})
	if err != nil {
		return nil, err
	}
	jobs := []struct {
		tier repo.Tier
		spec string
	}{
		{repo.Incremental, d.cfg.Schedule.Incremental},
		{repo.Full, d.cfg.Schedule.Full},
		{repo.Complete, d.cfg.Schedule.Complete},
	}
	for _, j := range jobs {
		err := s.Add(schedule.Job{Name: "backup-" + string(j.tier),
			Spec: j.spec, Run: d.backupJob(j.tier)})
		if err != nil {
			return nil, fmt.Errorf("config %s: schedule: %w", d.cfg.Path, err)
		}
	}
	err = s.Add(schedule.Job{Name: "drill", Spec: d.cfg.Drill.Schedule,
		Run: d.drillJob})
	if err != nil {
		return nil, fmt.Errorf("config %s: drill schedule: %w", d.cfg.Path,
			err)
	}
	return s, nil
}

// drillJob drills every source that can be drilled: bbolt sources, and
// sources with a drill target.
func (d *daemon) drillJob(ctx context.Context, _ time.Time) error {
	var errs []error
	all, err := selectSources(d.cfg, nil)
	if err != nil {
		return err
	}
	for _, s := range drillable(d.log, all) {
		res, err := withLock(d, ctx, func() (*drill.Result, error) {
			return drillSource(ctx, d.log, d.cfg, d.repo, s, time.Time{},
				d.clock.Now)
		})
		err = drillError(s.Name, res, err)
		d.notify.Report(context.WithoutCancel(ctx), "drill", s.Name, "",
			err, nil)
		errs = append(errs, err)
	}
	err = errors.Join(errs...)
	d.metrics.Job("drill", err, d.clock.Now())
	return err
}

// lastRun returns the start of the newest backup of a job's tier, so a
// run missed while the daemon was down runs once at start.
func (d *daemon) lastRun(ctx context.Context, job string) (time.Time, error) {
	if job == "drill" {
		return d.lastDrill(ctx)
	}
	snaps, _, err := d.repo.Snapshots(ctx)
	if err != nil {
		return time.Time{}, err
	}
	for i := len(snaps) - 1; i >= 0; i-- {
		if "backup-"+string(snaps[i].Tier) == job {
			return snaps[i].Time, nil
		}
	}
	return time.Time{}, nil
}

func (d *daemon) backupJob(tier repo.Tier) func(context.Context, time.Time) error {
	return func(ctx context.Context, _ time.Time) error {
		err := d.backup(ctx, tier)
		d.metrics.Job("backup-"+string(tier), err, d.clock.Now())
		if err != nil || tier != repo.Full || !*d.cfg.Schedule.PruneAfterFull {
			return err
		}
		res, err := withLock(d, ctx, func() (pruneResult, error) {
			return doPrune(ctx, d.log, d.repo, d.cfg.Retention, false,
				d.clock.Now)
		})
		d.metrics.Job("prune", err, d.clock.Now())
		d.metrics.Pruned(res.Backups, res.Objects, res.Bytes)
		d.notify.Report(context.WithoutCancel(ctx), "prune", "", "", err, nil)
		return err
	}
}

func (d *daemon) backup(ctx context.Context, tier repo.Tier) error {
	srcs, err := selectSources(d.cfg, nil)
	if err != nil {
		return err
	}
	targets, closeAll, err := d.follow.sources(ctx, sourcesInTier(d.log,
		srcs, tier))
	if err != nil {
		return err
	}
	defer closeAll()
	began := d.clock.Now()
	m, err := withLock(d, ctx, func() (*repo.Manifest, error) {
		return doBackup(ctx, d.log, d.repo, targets, tier,
			compression(d.cfg), nil)
	})
	d.follow.check()
	failed := sourceErrors(err)
	for _, name := range sourceNames(targets) {
		serr := failed[name]
		if serr == nil && m == nil {
			serr = err
		}
		var records, bytes int64
		if m != nil {
			records = sourceRecords(m, name)
			bytes = m.StoredBytes()
		}
		d.metrics.Backup(name, string(tier), d.clock.Now().Sub(began),
			records, bytes, serr, d.clock.Now())
	}
	reportBackup(ctx, d.notify, sourceNames(targets), tier, m, err)
	if m != nil {
		d.copyAfterBackup(ctx, m.ID)
	}
	return err
}

// copyAfterBackup copies a new backup to every copy marked after_backup.
// A failed copy is notified and logged, and does not fail the backup.
func (d *daemon) copyAfterBackup(ctx context.Context, id string) {
	for _, cp := range d.cfg.Copies {
		if !cp.AfterBackup {
			continue
		}
		_, err := doCopy(ctx, d.log, d.cfg, d.repo, cp.Name, []string{id})
		d.metrics.Job("copy-"+cp.Name, err, d.clock.Now())
		if err != nil {
			d.log.Error("copy failed", "copy", cp.Name, "snapshot", id,
				"error", err.Error())
		}
		d.notify.Report(context.WithoutCancel(ctx), "copy", cp.Name, "",
			err, map[string]string{"snapshot": id})
	}
}

// withLock retries fn while the repository is locked by another process,
// up to serve.lock_wait.
func withLock[T any](d *daemon, ctx context.Context,
	fn func() (T, error)) (T, error) {
	began := d.clock.Now()
	deadline := began.Add(d.cfg.Serve.LockWait.Std())
	for {
		v, err := fn()
		if !errors.Is(err, repo.ErrLocked) || !d.clock.Now().Before(deadline) {
			d.metrics.LockWait(d.clock.Now().Sub(began))
			return v, err
		}
		d.log.Info("repository locked, waiting", "error", err.Error())
		select {
		case <-ctx.Done():
			return v, err
		case <-d.clock.After(10 * time.Second):
		}
	}
}

// listen starts the HTTP server: the status page and its API, /metrics
// and /healthz.
func (d *daemon) listen(page http.Handler) (*http.Server, error) {
	mux := http.NewServeMux()
	mux.Handle("/", page)
	mux.Handle("GET /metrics", d.metrics.Handler())
	mux.HandleFunc("GET /healthz", d.health)
	srv := &http.Server{
		Addr:              d.cfg.Serve.Listen,
		Handler:           http.MaxBytesHandler(mux, 1<<16),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    1 << 16,
	}
	ln, err := net.Listen("tcp", srv.Addr)
	if err != nil {
		return nil, fmt.Errorf("serve: listen on %s: %w; set serve.listen "+
			"in the config", srv.Addr, err)
	}
	srv.Addr = ln.Addr().String()
	go func() {
		if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
			d.log.Error("http server stopped", "error", err.Error())
		}
	}()
	return srv, nil
}

func (d *daemon) health(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(map[string]any{
		"status":         "ok",
		"started_at":     d.started.UTC().Format(time.RFC3339),
		"uptime_seconds": int64(d.clock.Now().Sub(d.started).Seconds()),
	})
}

func (d *daemon) lastDrill(ctx context.Context) (time.Time, error) {
	results, _, err := drill.List(ctx, d.repo)
	if err != nil || len(results) == 0 {
		return time.Time{}, err
	}
	return results[len(results)-1].Started, nil
}
