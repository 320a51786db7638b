// Package metrics holds the Prometheus metrics of lifeline serve. Every
// name starts with lifeline_. No label carries a secret or a record: the
// labels are source names, tiers and job names from the configuration.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the collectors of one serve process.
type Metrics struct {
	reg *prometheus.Registry

	lastSuccess *prometheus.GaugeVec
	attempts    *prometheus.CounterVec
	failures    *prometheus.CounterVec
	duration    *prometheus.GaugeVec
	records     *prometheus.GaugeVec
	bytes       *prometheus.GaugeVec
	jobRuns     *prometheus.CounterVec
	jobFailures *prometheus.CounterVec
	jobLast     *prometheus.GaugeVec
	pruned      *prometheus.CounterVec
	lockWait    prometheus.Histogram
}

// New registers every collector in a fresh registry.
func New() *Metrics {
	src := []string{"source", "tier"}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "lifeline_backup_last_success_timestamp_seconds",
			Help: "Unix time of the last successful backup per source and tier.",
		}, src),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lifeline_backup_attempts_total",
			Help: "Backups attempted per source and tier.",
		}, src),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lifeline_backup_failures_total",
			Help: "Backups that failed per source and tier.",
		}, src),
		duration: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "lifeline_backup_duration_seconds",
			Help: "Duration of the last backup run per source and tier.",
		}, src),
		records: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "lifeline_backup_records",
			Help: "Records stored by the last successful backup.",
		}, src),
		bytes: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "lifeline_backup_stored_bytes",
			Help: "Bytes stored by the last successful backup.",
		}, src),
		jobRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lifeline_job_runs_total",
			Help: "Runs of each scheduled job (backup, prune, check).",
		}, []string{"job"}),
		jobFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lifeline_job_failures_total",
			Help: "Failed runs of each scheduled job.",
		}, []string{"job"}),
		jobLast: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "lifeline_job_last_success_timestamp_seconds",
			Help: "Unix time of each job's last successful run.",
		}, []string{"job"}),
		pruned: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lifeline_prune_deleted_total",
			Help: "What prune deleted: backups, objects and bytes.",
		}, []string{"kind"}),
		lockWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "lifeline_lock_wait_seconds",
			Help:    "Time jobs waited for a repository lock.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 8),
		}),
	}
	m.reg.MustRegister(m.lastSuccess, m.attempts, m.failures, m.duration,
		m.records, m.bytes, m.jobRuns, m.jobFailures, m.jobLast, m.pruned,
		m.lockWait)
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Backup records one source's part of a backup run.
func (m *Metrics) Backup(source, tier string, d time.Duration,
	records, bytes int64, err error, now time.Time) {
	m.attempts.WithLabelValues(source, tier).Inc()
	m.duration.WithLabelValues(source, tier).Set(d.Seconds())
	if err != nil {
		m.failures.WithLabelValues(source, tier).Inc()
		return
	}
	m.lastSuccess.WithLabelValues(source, tier).Set(float64(now.Unix()))
	m.records.WithLabelValues(source, tier).Set(float64(records))
	m.bytes.WithLabelValues(source, tier).Set(float64(bytes))
}

// Job records one run of a scheduled job.
func (m *Metrics) Job(job string, err error, now time.Time) {
	m.jobRuns.WithLabelValues(job).Inc()
	if err != nil {
		m.jobFailures.WithLabelValues(job).Inc()
		return
	}
	m.jobLast.WithLabelValues(job).Set(float64(now.Unix()))
}

// Pruned adds what one prune deleted.
func (m *Metrics) Pruned(backups, objects int, bytes int64) {
	m.pruned.WithLabelValues("backups").Add(float64(backups))
	m.pruned.WithLabelValues("objects").Add(float64(objects))
	m.pruned.WithLabelValues("bytes").Add(float64(bytes))
}

// LockWait records how long a job waited for a lock.
func (m *Metrics) LockWait(d time.Duration) { m.lockWait.Observe(d.Seconds()) }
