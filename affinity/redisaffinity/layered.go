package redisaffinity

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pgsession/pgsession/affinity"
)

const (
	// tombstoneTTL is how long a tombstone keeps stale fills out.
	tombstoneTTL = time.Minute
	// fillWindow is the longest a read may take, from the generation it
	// captured to its fill, for the fill to be sent: well inside
	// tombstoneTTL, so no fill can outlive the tombstone meant to stop it.
	fillWindow = 10 * time.Second
)

// Layered is an affinity.Store that keeps a Redis cache in front of a
// primary Store (PostgreSQL in production), which stays the source of
// truth: every write goes to the primary first, per-worker reads (counts,
// entry lists) always do, and Get and Touch are answered from the cache
// when it holds a valid copy.
//
// The cache never serves what the primary no longer says: fills carry the
// generation their read began under and are refused after any
// invalidation they could have missed; a delete leaves a tombstone; a
// reroute or per-worker delete bumps the worker's epoch, making all its
// copies stale in O(1); copies live no longer than the entry's remaining
// idle time, nor than Options.CacheMaxAge. When Redis fails or stops
// answering (each call is bounded by Options.CallTimeout), the store sends
// everything to the primary for Options.RetryAfter; invalidations it could
// not make are paid, when Redis is back, by a flush before the cache is
// used again.
type Layered struct {
	primary affinity.Store
	client  redis.UniversalClient
	cfg     affinity.Config
	opts    Options
	keys    keys

	// afterPrimary, if set (tests only), runs after a Get or Touch has
	// consulted the cache and read the primary, before it fills the cache.
	afterPrimary func(op string)
	// beforePrimaryTouch, if set (tests only), runs after a Touch consulted
	// the cache and before it touches the primary.
	beforePrimaryTouch func()

	mu        sync.Mutex
	owed      uint64    // guarded by mu; invalidations skipped or failed so far
	paid      uint64    // guarded by mu; how many of them the last flush covered
	downUntil time.Time // guarded by mu; bypass the cache until then
}

var _ affinity.Store = (*Layered)(nil)

// NewLayered returns a store caching primary in Redis. It uses primary's
// Config (App, IdleTimeout, TouchGranularity); opts.Config is ignored. The
// client must have ContextTimeoutEnabled set (see Options.CallTimeout).
func NewLayered(primary affinity.Store, client redis.UniversalClient, opts Options) (*Layered, error) {
	if primary == nil {
		return nil, affinity.Op("new layered store", fmt.Errorf("%w: nil primary", affinity.ErrInvalidConfig))
	}
	opts, err := opts.withDefaults()
	if err == nil {
		err = checkClient(client)
	}
	if err != nil {
		return nil, affinity.Op("new layered store", err)
	}
	cfg := primary.Config()
	opts.Config = cfg
	return &Layered{
		primary: primary,
		client:  client,
		cfg:     cfg,
		opts:    opts,
		keys:    newKeys(opts.KeyPrefix, cfg.App),
	}, nil
}

// Config returns the primary's configuration.
func (s *Layered) Config() affinity.Config { return s.cfg }

// run runs a cache script under the call timeout.
func (s *Layered) run(ctx context.Context, script *redis.Script, keys []string, args ...any) (any, error) {
	return call(ctx, s.opts.CallTimeout, func(ctx context.Context) (any, error) {
		return script.Run(ctx, s.client, keys, args...).Result()
	})
}

// usable reports whether the cache may be used now: not within RetryAfter
// of a failure, and with every invalidation owed paid by a flush.
func (s *Layered) usable(ctx context.Context) bool {
	s.mu.Lock()
	if time.Now().Before(s.downUntil) {
		s.mu.Unlock()
		return false
	}
	owed, paid := s.owed, s.paid
	s.mu.Unlock()
	if owed == paid {
		return true
	}
	if _, err := s.run(ctx, cacheFlush, []string{s.keys.gen()}); err != nil {
		s.failed()
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.paid = max(s.paid, owed)
	return s.owed == s.paid
}

// failed bypasses the cache for RetryAfter.
func (s *Layered) failed() {
	s.mu.Lock()
	s.downUntil = time.Now().Add(s.opts.RetryAfter)
	s.mu.Unlock()
}

// owe records an invalidation that could not be made: the cache must be
// flushed before it is used again.
func (s *Layered) owe() {
	s.mu.Lock()
	s.owed++
	s.mu.Unlock()
}

// invalidate puts tombstones in place of the copies of keys.
func (s *Layered) invalidate(ctx context.Context, ks ...affinity.Key) {
	if len(ks) == 0 {
		return
	}
	if !s.usable(ctx) {
		s.owe()
		return
	}
	for start := 0; start < len(ks); start += chunk {
		part := ks[start:min(start+chunk, len(ks))]
		names := make([]string, 0, len(part)+1)
		names = append(names, s.keys.gen())
		for _, k := range part {
			names = append(names, s.keys.cached(k))
		}
		if _, err := s.run(ctx, cacheTomb, names, tombstoneTTL.Milliseconds()); err != nil {
			s.failed()
			s.owe()
			return
		}
	}
}

// bump makes every copy of workers stale.
func (s *Layered) bump(ctx context.Context, workers ...string) {
	if !s.usable(ctx) {
		s.owe()
		return
	}
	args := make([]any, len(workers))
	for i, w := range workers {
		args[i] = w
	}
	if _, err := s.run(ctx, cacheBump, []string{s.keys.gen()}, args...); err != nil {
		s.failed()
		s.owe()
	}
}

// lookup is a cache read: a copy, or the generation to fill under.
type lookup struct {
	ok    bool // the cache answered
	hit   bool
	quiet bool // a touch need not reach the primary
	gen   int64
	at    time.Time // when gen was read (local monotonic clock)
	entry affinity.Entry
}

func (s *Layered) lookup(ctx context.Context, k affinity.Key) lookup {
	if !s.usable(ctx) {
		return lookup{}
	}
	res, err := s.run(ctx, cacheLookup, []string{s.keys.cached(k), s.keys.gen()})
	if err != nil {
		s.failed()
		return lookup{}
	}
	l, err := s.parseLookup(k, res)
	if err != nil {
		return lookup{}
	}
	return l
}

func (s *Layered) parseLookup(k affinity.Key, res any) (lookup, error) {
	arr, ok := res.([]any)
	if !ok || len(arr) < 2 {
		return lookup{}, fmt.Errorf("unexpected lookup reply %T", res)
	}
	l := lookup{ok: true, at: time.Now()}
	var err error
	if l.gen, err = toInt(arr[1]); err != nil {
		return lookup{}, err
	}
	if hit, _ := arr[0].(int64); hit != 1 {
		return l, nil
	}
	if len(arr) != 9 {
		return lookup{}, fmt.Errorf("lookup reply has %d fields", len(arr))
	}
	e := affinity.Entry{Key: k, App: s.cfg.App}
	e.WorkerID, _ = arr[2].(string)
	e.UserSub, _ = arr[3].(string)
	var nums [4]int64
	for i := range nums {
		if nums[i], err = toInt(arr[4+i]); err != nil {
			return lookup{}, err
		}
	}
	e.Version = nums[0]
	e.Created = time.UnixMicro(nums[1])
	e.LastAccess = time.UnixMicro(nums[2])
	e.ExpiresIn = time.Duration(nums[3]) * time.Millisecond
	quiet, _ := arr[8].(int64)
	l.hit, l.quiet, l.entry = true, quiet == 1, e
	return l, nil
}

func toInt(v any) (int64, error) {
	switch v := v.(type) {
	case int64:
		return v, nil
	case string:
		return strconv.ParseInt(v, 10, 64)
	}
	return 0, fmt.Errorf("unexpected %T in a cache reply", v)
}

// errNotSent: a fill was not sent (the read took too long, or the entry
// has no time left).
var errNotSent = errors.New("fill not sent")

// fill stores e, read from the primary, unless something was invalidated
// since l.gen that could concern it; mode is "fill" or "touch". It returns
// an error only when the fill was not sent or Redis failed, not when the
// script refused it.
func (s *Layered) fill(ctx context.Context, mode string, l lookup, e affinity.Entry) error {
	ttl := min(e.ExpiresIn, s.opts.CacheMaxAge).Milliseconds()
	if !l.ok || time.Since(l.at) > fillWindow || ttl < 1 {
		return errNotSent
	}
	_, err := s.run(ctx, cacheFill, []string{s.keys.cached(e.Key), s.keys.gen()},
		mode, l.gen, e.WorkerID, e.UserSub, e.Version, e.Created.UnixMicro(), e.LastAccess.UnixMicro(),
		ttl, s.quietFor(e).Milliseconds(), e.ExpiresIn.Milliseconds())
	if err != nil {
		s.failed()
	}
	return err
}

// quietFor is how long, from when e was read, the primary would not write
// a touch (its last access is younger than the granularity). It is derived
// from e.ExpiresIn, a duration the primary measured with its own clock, so
// no two clocks are compared.
func (s *Layered) quietFor(e affinity.Entry) time.Duration {
	g := s.cfg.Granularity()
	if g <= 0 {
		return 0
	}
	return max(e.ExpiresIn-(s.cfg.IdleTimeout-g), 0)
}

// Get answers from a valid copy in the cache, else from the primary,
// filling the cache unless an invalidation could have raced the read.
func (s *Layered) Get(ctx context.Context, sessionID string) (affinity.Entry, error) {
	if err := affinity.CheckSessionID(sessionID); err != nil {
		return affinity.Entry{}, affinity.Op("get", err)
	}
	k := affinity.KeyOf(sessionID)
	l := s.lookup(ctx, k)
	if l.hit {
		return l.entry, nil
	}
	e, err := s.primary.Get(ctx, sessionID)
	if err != nil {
		return affinity.Entry{}, err
	}
	if s.afterPrimary != nil {
		s.afterPrimary("get")
	}
	_ = s.fill(ctx, "fill", l, e) // best effort: a copy not stored is a later miss
	return e, nil
}

// Set writes the primary, then the cache: the new copy if no invalidation
// raced the write, else a tombstone.
func (s *Layered) Set(ctx context.Context, sessionID, workerID, userSub string) (affinity.Entry, error) {
	if err := affinity.CheckPin(sessionID, workerID, userSub); err != nil {
		return affinity.Entry{}, affinity.Op("set", err)
	}
	k := affinity.KeyOf(sessionID)
	l := lookup{}
	if s.usable(ctx) {
		res, err := s.run(ctx, cacheGeneration, []string{s.keys.gen()})
		if err != nil {
			s.failed()
		} else if g, err := toInt(res); err == nil {
			l = lookup{ok: true, gen: g, at: time.Now()}
		}
	}
	e, err := s.primary.Set(ctx, sessionID, workerID, userSub)
	if err != nil {
		// The old copy must go: the write may have landed all the same.
		s.invalidate(ctx, k)
		return e, err
	}
	// The script refuses the copy if an invalidation since l.gen could
	// concern it, and then drops any older copy.
	if err := s.fill(ctx, "fill", l, e); errors.Is(err, errNotSent) {
		s.invalidate(ctx, k)
	} else if err != nil {
		s.owe()
	}
	return e, nil
}

// Touch answers from the cache while the primary would not write the
// touch anyway (within the granularity of the last recorded access);
// otherwise it touches the primary, which never creates, and refreshes the
// copy.
func (s *Layered) Touch(ctx context.Context, sessionID string) (affinity.Entry, error) {
	if err := affinity.CheckSessionID(sessionID); err != nil {
		return affinity.Entry{}, affinity.Op("touch", err)
	}
	k := affinity.KeyOf(sessionID)
	l := s.lookup(ctx, k)
	if l.hit && l.quiet {
		return l.entry, nil
	}
	if s.beforePrimaryTouch != nil {
		s.beforePrimaryTouch()
	}
	e, err := s.primary.Touch(ctx, sessionID)
	if err != nil {
		if l.hit && errors.Is(err, affinity.ErrNotFound) {
			s.invalidate(ctx, k)
		}
		return affinity.Entry{}, err
	}
	if s.afterPrimary != nil {
		s.afterPrimary("touch")
	}
	_ = s.fill(ctx, "touch", l, e) // best effort, as in Get
	return e, nil
}

// Delete deletes from the primary and leaves a tombstone in the cache,
// also when the primary failed (the delete may have landed).
func (s *Layered) Delete(ctx context.Context, sessionID string) error {
	if err := affinity.CheckSessionID(sessionID); err != nil {
		return affinity.Op("delete", err)
	}
	err := s.primary.Delete(ctx, sessionID)
	s.invalidate(ctx, affinity.KeyOf(sessionID))
	return err
}

// DeleteByWorker deletes from the primary and bumps the worker's epoch.
func (s *Layered) DeleteByWorker(ctx context.Context, workerID string) (int, error) {
	n, err := s.primary.DeleteByWorker(ctx, workerID)
	if !errors.Is(err, affinity.ErrInvalidArgument) {
		s.bump(ctx, workerID)
	}
	return n, err
}

// RerouteWorker reroutes in the primary and bumps the old worker's epoch:
// one Redis call however many sessions moved.
func (s *Layered) RerouteWorker(ctx context.Context, oldWorkerID, newWorkerID string) (int, error) {
	n, err := s.primary.RerouteWorker(ctx, oldWorkerID, newWorkerID)
	if !errors.Is(err, affinity.ErrInvalidArgument) && oldWorkerID != newWorkerID {
		s.bump(ctx, oldWorkerID)
	}
	return n, err
}

// CountForWorker asks the primary.
func (s *Layered) CountForWorker(ctx context.Context, workerID string) (int, error) {
	return s.primary.CountForWorker(ctx, workerID)
}

// CountForWorkers asks the primary.
func (s *Layered) CountForWorkers(ctx context.Context, workerIDs []string) (int, error) {
	return s.primary.CountForWorkers(ctx, workerIDs)
}

// EntriesForWorker asks the primary.
func (s *Layered) EntriesForWorker(ctx context.Context, workerID string) ([]affinity.Entry, error) {
	return s.primary.EntriesForWorker(ctx, workerID)
}

// SweepIdle sweeps the primary and tombstones exactly the swept entries
// when the primary reports them (affinity.KeySweeper), else flushes the
// whole cache.
func (s *Layered) SweepIdle(ctx context.Context, maxIdle time.Duration) (int, error) {
	ks, ok := s.primary.(affinity.KeySweeper)
	if !ok {
		n, err := s.primary.SweepIdle(ctx, maxIdle)
		if n > 0 || err != nil {
			s.owe()
			s.usable(ctx) // flushes now if it can
		}
		return n, err
	}
	keys, err := ks.SweepIdleKeys(ctx, maxIdle)
	s.invalidate(ctx, keys...)
	if err != nil {
		s.owe() // a batch may have committed unseen
	}
	return len(keys), err
}
