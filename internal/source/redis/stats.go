package redis

import (
	"context"
	"errors"
	"fmt"
	"strings"

	goredis "github.com/redis/go-redis/v9"
)

// unnotified are the commands that change keys without a keyspace
// notification, or change what Redis notifies: their call counts are
// compared at every cursor of a follower. Redis 7 counts CONFIG SET and
// MODULE LOAD as subcommands; Redis 6 counts CONFIG and MODULE whole.
var unnotified = []string{
	"flushdb", "flushall", "swapdb", "debug", "replicaof", "slaveof",
	"failover", "config|set", "config", "module|load", "module|loadex",
	"module",
}

// serverStats is what a follower compares between two cursors to learn
// whether writes may have gone unnotified.
type serverStats struct {
	runID   string
	role    string
	modules int
	calls   map[string]string
}

// readStats reads the run id, role, modules and the call counts of the
// unnotified commands.
func readStats(ctx context.Context, c *goredis.Client) (serverStats, error) {
	sections := []string{"server", "replication", "modules", "commandstats"}
	cmds := make([]*goredis.StringCmd, len(sections))
	_, err := c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, s := range sections {
			cmds[i] = p.Info(ctx, s)
		}
		return nil
	})
	if err != nil {
		return serverStats{}, fmt.Errorf("read server info: %w", err)
	}
	st := serverStats{calls: map[string]string{}}
	for _, cmd := range cmds {
		for _, line := range strings.Split(cmd.Val(), "\n") {
			st.parse(strings.TrimSpace(line))
		}
	}
	if st.runID == "" {
		return serverStats{}, errors.New("read server info: no run_id")
	}
	return st, nil
}

func (st *serverStats) parse(line string) {
	name, value, ok := strings.Cut(line, ":")
	if !ok {
		return
	}
	switch {
	case name == "run_id":
		st.runID = value
	case name == "role":
		st.role = value
	case name == "module":
		st.modules++
	case strings.HasPrefix(name, "cmdstat_"):
		cmd := strings.TrimPrefix(name, "cmdstat_")
		for _, u := range unnotified {
			if cmd == u {
				calls, _, _ := strings.Cut(value, ",")
				st.calls[cmd] = calls
			}
		}
	}
}

// followable reports why a follower cannot vouch for the server's
// notifications, or nil when it can.
func (st serverStats) followable() error {
	if st.role != "master" {
		return fmt.Errorf("the server is a %s: a full resync from its "+
			"primary sends no notifications, so follow the primary", st.role)
	}
	if st.modules > 0 {
		return fmt.Errorf("the server has %d modules loaded, whose "+
			"writes may send no notifications", st.modules)
	}
	return nil
}

// same reports whether no unnotified write can have happened between
// st and o.
func (st serverStats) same(o serverStats) bool {
	if st.runID != o.runID || st.role != o.role ||
		st.modules != o.modules || len(st.calls) != len(o.calls) {
		return false
	}
	for cmd, calls := range st.calls {
		if o.calls[cmd] != calls {
			return false
		}
	}
	return o.followable() == nil
}
