// Package config reads lifeline's YAML configuration into typed values
// and validates it, naming the line of every problem.
//
// Secrets never live in the file: keys and credentials are named by
// environment variable or file path, and read by the packages that use
// them.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	"gopkg.in/yaml.v3"

	"github.com/lifeline-backup/lifeline/internal/status/condition"
)

// Config is a whole configuration file.
type Config struct {
	Repository  Repository `yaml:"repository"`
	Keys        []Key      `yaml:"keys"`
	Sources     []Source   `yaml:"sources"`
	Compression string     `yaml:"compression"`
	Retention   Retention  `yaml:"retention"`
	Notify      Notify     `yaml:"notify"`
	Schedule    Schedule   `yaml:"schedule"`
	Serve       Serve      `yaml:"serve"`
	Drill       Drill      `yaml:"drill"`
	Copies      []Copy     `yaml:"copies"`
	Status      Status     `yaml:"status"`
	Report      Report     `yaml:"report"`
	// StateDir holds local state that can be rebuilt, such as which
	// alerts were sent. Default: $XDG_STATE_HOME/lifeline, else
	// ~/.local/state/lifeline.
	StateDir string `yaml:"state_dir"`

	// Path is the file the configuration was read from.
	Path string `yaml:"-"`
}

// Repository is where backups are kept.
type Repository struct {
	// URL is file:///path or s3://bucket/prefix.
	URL       string `yaml:"url"`
	Endpoint  string `yaml:"endpoint"`
	Region    string `yaml:"region"`
	PathStyle bool   `yaml:"path_style"`
	// AppendOnly forbids every delete: prune, key rewrap and retire
	// refuse, and backups take no lock.
	AppendOnly bool `yaml:"append_only"`
	// AccessKeyEnv and SecretKeyEnv name the environment variables of
	// the S3 credentials; default AWS_ACCESS_KEY_ID and
	// AWS_SECRET_ACCESS_KEY.
	AccessKeyEnv string `yaml:"access_key_env"`
	SecretKeyEnv string `yaml:"secret_key_env"`
	// ObjectLock sets S3 Object Lock retention on every object written.
	ObjectLock ObjectLock `yaml:"object_lock"`
	Line       int        `yaml:"-"`
}

// ObjectLock configures S3 Object Lock: each object is stored with a
// retention date covering its tier's retention plus Margin.
type ObjectLock struct {
	// Mode is "governance" or "compliance"; empty turns locking off.
	Mode   string   `yaml:"mode"`
	Margin Duration `yaml:"margin"`
}

// Status configures the status page of serve.
type Status struct {
	// Title heads the page.
	Title string `yaml:"title"`
	// History is the bbolt file of check results; default
	// <state_dir>/status.db.
	History string  `yaml:"history"`
	Checks  []Check `yaml:"checks"`
	// FreshnessMargin is added to the incremental schedule's interval
	// for sources without an RPO objective; default 15m.
	FreshnessMargin Duration `yaml:"freshness_margin"`
	// Refresh is how often the open page fetches new data; default 1m,
	// at least 1s.
	Refresh Duration `yaml:"refresh"`
}

// Check is one health check of the status page. Conditions use the
// syntax of Gatus: "[STATUS] == 200", "[RESPONSE_TIME] < 300",
// "[BODY].status == UP".
type Check struct {
	ID                 string            `yaml:"id"`
	Name               string            `yaml:"name"`
	Group              string            `yaml:"group"`
	Type               string            `yaml:"type"`
	URL                string            `yaml:"url"`
	Method             string            `yaml:"method"`
	Headers            map[string]string `yaml:"headers"`
	Body               string            `yaml:"body"`
	Interval           Duration          `yaml:"interval"`
	Timeout            Duration          `yaml:"timeout"`
	FollowRedirects    *bool             `yaml:"follow_redirects"`
	InsecureTLS        bool              `yaml:"insecure_tls"`
	Conditions         []string          `yaml:"conditions"`
	DegradedConditions []string          `yaml:"degraded_conditions"`
	FailureThreshold   int               `yaml:"failure_threshold"`
	SuccessThreshold   int               `yaml:"success_threshold"`
	HideURL            bool              `yaml:"hide_url"`
	HideErrors         bool              `yaml:"hide_errors"`
	Maintenance        []Maintenance     `yaml:"maintenance"`
	Line               int               `yaml:"-"`
}

// Maintenance is a window in which a check shows maintenance and sends
// no alert: daily at a UTC time "HH:MM", or at a cron expression, for a
// duration.
type Maintenance struct {
	Daily    string   `yaml:"daily"`
	Cron     string   `yaml:"cron"`
	Duration Duration `yaml:"duration"`
}

// Copy is a second repository that backups are copied to.
type Copy struct {
	Name       string     `yaml:"name"`
	Repository Repository `yaml:"repository"`
	// Keys is the copy's own keyring: no key of the main repository
	// opens anything in the copy.
	Keys []Key `yaml:"keys"`
	// AfterBackup makes serve copy new backups after each backup job.
	AfterBackup bool `yaml:"after_backup"`
	Line        int  `yaml:"-"`
}

// Key names one key of the keyring and where its value comes from.
type Key struct {
	ID   string `yaml:"id"`
	Env  string `yaml:"env"`
	File string `yaml:"file"`
	Line int    `yaml:"-"`
}

// Source is one configured source.
type Source struct {
	Name       string      `yaml:"name"`
	Type       string      `yaml:"type"`
	URL        string      `yaml:"url"`
	Path       string      `yaml:"path"`
	Namespaces []Namespace `yaml:"namespaces"`
	// Account is the Cloudflare account id of a cloudflare-kv source.
	Account string `yaml:"account"`
	// TokenEnv names the environment variable holding an API token
	// (cloudflare-kv) or bearer token (http-snapshot).
	TokenEnv string `yaml:"token_env"`
	// Endpoints are the etcd client URLs.
	Endpoints []string `yaml:"endpoints"`
	// Username is the etcd user; token_env then names its password.
	Username string `yaml:"username"`
	// Bucket, Prefix, Endpoint, Region and PathStyle describe the bucket
	// an s3-listing source lists; credentials come from
	// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
	Bucket    string `yaml:"bucket"`
	Prefix    string `yaml:"prefix"`
	Endpoint  string `yaml:"endpoint"`
	Region    string `yaml:"region"`
	PathStyle bool   `yaml:"path_style"`
	// Full makes full backups capture a source that by default only
	// complete backups carry (http-snapshot, s3-listing).
	Full bool `yaml:"full"`
	// KeyspaceNotifications makes serve follow a redis source's keyspace
	// notifications between backups, so its incrementals read only the
	// keys that changed. lifeline turns the notifications on when they
	// are off.
	KeyspaceNotifications bool        `yaml:"keyspace_notifications"`
	Objectives            Objectives  `yaml:"objectives"`
	Drill                 SourceDrill `yaml:"drill"`
	Line                  int         `yaml:"-"`
}

// Objectives are the recovery objectives of a source: the largest data
// loss (RPO) and the longest restore (RTO) it may have. Zero means none.
type Objectives struct {
	RPO Duration `yaml:"rpo"`
	RTO Duration `yaml:"rto"`
}

// SourceDrill is the drill setting of a source: where it restores to.
type SourceDrill struct {
	// Target names another configured source of the same type, used as
	// scratch space. A bbolt source without one drills into a temporary
	// file.
	Target string `yaml:"target"`
}

// Drill configures the drills of serve.
type Drill struct {
	// Schedule is a cron expression in UTC; default quarterly,
	// "0 4 1 */3 *".
	Schedule string `yaml:"schedule"`
	// ExpiryTolerance is how far a restored expiry may be from the
	// backed-up one; default 2s.
	ExpiryTolerance Duration `yaml:"expiry_tolerance"`
	Line            int      `yaml:"-"`
}

// Report configures the evidence report.
type Report struct {
	// PricePerGBMonth is the storage price in USD per GB-month that
	// the report estimates the cost at; default 0.015 (Cloudflare R2
	// standard storage).
	PricePerGBMonth float64 `yaml:"price_per_gb_month"`
}

// Namespace is one namespace of a source: a key pattern and database
// for Redis, a bucket for bbolt.
type Namespace struct {
	Name  string `yaml:"name"`
	Match string `yaml:"match"`
	DB    *int   `yaml:"db"`
	// Prefix is the key prefix of an etcd namespace.
	Prefix string `yaml:"prefix"`
	Line   int    `yaml:"-"`
}

// Retention is how long each tier of backup is kept.
type Retention struct {
	Incremental Duration `yaml:"incremental"`
	Full        Duration `yaml:"full"`
	Complete    Duration `yaml:"complete"`
	// Grace is how old an object that no backup names must be before
	// prune removes it; younger ones may belong to a running backup.
	Grace Duration `yaml:"grace"`
}

// Notify lists where failures and recoveries are sent.
type Notify struct {
	Slack    []Secret `yaml:"slack"`
	Webhooks []Secret `yaml:"webhooks"`
	// Successes also sends an event for every successful run.
	Successes bool `yaml:"successes"`
}

// Secret names where a secret value, such as a webhook URL, is read
// from: an environment variable or a file.
type Secret struct {
	Env  string `yaml:"env"`
	File string `yaml:"file"`
	Line int    `yaml:"-"`
}

// Schedule holds the cron expressions, in UTC, of the jobs of serve.
type Schedule struct {
	Incremental string `yaml:"incremental"`
	Full        string `yaml:"full"`
	Complete    string `yaml:"complete"`
	// PruneAfterFull runs prune after each full backup; default true.
	PruneAfterFull *bool `yaml:"prune_after_full"`
	Line           int   `yaml:"-"`
}

// Serve configures the HTTP server of serve.
type Serve struct {
	// Listen is the address of /metrics and /healthz.
	Listen string `yaml:"listen"`
	// StopTimeout is how long a stop waits for a running job before
	// cancelling it; default 5m.
	StopTimeout Duration `yaml:"stop_timeout"`
	// LockWait is how long a scheduled job waits for a lock held by
	// another process before it fails; default 30m.
	LockWait Duration `yaml:"lock_wait"`
}

// Defaults of the schedule and retention.
const (
	DefaultIncrementalSchedule = "0 * * * *"
	DefaultFullSchedule        = "0 2 * * *"
	DefaultCompleteSchedule    = "0 3 * * 0"
	DefaultListen              = "127.0.0.1:9877"
	DefaultDrillSchedule       = "0 4 1 */3 *"
)

// SourceTypes lists the source types this version supports.
var SourceTypes = []string{"redis", "bolt", "cloudflare-kv", "etcd",
	"nats-kv", "http-snapshot", "s3-listing"}

// CompleteOnly reports whether a source type is captured only by complete
// backups unless the source sets full: true. Snapshot endpoints and bucket
// listings are costly to read and have no incremental form.
func CompleteOnly(typ string) bool {
	return typ == "http-snapshot" || typ == "s3-listing"
}

// InTier reports whether backups of the tier capture the source.
func (s *Source) InTier(tier string) bool {
	return tier == "complete" || s.Full || !CompleteOnly(s.Type)
}

// DefaultPath is the configuration read when neither --config nor
// LIFELINE_CONFIG names one.
const DefaultPath = "lifeline.yaml"

// Resolve returns the configuration path to use: flag, else the
// LIFELINE_CONFIG environment variable, else DefaultPath.
func Resolve(flag string) string {
	if flag != "" {
		return flag
	}
	if env := os.Getenv("LIFELINE_CONFIG"); env != "" {
		return env
	}
	return DefaultPath
}

// Load reads and validates a configuration file.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("config %s not found: pass --config FILE "+
			"or set LIFELINE_CONFIG", path)
	}
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	c, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	c.Path = path
	return c, nil
}

// Parse decodes and validates configuration text. Unknown fields are
// errors, so a misspelt option is never silently ignored.
func Parse(data []byte) (*Config, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var c Config
	if err := dec.Decode(&c); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the file is empty")
		}
		return nil, flattenYAMLError(err)
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// unknownFieldRE matches yaml.v3's message for a field that no struct
// field is tagged with.
var unknownFieldRE = regexp.MustCompile(
	`^line (\d+): field (\S+) not found in type \S+$`)

// flattenYAMLError turns yaml.v3's multi-line list of decoding errors
// into one line, and drops the Go type an unknown field was looked for in.
func flattenYAMLError(err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	parts := make([]string, 0, len(te.Errors))
	for _, e := range te.Errors {
		if m := unknownFieldRE.FindStringSubmatch(e); m != nil {
			e = fmt.Sprintf("line %s: field %s not found: lifeline has "+
				"no such option", m[1], m[2])
		}
		parts = append(parts, e)
	}
	return errors.New(strings.Join(parts, "; "))
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

func (c *Config) validate() error {
	var errs []error
	add := func(line int, format string, args ...any) {
		errs = append(errs, fmt.Errorf("line %d: "+format,
			append([]any{line}, args...)...))
	}
	if c.Repository.URL == "" {
		add(c.Repository.Line, "repository: url is missing "+
			"(file:///path or s3://bucket/prefix)")
	}
	if c.Compression != "" && c.Compression != "zstd" &&
		c.Compression != "gzip" {
		add(1, "compression %q is not supported: use zstd or gzip",
			c.Compression)
	}
	c.validateKeys(add)
	c.validateSources(add)
	c.validateNotify(add)
	c.validateDrills(add)
	c.validateCopies(add)
	c.validateChecks(add)
	c.validateSchedules(add)
	c.applyDefaults()
	return errors.Join(errs...)
}

func (c *Config) validateNotify(add func(int, string, ...any)) {
	for _, s := range append(append([]Secret{}, c.Notify.Slack...),
		c.Notify.Webhooks...) {
		if (s.Env == "") == (s.File == "") {
			add(s.Line, "notify: set exactly one of env and file for "+
				"each webhook URL")
		}
	}
}

// applyDefaults fills what the file leaves out.
func (c *Config) applyDefaults() {
	r := &c.Retention
	for _, d := range []struct {
		v   *Duration
		def time.Duration
	}{
		{&r.Incremental, 7 * 24 * time.Hour},
		{&r.Full, 30 * 24 * time.Hour},
		{&r.Complete, 90 * 24 * time.Hour},
		{&r.Grace, 24 * time.Hour},
	} {
		if *d.v == 0 {
			*d.v = Duration(d.def)
		}
	}
	s := &c.Schedule
	if s.Incremental == "" {
		s.Incremental = DefaultIncrementalSchedule
	}
	if s.Full == "" {
		s.Full = DefaultFullSchedule
	}
	if s.Complete == "" {
		s.Complete = DefaultCompleteSchedule
	}
	if s.PruneAfterFull == nil {
		yes := true
		s.PruneAfterFull = &yes
	}
	if c.Serve.Listen == "" {
		c.Serve.Listen = DefaultListen
	}
	if c.Serve.StopTimeout == 0 {
		c.Serve.StopTimeout = Duration(5 * time.Minute)
	}
	if c.Serve.LockWait == 0 {
		c.Serve.LockWait = Duration(30 * time.Minute)
	}
	if c.Drill.Schedule == "" {
		c.Drill.Schedule = DefaultDrillSchedule
	}
	if c.Drill.ExpiryTolerance == 0 {
		c.Drill.ExpiryTolerance = Duration(2 * time.Second)
	}
	if c.StateDir == "" {
		c.StateDir = defaultStateDir()
	}
	if c.Status.History == "" {
		c.Status.History = filepath.Join(c.StateDir, "status.db")
	}
	if c.Status.FreshnessMargin == 0 {
		c.Status.FreshnessMargin = Duration(15 * time.Minute)
	}
}

func (c *Config) validateKeys(add func(int, string, ...any)) {
	if len(c.Keys) == 0 {
		add(1, "keys: at least one key is needed; make one with "+
			"'lifeline keys generate'")
	}
	seen := map[string]bool{}
	for _, k := range c.Keys {
		switch {
		case !nameRE.MatchString(k.ID):
			add(k.Line, "key id %q is invalid: use letters, digits, "+
				"'-', '_' and '.'", k.ID)
		case seen[k.ID]:
			add(k.Line, "key id %q appears twice", k.ID)
		case (k.Env == "") == (k.File == ""):
			add(k.Line, "key %q: set exactly one of env and file", k.ID)
		}
		seen[k.ID] = true
	}
}

func (c *Config) validateSources(add func(int, string, ...any)) {
	seen := map[string]bool{}
	for _, s := range c.Sources {
		switch {
		case !nameRE.MatchString(s.Name):
			add(s.Line, "source name %q is invalid: use letters, "+
				"digits, '-', '_' and '.'", s.Name)
		case seen[s.Name]:
			add(s.Line, "source name %q appears twice", s.Name)
		}
		seen[s.Name] = true
		if msg := missingField(&s); msg != "" {
			add(s.Line, "source %q: %s", s.Name, msg)
		}
		if s.KeyspaceNotifications && s.Type != "redis" {
			add(s.Line, "source %q: keyspace_notifications is for redis "+
				"sources only, not %s", s.Name, s.Type)
		}
		nsSeen := map[string]bool{}
		for _, ns := range s.Namespaces {
			if ns.DB != nil && *ns.DB < 0 {
				add(ns.Line, "source %q: namespace %q: db %d is invalid: "+
					"use a database number from 0", s.Name, ns.Name, *ns.DB)
			}
			if ns.Name == "" || nsSeen[ns.Name] {
				add(ns.Line, "source %q: namespace name %q is empty "+
					"or appears twice", s.Name, ns.Name)
			}
			nsSeen[ns.Name] = true
		}
	}
}

// Source returns the source with the given name.
func (c *Config) Source(name string) (*Source, bool) {
	for i := range c.Sources {
		if c.Sources[i].Name == name {
			return &c.Sources[i], true
		}
	}
	return nil, false
}

// SourceNames returns the names of the configured sources.
func (c *Config) SourceNames() []string {
	var out []string
	for _, s := range c.Sources {
		out = append(out, s.Name)
	}
	return out
}

func defaultStateDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "lifeline")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "lifeline-state")
	}
	return filepath.Join(home, ".local", "state", "lifeline")
}

// validateDrills refuses a drill target that is missing, of another
// type, or the source itself: a drill cleans its target afterwards.
func (c *Config) validateDrills(add func(int, string, ...any)) {
	for _, s := range c.Sources {
		name := s.Drill.Target
		if name == "" {
			continue
		}
		t, ok := c.Source(name)
		switch {
		case !ok:
			add(s.Line, "source %q: drill target %q is not a configured "+
				"source", s.Name, name)
		case t.Type != s.Type:
			add(s.Line, "source %q: drill target %q is of type %s, not %s",
				s.Name, name, t.Type, s.Type)
		case sameStore(&s, t):
			add(s.Line, "source %q: drill target %q is the source itself; "+
				"drills write into and then empty their target, so use a "+
				"spare database, server or file", s.Name, name)
		}
	}
}

// sameStore reports whether two sources name the same data: the same
// source, Redis URL or bbolt path.
func sameStore(a, b *Source) bool {
	if a.Name == b.Name {
		return true
	}
	if a.Type == "bolt" {
		pa, _ := filepath.Abs(a.Path)
		pb, _ := filepath.Abs(b.Path)
		return pa == pb
	}
	ua, erra := url.Parse(a.URL)
	ub, errb := url.Parse(b.URL)
	if erra != nil || errb != nil {
		return a.URL == b.URL
	}
	db := func(u *url.URL) string {
		if d := strings.Trim(u.Path, "/"); d != "" {
			return d
		}
		return "0"
	}
	return strings.EqualFold(ua.Host, ub.Host) && db(ua) == db(ub)
}

// missingField returns what a source of its type lacks, or "".
func missingField(s *Source) string {
	switch s.Type {
	case "redis":
		if s.URL == "" {
			return "url is missing (redis://host:port/db)"
		}
	case "bolt":
		if s.Path == "" {
			return "path is missing"
		}
	case "cloudflare-kv":
		if s.Account == "" || s.TokenEnv == "" {
			return "account and token_env are needed"
		}
	case "etcd":
		if len(s.Endpoints) == 0 {
			return "endpoints are missing (http://host:2379)"
		}
	case "nats-kv", "http-snapshot":
		if s.URL == "" {
			return "url is missing"
		}
	case "s3-listing":
		if s.Bucket == "" || s.Endpoint == "" {
			return "bucket and endpoint are needed"
		}
	default:
		return fmt.Sprintf("unknown type %q: use one of %s", s.Type,
			strings.Join(SourceTypes, ", "))
	}
	return ""
}

func (c *Config) validateCopies(add func(int, string, ...any)) {
	seen := map[string]bool{}
	for _, cp := range c.Copies {
		switch {
		case !nameRE.MatchString(cp.Name):
			add(cp.Line, "copy name %q is invalid", cp.Name)
		case seen[cp.Name]:
			add(cp.Line, "copy name %q appears twice", cp.Name)
		case cp.Repository.URL == "":
			add(cp.Line, "copy %q: repository url is missing", cp.Name)
		case cp.Repository.URL == c.Repository.URL:
			add(cp.Line, "copy %q: the copy is the main repository "+
				"itself", cp.Name)
		case len(cp.Keys) == 0:
			add(cp.Line, "copy %q: keys are missing; a copy has its own "+
				"keyring", cp.Name)
		}
		seen[cp.Name] = true
	}
	for _, r := range append([]Repository{c.Repository}, copyRepos(c)...) {
		m := r.ObjectLock.Mode
		if m != "" && m != "governance" && m != "compliance" {
			add(r.Line, "object_lock mode %q is invalid: use governance "+
				"or compliance", m)
		}
	}
}

func copyRepos(c *Config) []Repository {
	var out []Repository
	for _, cp := range c.Copies {
		out = append(out, cp.Repository)
	}
	return out
}

// Copy returns the copy with the given name.
func (c *Config) Copy(name string) (*Copy, bool) {
	for i := range c.Copies {
		if c.Copies[i].Name == name {
			return &c.Copies[i], true
		}
	}
	return nil, false
}

// validateChecks refuses malformed checks, naming the line and, for a
// condition, what is wrong with it.
func (c *Config) validateChecks(add func(int, string, ...any)) {
	seen := map[string]bool{}
	for _, ch := range c.Status.Checks {
		switch {
		case !nameRE.MatchString(ch.ID):
			add(ch.Line, "status check id %q is invalid: use letters, "+
				"digits, '-', '_' and '.'", ch.ID)
		case seen[ch.ID]:
			add(ch.Line, "status check id %q appears twice", ch.ID)
		case ch.Type != "" && ch.Type != "http" && ch.Type != "tcp":
			add(ch.Line, "status check %q: type %q is invalid: use http "+
				"or tcp", ch.ID, ch.Type)
		case ch.URL == "":
			add(ch.Line, "status check %q: url is missing", ch.ID)
		}
		seen[ch.ID] = true
		for _, cond := range append(append([]string{}, ch.Conditions...),
			ch.DegradedConditions...) {
			if _, err := condition.Parse(cond); err != nil {
				add(ch.Line, "status check %q: %v", ch.ID, err)
			}
		}
	}
}

// validateSchedules checks the cron expressions of serve, so a typo is
// found when the config is loaded, not when serve starts.
func (c *Config) validateSchedules(add func(int, string, ...any)) {
	for _, sc := range []struct {
		field, spec string
		line        int
	}{
		{"schedule.incremental", c.Schedule.Incremental, c.Schedule.Line},
		{"schedule.full", c.Schedule.Full, c.Schedule.Line},
		{"schedule.complete", c.Schedule.Complete, c.Schedule.Line},
		{"drill.schedule", c.Drill.Schedule, c.Drill.Line},
	} {
		if sc.spec == "" {
			continue
		}
		if _, err := cron.ParseStandard(sc.spec); err != nil {
			add(sc.line, "%s %q is not a valid cron expression "+
				"(minute hour day-of-month month day-of-week, in UTC): %v",
				sc.field, sc.spec, err)
		}
	}
}
