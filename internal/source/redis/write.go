package redis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/lifeline-backup/lifeline/internal/source"
)

// Write restores records into the namespace's database with RESTORE and
// an absolute expiry (ABSTTL), one pipeline per batch of records.
//
// Records that expired at or before now are skipped and counted. With
// KeepExisting, a key that already exists is left alone and reported in
// Conflicts. With Replace, RESTORE overwrites it and tombstones delete
// their key with DEL. On error the result counts what the earlier
// batches did. Errors name the record by its index in records, never by
// key or value.
func (s *Source) Write(ctx context.Context, namespace string,
	records []source.Record, mode source.WriteMode,
	now time.Time) (source.WriteResult, error) {
	var res source.WriteResult
	ns, err := s.namespace(namespace)
	if err != nil {
		return res, err
	}
	c := s.client(ns.DB)
	for start := 0; start < len(records); start += s.batch {
		end := min(start+s.batch, len(records))
		r, err := writeBatch(ctx, c, records[start:end], start, mode, now)
		res.Add(r)
		if err != nil {
			return res, fmt.Errorf("write namespace %q to %s: %w",
				ns.Name, s.Describe(), err)
		}
	}
	return res, nil
}

// pending is a command sent for the record at index in the caller's
// slice.
type pending struct {
	index   int
	key     []byte
	cmd     *goredis.Cmd
	deleted bool
}

// writeBatch sends the commands for records in one pipeline. offset is
// the index of records[0] in the caller's slice, used in errors.
func writeBatch(ctx context.Context, c *goredis.Client,
	records []source.Record, offset int, mode source.WriteMode,
	now time.Time) (source.WriteResult, error) {
	var res source.WriteResult
	sent := make([]pending, 0, len(records))
	p := c.Pipeline()
	for i := range records {
		rec := &records[i]
		var cmd *goredis.Cmd
		switch {
		case rec.Deleted && mode != source.Replace:
			continue
		case rec.Deleted:
			cmd = p.Do(ctx, "DEL", rec.Key)
		case rec.Expired(now):
			res.Expired++
			continue
		default:
			cmd = p.Do(ctx, restoreArgs(rec, mode)...)
		}
		sent = append(sent, pending{offset + i, rec.Key, cmd, rec.Deleted})
	}
	if len(sent) == 0 {
		return res, nil
	}

	// Exec returns the first failed command's error, and BUSYKEY
	// replies are expected with KeepExisting, so each command is
	// checked on its own.
	p.Exec(ctx)
	for _, pc := range sent {
		if err := tally(&res, pc, mode); err != nil {
			return res, err
		}
	}
	return res, nil
}

func restoreArgs(rec *source.Record, mode source.WriteMode) []any {
	var ttl int64
	if !rec.ExpiresAt.IsZero() {
		ttl = rec.ExpiresAt.UnixMilli()
	}
	args := []any{"RESTORE", rec.Key, ttl, rec.Value, "ABSTTL"}
	if mode == source.Replace {
		args = append(args, "REPLACE")
	}
	return args
}

// tally adds the outcome of one command to res.
func tally(res *source.WriteResult, pc pending,
	mode source.WriteMode) error {
	err := pc.cmd.Err()
	switch {
	case err == nil && pc.deleted:
		res.Deleted++
	case err == nil:
		res.Written++
	case mode == source.KeepExisting && isBusyKey(err):
		res.Conflicts = append(res.Conflicts, pc.key)
	case pc.deleted:
		return fmt.Errorf("delete record %d: %w", pc.index, err)
	default:
		return fmt.Errorf("restore record %d: %w", pc.index, err)
	}
	return nil
}

// isBusyKey reports whether err is the BUSYKEY reply that RESTORE sends
// when the key exists and REPLACE was not given.
func isBusyKey(err error) bool {
	var redisErr goredis.Error
	if !errors.As(err, &redisErr) {
		return false
	}
	return strings.HasPrefix(redisErr.Error(), "BUSYKEY ")
}

// WriteConcurrency lets a restore run three pipelines at once, each on
// its own connection, so Redis works while the next batch is decoded.
func (s *Source) WriteConcurrency() int { return 3 }
