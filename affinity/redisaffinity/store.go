package redisaffinity

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pgsession/pgsession/affinity"
)

// chunk is how many sessions one per-worker script handles. It bounds how
// long a script holds Redis (a few hundred microseconds), so other clients'
// commands are served between chunks of a large reroute.
const chunk = 64

// maxRetries bounds the retries of a script whose session changed worker
// between the reply that named it and the retry.
const maxRetries = 8

// Store is an affinity.Store in Redis alone. Entries are hashes that expire
// by Redis's own TTL, IdleTimeout after their last recorded access, so an
// idle entry is invisible before any sweep. Each worker's sessions are
// indexed in a sorted set scored by idle deadline: counting a worker is one
// ZCOUNT, and rerouting or deleting it visits that worker's sessions only.
type Store struct {
	client redis.UniversalClient
	cfg    affinity.Config
	opts   Options
	keys   keys
	idleMS int64
	granMS int64

	// touchRetryHook, if set (tests only), runs between a touch's first
	// script, which found a write due, and the retry that writes.
	touchRetryHook func()
}

var _ affinity.Store = (*Store)(nil)

// NewStore returns a Store on client. The client must have
// ContextTimeoutEnabled set (see Options.CallTimeout).
func NewStore(client redis.UniversalClient, opts Options) (*Store, error) {
	opts, err := opts.withDefaults()
	if err == nil {
		err = checkClient(client)
	}
	if err != nil {
		return nil, affinity.Op("new redis store", err)
	}
	cfg, err := opts.Config.WithDefaults()
	if err != nil {
		return nil, affinity.Op("new redis store", err)
	}
	opts.Config = cfg
	return &Store{
		client: client,
		cfg:    cfg,
		opts:   opts,
		keys:   newKeys(opts.KeyPrefix, cfg.App),
		idleMS: cfg.IdleTimeout.Milliseconds(),
		granMS: cfg.Granularity().Milliseconds(),
	}, nil
}

// Config returns the configuration in force.
func (s *Store) Config() affinity.Config { return s.cfg }

// run runs a script under the call timeout.
func (s *Store) run(ctx context.Context, script *redis.Script, keys []string, args ...any) (any, error) {
	return call(ctx, s.opts.CallTimeout, func(ctx context.Context) (any, error) {
		return script.Run(ctx, s.client, keys, args...).Result()
	})
}

// reply is a script's status and fields.
func reply(v any) (string, []any, error) {
	arr, ok := v.([]any)
	if !ok || len(arr) == 0 {
		return "", nil, fmt.Errorf("unexpected script reply %T", v)
	}
	status, _ := arr[0].(string)
	return status, arr[1:], nil
}

// parseEntry reads {w, u, v, c, la, pttl} from a script reply.
func (s *Store) parseEntry(k affinity.Key, f []any) (affinity.Entry, error) {
	if len(f) != 6 {
		return affinity.Entry{}, fmt.Errorf("entry reply has %d fields", len(f))
	}
	e := affinity.Entry{Key: k, App: s.cfg.App}
	var err error
	e.WorkerID, _ = f[0].(string)
	e.UserSub, _ = f[1].(string)
	ints := make([]int64, 4)
	for i, x := range f[2:] {
		switch x := x.(type) {
		case int64:
			ints[i] = x
		case string:
			if ints[i], err = strconv.ParseInt(x, 10, 64); err != nil {
				return affinity.Entry{}, fmt.Errorf("entry field %d: %w", i+2, err)
			}
		default:
			return affinity.Entry{}, fmt.Errorf("entry field %d has type %T", i+2, x)
		}
	}
	e.Version = ints[0]
	e.Created = time.UnixMilli(ints[1])
	e.LastAccess = time.UnixMilli(ints[2])
	e.ExpiresIn = time.Duration(ints[3]) * time.Millisecond
	if e.WorkerID == "" || e.ExpiresIn <= 0 {
		return affinity.Entry{}, affinity.ErrNotFound // expired between the read and PTTL
	}
	return e, nil
}

// Get returns the live entry of sessionID: one round trip.
func (s *Store) Get(ctx context.Context, sessionID string) (affinity.Entry, error) {
	if err := affinity.CheckSessionID(sessionID); err != nil {
		return affinity.Entry{}, affinity.Op("get", err)
	}
	k := affinity.KeyOf(sessionID)
	res, err := s.run(ctx, scriptGet, []string{s.keys.session(k)})
	if err != nil {
		return affinity.Entry{}, affinity.Op("get", err)
	}
	status, f, err := reply(res)
	if err == nil && status == "nf" {
		err = affinity.ErrNotFound
	}
	if err != nil {
		return affinity.Entry{}, affinity.Op("get", err)
	}
	e, err := s.parseEntry(k, f)
	return e, affinity.Op("get", err)
}

// Set pins sessionID to workerID: one round trip, two when the session
// moves from another worker.
func (s *Store) Set(ctx context.Context, sessionID, workerID, userSub string) (affinity.Entry, error) {
	if err := affinity.CheckPin(sessionID, workerID, userSub); err != nil {
		return affinity.Entry{}, affinity.Op("set", err)
	}
	k := affinity.KeyOf(sessionID)
	expected := workerID
	for range maxRetries {
		res, err := s.run(ctx, scriptSet,
			[]string{s.keys.session(k), s.keys.worker(workerID), s.keys.worker(expected), s.keys.workers()},
			k.String(), workerID, userSub, expected, s.idleMS)
		if err != nil {
			return affinity.Entry{}, affinity.Op("set", err)
		}
		status, f, err := reply(res)
		if err != nil {
			return affinity.Entry{}, affinity.Op("set", err)
		}
		if status == "retry" && len(f) == 1 {
			expected, _ = f[0].(string)
			continue
		}
		e, err := s.parseEntry(k, f)
		return e, affinity.Op("set", err)
	}
	return affinity.Entry{}, affinity.Op("set", errContended)
}

var errContended = errors.New("session changed worker on every retry")

// Touch records an access: one round trip within the granularity, two
// when a write is due (the first learns the worker whose index to update).
// Both scripts check that the session exists; neither ever creates it.
func (s *Store) Touch(ctx context.Context, sessionID string) (affinity.Entry, error) {
	if err := affinity.CheckSessionID(sessionID); err != nil {
		return affinity.Entry{}, affinity.Op("touch", err)
	}
	k := affinity.KeyOf(sessionID)
	expected := "" // no worker is named "": the first call only learns it
	for range maxRetries {
		res, err := s.run(ctx, scriptTouch, []string{s.keys.session(k), s.keys.worker(expected)},
			k.String(), expected, s.idleMS, s.granMS)
		if err != nil {
			return affinity.Entry{}, affinity.Op("touch", err)
		}
		status, f, err := reply(res)
		switch {
		case err != nil:
			return affinity.Entry{}, affinity.Op("touch", err)
		case status == "nf":
			return affinity.Entry{}, affinity.Op("touch", affinity.ErrNotFound)
		case status == "retry" && len(f) == 1:
			expected, _ = f[0].(string)
			if s.touchRetryHook != nil {
				s.touchRetryHook()
			}
			continue
		}
		e, err := s.parseEntry(k, f)
		return e, affinity.Op("touch", err)
	}
	return affinity.Entry{}, affinity.Op("touch", errContended)
}

// Delete removes the entry of sessionID: two round trips (the first learns
// the worker whose index to update).
func (s *Store) Delete(ctx context.Context, sessionID string) error {
	if err := affinity.CheckSessionID(sessionID); err != nil {
		return affinity.Op("delete", err)
	}
	k := affinity.KeyOf(sessionID)
	expected := ""
	for range maxRetries {
		res, err := s.run(ctx, scriptDelete, []string{s.keys.session(k), s.keys.worker(expected), s.keys.workers()},
			k.String(), expected)
		if err != nil {
			return affinity.Op("delete", err)
		}
		status, f, err := reply(res)
		switch {
		case err != nil:
			return affinity.Op("delete", err)
		case status == "nf":
			return affinity.Op("delete", affinity.ErrNotFound)
		case status == "retry" && len(f) == 1:
			expected, _ = f[0].(string)
			continue
		}
		return nil
	}
	return affinity.Op("delete", errContended)
}

// CountForWorker counts the live entries of workerID: one ZCOUNT.
func (s *Store) CountForWorker(ctx context.Context, workerID string) (int, error) {
	if err := affinity.CheckWorkerID(workerID); err != nil {
		return 0, affinity.Op("count for worker", err)
	}
	n, err := s.count(ctx, []string{workerID})
	return n, affinity.Op("count for worker", err)
}

// CountForWorkers counts the live entries of workerIDs: one ZCOUNT each,
// in one script.
func (s *Store) CountForWorkers(ctx context.Context, workerIDs []string) (int, error) {
	for _, w := range workerIDs {
		if err := affinity.CheckWorkerID(w); err != nil {
			return 0, affinity.Op("count for workers", err)
		}
	}
	n, err := s.count(ctx, uniq(workerIDs))
	return n, affinity.Op("count for workers", err)
}

func (s *Store) count(ctx context.Context, workerIDs []string) (int, error) {
	if len(workerIDs) == 0 {
		return 0, ctx.Err()
	}
	ks := make([]string, len(workerIDs))
	for i, w := range workerIDs {
		ks[i] = s.keys.worker(w)
	}
	res, err := s.run(ctx, scriptCount, ks)
	if err != nil {
		return 0, err
	}
	n, ok := res.(int64)
	if !ok {
		return 0, fmt.Errorf("unexpected count reply %T", res)
	}
	return int(n), nil
}

// members lists up to limit members of a worker index: any of them (live
// or not) when mode is "", else those scriptRange selects by mode.
// A negative limit lists them all.
func (s *Store) members(ctx context.Context, index, mode string, offsetMS, limit int64) ([]string, error) {
	if mode == "" {
		return call(ctx, s.opts.CallTimeout, func(ctx context.Context) ([]string, error) {
			return s.client.ZRange(ctx, index, 0, limit-1).Result()
		})
	}
	res, err := s.run(ctx, scriptRange, []string{index}, mode, offsetMS, limit)
	if err != nil {
		return nil, err
	}
	raw, ok := res.([]any)
	if !ok {
		return nil, fmt.Errorf("unexpected range reply %T", res)
	}
	out := make([]string, 0, len(raw))
	for _, m := range raw {
		if str, ok := m.(string); ok {
			out = append(out, str)
		}
	}
	return out, nil
}

// sessionKeys returns the session keys of index members (hex keys).
func (s *Store) sessionKeys(members []string) ([]string, error) {
	out := make([]string, len(members))
	for i, m := range members {
		k, err := affinity.ParseKey(m)
		if err != nil {
			return nil, fmt.Errorf("worker index holds %q: %w", m, err)
		}
		out[i] = s.keys.session(k)
	}
	return out, nil
}

// eachChunk lists the members of index chunk by chunk and hands each chunk
// to apply, which must remove them from the index, until the index is
// empty. Work is proportional to the index's size.
func (s *Store) eachChunk(ctx context.Context, index string, apply func(members, sessions []string) (int, error)) (int, error) {
	total := 0
	for {
		members, err := s.members(ctx, index, "", 0, chunk)
		if err != nil || len(members) == 0 {
			return total, err
		}
		sessions, err := s.sessionKeys(members)
		if err != nil {
			return total, err
		}
		n, err := apply(members, sessions)
		total += n
		if err != nil {
			return total, err
		}
	}
}

// RerouteWorker moves every live entry of oldWorkerID to newWorkerID, in
// chunks of 64 sessions per script; Redis serves other clients between
// chunks.
func (s *Store) RerouteWorker(ctx context.Context, oldWorkerID, newWorkerID string) (int, error) {
	if err := affinity.CheckWorkerID(oldWorkerID); err != nil {
		return 0, affinity.Op("reroute worker", err)
	}
	if err := affinity.CheckWorkerID(newWorkerID); err != nil {
		return 0, affinity.Op("reroute worker", err)
	}
	if oldWorkerID == newWorkerID {
		n, err := s.count(ctx, []string{oldWorkerID})
		return n, affinity.Op("reroute worker", err)
	}
	oldIdx, newIdx := s.keys.worker(oldWorkerID), s.keys.worker(newWorkerID)
	n, err := s.eachChunk(ctx, oldIdx, func(members, sessions []string) (int, error) {
		ks := append([]string{oldIdx, newIdx, s.keys.workers()}, sessions...)
		args := make([]any, 0, len(members)+2)
		args = append(args, oldWorkerID, newWorkerID)
		for _, m := range members {
			args = append(args, m)
		}
		res, err := s.run(ctx, scriptMove, ks, args...)
		if err != nil {
			return 0, err
		}
		moved, _ := res.(int64)
		return int(moved), nil
	})
	return n, affinity.Op("reroute worker", err)
}

// DeleteByWorker removes every entry of workerID, in chunks.
func (s *Store) DeleteByWorker(ctx context.Context, workerID string) (int, error) {
	if err := affinity.CheckWorkerID(workerID); err != nil {
		return 0, affinity.Op("delete by worker", err)
	}
	idx := s.keys.worker(workerID)
	n, err := s.eachChunk(ctx, idx, func(members, sessions []string) (int, error) {
		ks := append([]string{idx, s.keys.workers()}, sessions...)
		args := make([]any, 0, len(members)+1)
		args = append(args, workerID)
		for _, m := range members {
			args = append(args, m)
		}
		res, err := s.run(ctx, scriptDrop, ks, args...)
		if err != nil {
			return 0, err
		}
		dropped, _ := res.(int64)
		return int(dropped), nil
	})
	return n, affinity.Op("delete by worker", err)
}

// EntriesForWorker returns the live entries of workerID: one range of the
// worker's index, then its sessions' hashes, 64 sessions to a pipeline.
func (s *Store) EntriesForWorker(ctx context.Context, workerID string) ([]affinity.Entry, error) {
	if err := affinity.CheckWorkerID(workerID); err != nil {
		return nil, affinity.Op("entries for worker", err)
	}
	members, err := s.members(ctx, s.keys.worker(workerID), "live", 0, -1)
	if err != nil {
		return nil, affinity.Op("entries for worker", err)
	}
	out := make([]affinity.Entry, 0, len(members))
	for start := 0; start < len(members); start += chunk {
		part := members[start:min(start+chunk, len(members))]
		sessions, err := s.sessionKeys(part)
		if err != nil {
			return nil, affinity.Op("entries for worker", err)
		}
		cmds, err := call(ctx, s.opts.CallTimeout, func(ctx context.Context) ([]redis.Cmder, error) {
			return s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
				for _, key := range sessions {
					p.HMGet(ctx, key, "w", "u", "v", "c", "la")
					p.PTTL(ctx, key)
				}
				return nil
			})
		})
		if err != nil && !errors.Is(err, redis.Nil) {
			return nil, affinity.Op("entries for worker", err)
		}
		for i := range part {
			fields := cmds[2*i].(*redis.SliceCmd).Val()
			ttl := cmds[2*i+1].(*redis.DurationCmd).Val()
			if len(fields) != 5 || fields[0] == nil {
				continue // expired or deleted since the range
			}
			k, _ := affinity.ParseKey(part[i])
			e, err := s.parseEntry(k, append(fields, ttl.Milliseconds()))
			if err == nil && e.WorkerID == workerID {
				out = append(out, e)
			}
		}
	}
	return out, nil
}

// SweepIdle removes the entries idle for longer than maxIdle. Redis
// expires idle hashes by itself; the sweep also drops their index members
// and, for maxIdle shorter than IdleTimeout, deletes live idle entries.
// It visits every worker's idle members, in chunks.
func (s *Store) SweepIdle(ctx context.Context, maxIdle time.Duration) (int, error) {
	offset := (s.cfg.IdleTimeout - affinity.SweepCutoff(s.cfg, maxIdle)).Milliseconds()
	workers, err := call(ctx, s.opts.CallTimeout, func(ctx context.Context) ([]string, error) {
		return s.client.SMembers(ctx, s.keys.workers()).Result()
	})
	if err != nil {
		return 0, affinity.Op("sweep idle", err)
	}
	total := 0
	for _, w := range workers {
		idx := s.keys.worker(w)
		for {
			members, err := s.members(ctx, idx, "idle", offset, chunk)
			if err != nil {
				return total, affinity.Op("sweep idle", err)
			}
			if len(members) == 0 {
				break
			}
			sessions, err := s.sessionKeys(members)
			if err != nil {
				return total, affinity.Op("sweep idle", err)
			}
			ks := append([]string{idx, s.keys.workers()}, sessions...)
			args := make([]any, 0, len(members)+2)
			args = append(args, w, offset)
			for _, m := range members {
				args = append(args, m)
			}
			res, err := s.run(ctx, scriptSweep, ks, args...)
			if err != nil {
				return total, affinity.Op("sweep idle", err)
			}
			n, _ := res.(int64)
			total += int(n)
			if len(members) < chunk {
				break
			}
		}
	}
	return total, nil
}

func uniq(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
