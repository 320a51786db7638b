package main

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/lifeline-backup/lifeline/bench/internal/benchenv"
)

// benchCase is one line of the report: one lifeline operation and the
// peer operation it is compared with. Cases run in the order of cases
// and may use what earlier ones left behind, such as the RDB file and
// the backup.
type benchCase struct {
	Name string
	// Peer names the operation lifeline is compared with.
	Peer string
	// MaxRatio is the target for lifeline's time over the peer's.
	MaxRatio float64

	runPeer     func(ctx context.Context, h *harness) (measurement, error)
	runLifeline func(ctx context.Context, h *harness) (measurement, error)
	// check, when not nil, verifies lifeline's result. Its error is
	// reported, and the benchmark exits with status 1.
	check func(ctx context.Context, h *harness) error
}

// maxPeakMiB is the target for lifeline's peak RSS in any case.
const maxPeakMiB = 300

// cases lists the cases in the order they run. Add a case here, with
// the peer it is measured against.
var cases = []benchCase{
	{
		Name:        "full backup",
		Peer:        "redis-cli --rdb",
		MaxRatio:    2,
		runPeer:     peerBackup,
		runLifeline: lifelineBackup,
	},
	{
		Name:        "restore",
		Peer:        "redis-server loading the RDB",
		MaxRatio:    3,
		runPeer:     peerRestore,
		runLifeline: lifelineRestore,
		check:       checkRestore,
	},
	{
		Name:        "incremental, 1% changed, serve",
		Peer:        "lifeline full backup",
		MaxRatio:    1.0 / 3,
		runPeer:     fullBackupAsPeer,
		runLifeline: lifelineServeIncremental,
		check:       checkServeIncremental,
	},
	{
		// Without serve no process follows the keyspace notifications,
		// so the incremental compares a full read with the change
		// index. It has no target of its own.
		Name:        "incremental, 1% changed, backup command",
		Peer:        "lifeline full backup",
		runPeer:     peerIncremental,
		runLifeline: lifelineIncremental,
	},
}

// changedShare is the share of keys an incremental backup finds changed.
const changedShare = 0.01

func changedKeys(h *harness) int { return int(float64(h.keys) * changedShare) }

// fullBackupAsPeer returns the full backup's measurement as the peer:
// the target of an incremental is a share of a full backup's time.
func fullBackupAsPeer(_ context.Context, h *harness) (measurement,
	error) {
	return h.full, nil
}

// peerIncremental changes 1% of the source's keys, untimed, and returns
// the full backup's measurement as the peer.
func peerIncremental(ctx context.Context, h *harness) (measurement,
	error) {
	if err := changeKeys(ctx, h, 99); err != nil {
		return measurement{}, err
	}
	return h.full, nil
}

// changeKeys gives the first 1% of the source's keys new values, types
// and expiries drawn with seed. The same cities keep the key names, so
// the keys are deleted first.
func changeKeys(ctx context.Context, h *harness, seed uint64) error {
	n := changedKeys(h)
	pipe := h.source.client.Pipeline()
	for i := range n {
		c := h.cities[i%len(h.cities)]
		pipe.Del(ctx, "city:"+c.Country+":"+strconv.Itoa(i))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("change keys: %w", err)
	}
	if err := loadRange(ctx, h.source.client, 0, n, h.cities, seed); err != nil {
		return fmt.Errorf("change keys: %w", err)
	}
	return nil
}

// lifelineIncremental runs an incremental backup of the source.
func lifelineIncremental(ctx context.Context, h *harness) (measurement,
	error) {
	return h.runLifeline(ctx, h.source, "backup", "--tier",
		"incremental", "--source", h.source.name, "--log-format", "json")
}

// runCase runs the peer and then lifeline, and compares them.
func (h *harness) runCase(ctx context.Context, c benchCase) (result,
	error) {
	peer, err := c.runPeer(ctx, h)
	if err != nil {
		return result{}, err
	}
	benchenv.Progress("  peer %s: %.2fs", c.Peer, peer.Wall.Seconds())
	ll, err := c.runLifeline(ctx, h)
	if err != nil {
		return result{}, err
	}
	benchenv.Progress("  lifeline: %.2fs, peak RSS %.0f MiB",
		ll.Wall.Seconds(), mib(ll.MaxRSS))
	r := newResult(c, ll, peer)
	if c.check != nil {
		if err := c.check(ctx, h); err != nil {
			r.CheckError = err.Error()
		}
	}
	return r, nil
}

// peerBackup dumps the source with redis-cli --rdb into h.rdbPath.
func peerBackup(ctx context.Context, h *harness) (measurement, error) {
	before, err := h.source.cpuTime()
	if err != nil {
		return measurement{}, err
	}
	cmd := exec.CommandContext(ctx, "redis-cli", "-p",
		strconv.Itoa(h.source.port), "--rdb", h.rdbPath)
	m, err := runMeasured(cmd)
	if err != nil {
		return m, fmt.Errorf("redis-cli --rdb: %w", err)
	}
	// The fork that wrote the RDB data counts in the server's CPU time
	// only once the server has reaped it.
	if err := h.source.waitNoChild(ctx); err != nil {
		return m, err
	}
	after, err := h.source.cpuTime()
	m.ServerCPU = after - before
	return m, err
}

// lifelineBackup runs a full backup of the source.
func lifelineBackup(ctx context.Context, h *harness) (measurement,
	error) {
	m, err := h.runLifeline(ctx, h.source, "backup", "--tier", "full",
		"--log-format", "json")
	h.full = m
	return m, err
}

// peerRestore starts a server on the RDB file of peerBackup and
// measures from the start of the process until the server has loaded
// the file and accepts commands. The server is stopped afterwards to free its
// memory.
func peerRestore(ctx context.Context, h *harness) (measurement, error) {
	s, err := startServer("peer", filepath.Dir(h.rdbPath),
		"--dbfilename", filepath.Base(h.rdbPath))
	if err != nil {
		return measurement{}, err
	}
	defer s.stop()
	wall, err := s.waitReady(ctx, 10*time.Minute)
	if err != nil {
		return measurement{}, err
	}
	m := measurement{Wall: wall}
	if m.ServerCPU, err = s.cpuTime(); err != nil {
		return m, err
	}
	if err := sameSize(ctx, h.source, s); err != nil {
		return m, fmt.Errorf("peer restore: %w", err)
	}
	return m, nil
}

// lifelineRestore starts an empty target server, adds it to the config
// and restores the latest backup into it.
func lifelineRestore(ctx context.Context, h *harness) (measurement,
	error) {
	t, err := h.startServer(ctx, "target")
	if err != nil {
		return measurement{}, err
	}
	h.target = t
	err = writeConfig(h.config, h.repoDir, h.source, h.target)
	if err != nil {
		return measurement{}, err
	}
	return h.runLifeline(ctx, t, "restore", "--snapshot", "latest",
		"--to", t.name, "--log-format", "json")
}

// checkRestore compares the number of keys in the target with the
// source's. No key of the benchmark expires within the hour, so the
// two must match.
func checkRestore(ctx context.Context, h *harness) error {
	return sameSize(ctx, h.source, h.target)
}

func sameSize(ctx context.Context, want, got *server) error {
	n, err := want.dbSize(ctx)
	if err != nil {
		return err
	}
	m, err := got.dbSize(ctx)
	if err != nil {
		return err
	}
	if m != n {
		return fmt.Errorf("%s server has %d keys, expected %d as on "+
			"the %s server", got.name, m, n, want.name)
	}
	return nil
}
