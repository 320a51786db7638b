package main

import (
	"context"
	"log/slog"
	"sync"

	"github.com/lifeline-backup/lifeline/internal/backup"
	"github.com/lifeline-backup/lifeline/internal/config"
	"github.com/lifeline-backup/lifeline/internal/source"
)

// followers keeps open, between the backups of serve, the sources that
// follow their own changes (redis with keyspace_notifications), so an
// incremental reads only the keys changed since the previous backup.
type followers struct {
	log  *slog.Logger
	mu   sync.Mutex
	open map[string]source.Source
	// failed is the last error of each source that could not follow,
	// so a failure that repeats at every backup is logged once.
	failed map[string]string
}

func newFollowers(log *slog.Logger) *followers {
	return &followers{log: log, open: map[string]source.Source{},
		failed: map[string]string{}}
}

// warn logs that source s cannot follow its changes, unless it logged
// the same error last time.
func (fs *followers) warn(s string, err error) {
	if fs.failed[s] == err.Error() {
		return
	}
	fs.failed[s] = err.Error()
	fs.log.Warn("cannot follow keyspace notifications; incrementals "+
		"compare full reads until it can (tried again at each backup)",
		"source", s, "error", err.Error())
}

// start makes every source of srcs with keyspace_notifications follow its
// changes, unless it already does. A source that cannot is logged and
// tried again at the next backup, and until then its incrementals compare
// full reads.
func (fs *followers) start(ctx context.Context, srcs []*config.Source) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, s := range srcs {
		if !s.KeyspaceNotifications || fs.open[s.Name] != nil {
			continue
		}
		src, err := openSource(s)
		if err != nil {
			fs.warn(s.Name, err)
			continue
		}
		f, ok := src.(source.Follower)
		if !ok {
			src.Close()
			continue
		}
		if err := f.Follow(ctx); err != nil {
			src.Close()
			fs.warn(s.Name, err)
			continue
		}
		delete(fs.failed, s.Name)
		fs.log.Info("following keyspace notifications", "source", s.Name)
		fs.open[s.Name] = src
	}
}

// sources opens srcs for one backup, using the followed sources where
// there are some. The returned function closes only the others.
func (fs *followers) sources(ctx context.Context,
	srcs []*config.Source) ([]backup.Source, func(), error) {
	fs.start(ctx, srcs)
	fs.mu.Lock()
	defer fs.mu.Unlock()
	var targets []backup.Source
	var opened []source.Source
	closeOpened := func() {
		for _, s := range opened {
			s.Close()
		}
	}
	for _, s := range srcs {
		src := fs.open[s.Name]
		if src == nil {
			var err error
			if src, err = openSource(s); err != nil {
				closeOpened()
				return nil, nil, err
			}
			opened = append(opened, src)
		}
		targets = append(targets, backup.Source{Name: s.Name, Type: s.Type,
			Src: src})
	}
	return targets, closeOpened, nil
}

// check logs, once per distinct error, a followed source that could not
// make the cursor of its last read, such as after Redis restarted with
// CONFIG renamed. Its next incremental compares a full read.
func (fs *followers) check() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for name, src := range fs.open {
		f, ok := src.(interface{ FollowErr() error })
		if !ok {
			continue
		}
		if err := f.FollowErr(); err != nil {
			fs.warn(name, err)
			continue
		}
		delete(fs.failed, name)
	}
}

// close closes the followed sources.
func (fs *followers) close() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for name, src := range fs.open {
		src.Close()
		delete(fs.open, name)
	}
}
