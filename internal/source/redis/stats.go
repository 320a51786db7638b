package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	goredis "github.com/redis/go-redis/v9"
)

// unnotified are the commands that change keys without a keyspace
// notification, or change what Redis notifies: any call between two
// cursors of a follower expires the older one. Redis 7 counts CONFIG
// SET and MODULE LOAD as subcommands, and Redis 6 counts CONFIG and
// MODULE whole. XREADGROUP, XACK, XCLAIM and XAUTOCLAIM change a
// stream's consumer groups, which DUMP includes, without a
// notification (Redis 7.0).
var unnotified = []string{
	"flushdb", "flushall", "swapdb", "debug", "replicaof", "slaveof",
	"failover", "config|set", "config", "module|load", "module|loadex",
	"module", "pfdebug", "xreadgroup", "xack", "xclaim", "xautoclaim",
}

// serverStats is the server state a follower compares between two
// cursors to detect writes that may have gone unnotified.
type serverStats struct {
	runID   string
	role    string
	modules int
	// notify is the value of notify-keyspace-events.
	notify string
	// calls is the call count of every command in INFO commandstats.
	calls map[string]int64
}

// readStats reads the run id, role, modules, the call counts of every
// command and the notify-keyspace-events setting. It needs CONFIG GET,
// because only the setting shows that Redis still sends notifications.
func readStats(ctx context.Context, c *goredis.Client) (serverStats, error) {
	sections := []string{"server", "replication", "modules", "commandstats"}
	cmds := make([]*goredis.StringCmd, len(sections))
	var cfg *goredis.MapStringStringCmd
	_, err := c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		cfg = p.ConfigGet(ctx, "notify-keyspace-events")
		for i, s := range sections {
			cmds[i] = p.Info(ctx, s)
		}
		return nil
	})
	if err := cfg.Err(); err != nil {
		return serverStats{}, fmt.Errorf("read notify-keyspace-events "+
			"with CONFIG GET: %w; following keyspace notifications needs "+
			"CONFIG GET (ACL +config|get)", err)
	}
	if err != nil {
		return serverStats{}, fmt.Errorf("read server info: %w", err)
	}
	st := serverStats{calls: map[string]int64{},
		notify: cfg.Val()["notify-keyspace-events"]}
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
		calls, _, _ := strings.Cut(value, ",")
		n, err := strconv.ParseInt(strings.TrimPrefix(calls, "calls="),
			10, 64)
		if err == nil {
			st.calls[strings.TrimPrefix(name, "cmdstat_")] = n
		}
	}
}

// notifying reports whether the notify-keyspace-events setting sends a
// keyevent notification for every change of a key.
func (st serverStats) notifying() bool {
	return strings.Contains(st.notify, "E") &&
		(strings.Contains(st.notify, "A") ||
			containsAll(st.notify, notifyClasses))
}

// followable returns why a follower cannot trust the server's
// notifications, or nil when it can.
func (st serverStats) followable() error {
	if st.role != "master" {
		role := st.role
		if role == "slave" {
			role = "replica"
		}
		return fmt.Errorf("the server is a %s: a full resync from its "+
			"primary sends no notifications, so follow the primary", role)
	}
	if st.modules > 0 {
		return fmt.Errorf("the server has %d modules loaded, whose "+
			"writes may send no notifications", st.modules)
	}
	return nil
}

// changes returns why writes may have gone unnotified between prev and
// st, or "" when none can have.
func (st serverStats) changes(prev serverStats) string {
	switch {
	case st.runID != prev.runID:
		return "Redis restarted"
	case st.followable() != nil:
		return st.followable().Error()
	case st.modules != prev.modules:
		return "modules were loaded or unloaded"
	}
	// Only CONFIG RESETSTAT makes a call count go down. It would hide
	// the unnotified commands run before it.
	for cmd, calls := range prev.calls {
		if st.calls[cmd] < calls {
			return "CONFIG RESETSTAT reset the command statistics"
		}
	}
	// Redis 6 counts the CONFIG GET of each readStats under CONFIG.
	own := map[string]int64{}
	if _, ok := prev.calls["config"]; ok {
		own["config"] = 1
	}
	for _, cmd := range unnotified {
		if st.calls[cmd]-prev.calls[cmd] != own[cmd] {
			return fmt.Sprintf("%s ran, which sends no keyspace "+
				"notification", strings.ToUpper(cmd))
		}
	}
	return ""
}
