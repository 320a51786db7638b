package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/lifeline-backup/lifeline/internal/blob"
	"github.com/lifeline-backup/lifeline/internal/blob/local"
	"github.com/lifeline-backup/lifeline/internal/blob/s3"
	"github.com/lifeline-backup/lifeline/internal/codec"
	"github.com/lifeline-backup/lifeline/internal/config"
	"github.com/lifeline-backup/lifeline/internal/notify"
	"github.com/lifeline-backup/lifeline/internal/repo"
	"github.com/lifeline-backup/lifeline/internal/retention"
	"github.com/lifeline-backup/lifeline/internal/seal"
	"github.com/lifeline-backup/lifeline/internal/source"
	"github.com/lifeline-backup/lifeline/internal/source/bolt"
	"github.com/lifeline-backup/lifeline/internal/source/cfkv"
	"github.com/lifeline-backup/lifeline/internal/source/etcd"
	"github.com/lifeline-backup/lifeline/internal/source/httpsnap"
	"github.com/lifeline-backup/lifeline/internal/source/natskv"
	"github.com/lifeline-backup/lifeline/internal/source/redis"
	"github.com/lifeline-backup/lifeline/internal/source/s3list"
)

func (env *cmdEnv) loadConfig() (*config.Config, error) {
	c, err := config.Load(config.Resolve(env.configPath))
	if err == nil && env.appendOnly {
		c.Repository.AppendOnly = true
	}
	return c, err
}

// openBaseStore opens the blob store a repository URL names.
func openBaseStore(ctx context.Context, rc config.Repository) (blob.Store,
	error) {
	u, err := url.Parse(rc.URL)
	if err != nil {
		return nil, fmt.Errorf("repository url %q is invalid: %w", rc.URL, err)
	}
	switch u.Scheme {
	case "file":
		if rc.ObjectLock.Mode != "" {
			return nil, fmt.Errorf("repository %s: object_lock needs an "+
				"s3:// repository in a bucket with Object Lock enabled; "+
				"remove object_lock for a local folder", rc.URL)
		}
		return local.New(u.Path)
	case "s3":
		return s3.New(ctx, s3.Config{
			Bucket:      u.Host,
			Prefix:      strings.Trim(u.Path, "/"),
			Endpoint:    rc.Endpoint,
			Region:      rc.Region,
			PathStyle:   rc.PathStyle,
			AccessKeyID: os.Getenv(envOr(rc.AccessKeyEnv, "AWS_ACCESS_KEY_ID")),
			SecretAccessKey: os.Getenv(envOr(rc.SecretKeyEnv,
				"AWS_SECRET_ACCESS_KEY")),
			LockMode: rc.ObjectLock.Mode,
		})
	case "":
		return nil, fmt.Errorf("repository url %q has no scheme: use "+
			"file:///path or s3://bucket/prefix", rc.URL)
	}
	return nil, fmt.Errorf("repository url %q: scheme %q is not "+
		"supported: use file or s3", rc.URL, u.Scheme)
}

func envOr(name, def string) string {
	if name != "" {
		return name
	}
	return def
}

// loadKeyring reads every configured key from the environment or files.
func loadKeyring(c *config.Config) (*seal.Keyring, error) {
	return loadKeys(c.Keys)
}

// loadKeys reads keys from the environment or files.
func loadKeys(list []config.Key) (*seal.Keyring, error) {
	var keys []seal.Key
	for _, k := range list {
		var key seal.Key
		var err error
		if k.Env != "" {
			key, err = seal.KeyFromEnv(k.ID, k.Env)
		} else {
			key, err = seal.KeyFromFile(k.ID, k.File)
		}
		if err != nil {
			return nil, err
		}
		keys = append(keys, key)
	}
	return seal.NewKeyring(keys...)
}

// openRepo opens the configured repository with the configured keyring.
func openRepo(ctx context.Context, c *config.Config) (*repo.Repo, error) {
	keys, err := loadKeyring(c)
	if err != nil {
		return nil, err
	}
	store, err := openStore(ctx, c.Repository)
	if err != nil {
		return nil, err
	}
	r, err := repo.Open(ctx, store, keys)
	if err != nil {
		return nil, err
	}
	r.SetRetention(retainFunc(c.Repository, c.Retention))
	return r, nil
}

// defaultLockMargin is how long objects stay locked past their tier's
// retention when object_lock sets no margin. Without a margin, a server
// clock ahead of lifeline's would end locks before the retention ends.
const defaultLockMargin = 24 * time.Hour

// retainFunc returns how long after its start a backup of each tier
// stays locked in a repository with object_lock: the tier's retention
// plus the margin. It returns nil without object_lock.
func retainFunc(rc config.Repository,
	rt config.Retention) func(repo.Tier) time.Duration {
	if rc.ObjectLock.Mode == "" {
		return nil
	}
	margin := rc.ObjectLock.Margin.Std()
	if margin == 0 {
		margin = defaultLockMargin
	}
	policy := retention.Policy{Incremental: rt.Incremental.Std(),
		Full: rt.Full.Std(), Complete: rt.Complete.Std()}
	return func(t repo.Tier) time.Duration { return policy.For(t) + margin }
}

// openStore opens the blob store a repository URL names, append-only
// when the config says so.
func openStore(ctx context.Context, rc config.Repository) (blob.Store, error) {
	s, err := openBaseStore(ctx, rc)
	if err != nil {
		return nil, err
	}
	s = blob.Retry(s, blob.RetryOptions{})
	if rc.AppendOnly {
		s = blob.AppendOnly(s)
	}
	return s, nil
}

func compression(c *config.Config) codec.Compression {
	comp, _ := codec.ParseCompression(c.Compression)
	return comp
}

// openSource builds the adapter for one configured source.
func openSource(s *config.Source) (source.Source, error) {
	switch s.Type {
	case "redis":
		var nss []redis.Namespace
		for _, ns := range s.Namespaces {
			db := -1
			if ns.DB != nil {
				db = *ns.DB
			}
			nss = append(nss, redis.Namespace{Name: ns.Name,
				Match: ns.Match, DB: db})
		}
		return redis.New(redis.Config{Name: s.Name, URL: s.URL,
			Namespaces: nss})
	case "bolt":
		var buckets []string
		for _, ns := range s.Namespaces {
			buckets = append(buckets, ns.Name)
		}
		return bolt.New(bolt.Config{Name: s.Name, Path: s.Path,
			Buckets: buckets, Create: true})
	case "cloudflare-kv":
		token, err := envSecret(s, s.TokenEnv)
		if err != nil {
			return nil, err
		}
		var nss []string
		for _, ns := range s.Namespaces {
			nss = append(nss, ns.Name)
		}
		return cfkv.New(cfkv.Config{Name: s.Name, AccountID: s.Account,
			Token: token, Namespaces: nss, BaseURL: s.URL})
	case "etcd":
		var password string
		if s.Username != "" {
			var err error
			if password, err = envSecret(s, s.TokenEnv); err != nil {
				return nil, err
			}
		}
		var nss []etcd.Namespace
		for _, ns := range s.Namespaces {
			nss = append(nss, etcd.Namespace{Name: ns.Name, Prefix: ns.Prefix})
		}
		if len(nss) == 0 {
			nss = []etcd.Namespace{{Name: "all"}}
		}
		return etcd.New(etcd.Config{Name: s.Name, Endpoints: s.Endpoints,
			Namespaces: nss, Username: s.Username, Password: password})
	case "nats-kv":
		var token string
		if s.TokenEnv != "" {
			var err error
			if token, err = envSecret(s, s.TokenEnv); err != nil {
				return nil, err
			}
		}
		var buckets []string
		for _, ns := range s.Namespaces {
			buckets = append(buckets, ns.Name)
		}
		return natskv.New(natskv.Config{Name: s.Name, URL: s.URL,
			Buckets: buckets, CredsFile: s.Path, Token: token})
	case "http-snapshot":
		token, err := envSecret(s, s.TokenEnv)
		if err != nil {
			return nil, err
		}
		return httpsnap.New(httpsnap.Config{Name: s.Name, URL: s.URL,
			Token: token, Namespace: firstNamespace(s)})
	case "s3-listing":
		return s3list.New(s3list.Config{Name: s.Name, Bucket: s.Bucket,
			Prefix: s.Prefix, Endpoint: s.Endpoint, Region: s.Region,
			PathStyle:       s.PathStyle,
			AccessKeyID:     os.Getenv("AWS_ACCESS_KEY_ID"),
			SecretAccessKey: os.Getenv("AWS_SECRET_ACCESS_KEY")})
	}
	return nil, fmt.Errorf("source %q: unknown type %q", s.Name, s.Type)
}

// envSecret reads a source's secret from the environment variable name.
func envSecret(s *config.Source, name string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("source %q: token_env is missing", s.Name)
	}
	v := strings.TrimSpace(os.Getenv(name))
	if v == "" {
		return "", fmt.Errorf("source %q: environment variable %s is not "+
			"set", s.Name, name)
	}
	return v, nil
}

// firstNamespace returns the name of the source's first configured
// namespace, or "".
func firstNamespace(s *config.Source) string {
	if len(s.Namespaces) == 0 {
		return ""
	}
	return s.Namespaces[0].Name
}

// newLogger returns the logger for a command: JSON lines on standard
// output, or lines for a person when the format is text, or auto and
// standard output is a terminal.
func (env *cmdEnv) newLogger() (*slog.Logger, error) {
	format := env.logFormat
	if format == "auto" || format == "" {
		format = "json"
		if isTerminal(env.stdout) {
			format = "text"
		}
	}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(env.stdout, nil)), nil
	case "text":
		return newTextLogger(env.stdout), nil
	}
	return nil, usagef("--log-format %q is invalid: use text, "+
		"json or auto", env.logFormat)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// quietRedisLog drops go-redis's own log lines (failed dials and the
// like): the errors reach the command as values, and it reports them once.
type quietRedisLog struct{}

func (quietRedisLog) Printf(context.Context, string, ...any) {}

func init() { goredis.SetLogger(quietRedisLog{}) }

// session is what backup and drill open before they work: the logger,
// the config, the selected sources, the repository and the notifiers.
type session struct {
	log    *slog.Logger
	cfg    *config.Config
	srcs   []*config.Source
	repo   *repo.Repo
	notify *notify.Dispatcher
}

// openSession opens a session for the named sources. With no names it
// takes every source that all passes through, so a command can leave
// some out, and log why.
func (env *cmdEnv) openSession(ctx context.Context, names []string,
	all func(*slog.Logger, []*config.Source) []*config.Source) (*session,
	error) {
	log, err := env.newLogger()
	if err != nil {
		return nil, err
	}
	c, err := env.loadConfig()
	if err != nil {
		return nil, err
	}
	srcs, err := selectSources(c, names)
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		srcs = all(log, srcs)
	}

	r, err := openRepo(ctx, c)
	if err != nil {
		return nil, err
	}
	d, err := newDispatcher(c, r, log)
	if err != nil {
		return nil, err
	}
	return &session{log: log, cfg: c, srcs: srcs, repo: r, notify: d}, nil
}
