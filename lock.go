package pgsession

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pgsession/pgsession/internal/store"
)

// Lock errors, matched with errors.Is.
var (
	// ErrLockHeld: another owner holds an unexpired lease; every attempt
	// (LockConfig.Retries + 1) found it held.
	ErrLockHeld = store.ErrLockHeld
	// ErrLockNotHeld: the caller does not own the lease (never did, released
	// it, or lost it to another owner after it expired).
	ErrLockNotHeld = store.ErrLockNotHeld
	// ErrLockExpired: the lease ran out (by the database clock, or by the
	// holder's own deadline) before it was extended.
	ErrLockExpired = store.ErrLockExpired
	// ErrInvalidLease: a duration given to Lock.ExtendFor is outside what a
	// lease may be (see MaxLockLease and LockConfig.SafetyMargin).
	ErrInvalidLease = errors.New("invalid lease duration")
)

// MaxLockLease bounds LockConfig.Lease and Lock.ExtendFor. A lock is meant
// to be held while work runs, with heartbeats, not to stand for days; the
// bound also keeps the holder's deadline arithmetic far from overflow.
const MaxLockLease = 24 * time.Hour

// LockConfig tunes Manager.Lock. The zero value gives the defaults.
type LockConfig struct {
	// Lease is how long the lock is held without an extension, by the
	// database clock. Defaults to 30 seconds.
	Lease time.Duration
	// Retries is how many more attempts Lock makes when the lock is held.
	// Defaults to 3; -1 means a single attempt.
	Retries int
	// RetryDelay is the pause between attempts. Defaults to 50 ms.
	RetryDelay time.Duration
	// HeartbeatInterval is how often a background heartbeat extends the
	// lease while it is held. -1 disables it (call Extend yourself).
	// Defaults to Lease / 3.
	HeartbeatInterval time.Duration
	// SafetyMargin is how long before the lease could end, by the holder's
	// own monotonic clock, the holder stops trusting it: it measures from
	// the start of the attempt that set the lease, which is always before
	// the database set it. Defaults to Lease / 10.
	SafetyMargin time.Duration
}

func (c *LockConfig) withDefaults() (LockConfig, error) {
	var cfg LockConfig
	if c != nil {
		cfg = *c
	}
	if cfg.Lease == 0 {
		cfg.Lease = 30 * time.Second
	}
	if cfg.Retries == 0 {
		cfg.Retries = 3
	}
	if cfg.RetryDelay == 0 {
		cfg.RetryDelay = 50 * time.Millisecond
	}
	if cfg.HeartbeatInterval == 0 {
		cfg.HeartbeatInterval = cfg.Lease / 3
	}
	if cfg.SafetyMargin == 0 {
		cfg.SafetyMargin = cfg.Lease / 10
	}
	if cfg.Lease < time.Millisecond || cfg.Lease > MaxLockLease || cfg.SafetyMargin < 0 || cfg.SafetyMargin >= cfg.Lease ||
		cfg.RetryDelay < 0 || cfg.Retries < -1 || cfg.HeartbeatInterval < -1 ||
		(cfg.HeartbeatInterval > 0 && cfg.HeartbeatInterval >= cfg.Lease-cfg.SafetyMargin) {
		return cfg, fmt.Errorf("%w: lock config %+v: need MaxLockLease >= Lease > SafetyMargin >= 0 and HeartbeatInterval < Lease - SafetyMargin", ErrInvalidConfig, cfg)
	}
	return cfg, nil
}

// Lock is a held lease on (session, resource), with a fencing token. Its
// Context ends when the lease is released or lost; the holder must stop
// acting on the lease then. Methods are safe for concurrent use.
type Lock struct {
	m    *Manager
	req  store.LockRequest
	cfg  LockConfig
	ctx  context.Context
	stop context.CancelCauseFunc
	done chan struct{} // closed when the heartbeat goroutine ends
	lost chan struct{} // closed when ctx ends for any cause but Release

	mu       sync.Mutex
	deadline int64 // guarded by mu; mono time after which the lease is not trusted
}

// LockInfo describes a lease held on a session.
type LockInfo struct {
	Resource   string
	Owner      string
	Fence      int64
	AcquiredAt time.Time // database clock
	// HeartbeatAt is the last acquire or extend (heartbeat or a call to
	// Extend or ExtendFor), by the database clock: how recently the holder
	// showed it is alive. A lease last touched by a node running a version
	// before this field reports its AcquiredAt.
	HeartbeatAt time.Time
	ExpiresAt   time.Time // database clock
}

// Lock takes the lease on resource for the session, trying up to
// cfg.Retries more times while another owner holds it. Each attempt is one
// round trip; expiry is judged by the database clock. A nil cfg uses the
// defaults. The lease dies with its session.
func (m *Manager) Lock(ctx context.Context, session ID, resource string, cfg *LockConfig) (*Lock, error) {
	const name = "lock"
	if err := m.checkOpen(name); err != nil {
		return nil, err
	}
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, op(name, err)
	}
	if resource == "" || len(resource) > 256 || !cleanText(resource) {
		return nil, op(name, fmt.Errorf("%w: %s: want 1 to 256 bytes of UTF-8, no NUL", ErrInvalidResource, echo(resource)))
	}
	req := store.LockRequest{Session: store.ID(session), Resource: resource,
		Owner: m.cfg.NodeID + "/" + randomName(), Lease: c.Lease}
	for attempt := 0; ; attempt++ {
		start := mono()
		grant, err := m.backend.AcquireLock(ctx, req)
		switch {
		case err == nil:
			req.Fence = grant.Fence
			return m.hold(req, c, start)
		case errors.Is(err, store.ErrLockNotFound):
			return nil, op(name, ErrNotFound)
		case !errors.Is(err, ErrLockHeld) || attempt >= c.Retries:
			return nil, op(name, err)
		}
		select {
		case <-ctx.Done():
			return nil, op(name, ctx.Err())
		case <-time.After(c.RetryDelay):
		}
	}
}

// hold registers a granted lease and starts its heartbeat.
func (m *Manager) hold(req store.LockRequest, c LockConfig, start int64) (*Lock, error) {
	l := &Lock{m: m, req: req, cfg: c, done: make(chan struct{}), lost: make(chan struct{}),
		deadline: start + int64(c.Lease-c.SafetyMargin)}
	l.ctx, l.stop = context.WithCancelCause(m.bgCtx)
	m.lockMu.Lock()
	defer m.lockMu.Unlock()
	if m.closed.Load() {
		l.stop(ErrClosed)
		close(l.done)
		// Best effort: the lease would expire anyway.
		_ = m.backend.ReleaseLock(context.Background(), req)
		return nil, op("lock", ErrClosed)
	}
	m.stats.locksAcquired.Add(1)
	context.AfterFunc(l.ctx, func() {
		if !errors.Is(context.Cause(l.ctx), context.Canceled) { // Release's cause
			m.stats.locksLost.Add(1)
			close(l.lost)
		}
	})
	m.lockWG.Add(1)
	go l.heartbeat()
	return l, nil
}

// Fence returns the fencing token: larger than any token issued before it,
// for any lock. Pass it with writes the lock protects, and have the store
// refuse a write whose token is smaller than one it has seen.
func (l *Lock) Fence() int64 { return l.req.Fence }

// Resource returns the locked resource's name.
func (l *Lock) Resource() string { return l.req.Resource }

// Context ends when the lease is released or lost; context.Cause tells
// which (ErrLockNotHeld, ErrLockExpired, ErrClosed, or nil after Release).
func (l *Lock) Context() context.Context { return l.ctx }

// Lost is closed when the lease is lost: it expired or another owner holds
// it (ErrLockExpired, ErrLockNotHeld), or the Manager closed (ErrClosed);
// context.Cause(l.Context()) says which. Release never closes it, so a
// goroutine watching Lost to abandon its work is not woken by the holder's
// own release; watch Context().Done() for both.
func (l *Lock) Lost() <-chan struct{} { return l.lost }

// Valid reports whether the holder may still act on the lease: not released,
// not lost, and before its local deadline.
func (l *Lock) Valid() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ctx.Err() == nil && mono() < l.deadline
}

// Extend renews the lease for another LockConfig.Lease from now, by the
// database clock, leaving a longer one (from ExtendFor) as it is. It fails
// with ErrLockExpired or ErrLockNotHeld if the lease is already gone, and
// the lock is then lost.
func (l *Lock) Extend(ctx context.Context) error {
	return l.extend(ctx, l.cfg.Lease)
}

// ExtendFor makes the lease last at least d from now, by the database
// clock, in one round trip; the fencing token stays the same. It never
// shortens the lease: after ExtendFor(ctx, time.Hour) the heartbeat's
// extensions by LockConfig.Lease leave the hour in place, and the holder
// trusts the lease until d - SafetyMargin after the call began. Use it
// before a step known to outlast the lease. d must be more than
// LockConfig.SafetyMargin and at most MaxLockLease, else ErrInvalidLease
// and nothing is sent. It fails like Extend when the lease is gone.
func (l *Lock) ExtendFor(ctx context.Context, d time.Duration) error {
	if d < time.Millisecond || d <= l.cfg.SafetyMargin || d > MaxLockLease {
		return op("extend lock", fmt.Errorf("%w: %v: want more than the safety margin %v and at most %v",
			ErrInvalidLease, d, l.cfg.SafetyMargin, MaxLockLease))
	}
	return l.extend(ctx, d)
}

// extend asks for the lease to last at least d from now. The database's
// expiry never moves back (see sqlExtendLock), so the local deadline only
// moves forward too and never passes the database's.
func (l *Lock) extend(ctx context.Context, d time.Duration) error {
	if err := context.Cause(l.ctx); err != nil {
		if errors.Is(err, context.Canceled) {
			err = ErrLockNotHeld // released
		}
		return op("extend lock", err)
	}
	req := l.req
	req.Lease = d
	start := mono()
	_, err := l.m.backend.ExtendLock(ctx, req)
	if err == nil {
		l.mu.Lock()
		l.deadline = max(l.deadline, start+int64(d-l.cfg.SafetyMargin))
		l.mu.Unlock()
		return nil
	}
	if errors.Is(err, ErrLockNotHeld) || errors.Is(err, ErrLockExpired) {
		l.stop(err)
	}
	return op("extend lock", err)
}

// left is how long the holder may still trust the lease.
func (l *Lock) left() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return time.Duration(l.deadline - mono())
}

// Release ends the lease. Only its owner can: ErrLockNotHeld otherwise
// (for example after the lease expired and another owner took it).
func (l *Lock) Release(ctx context.Context) error {
	l.stop(nil)
	<-l.done
	return op("release lock", l.m.backend.ReleaseLock(ctx, l.req))
}

// Querier runs a query in the caller's transaction; pgx.Tx, pgx.Conn and
// pgxpool.Pool satisfy it.
type Querier = store.Querier

// Guard checks, inside the caller's own transaction tx, that this lock's
// fence is still the live lease, and keeps it so until tx ends: no other
// owner can take the lease over meanwhile. It returns ErrLockNotHeld if the
// lease is gone. On the memory backend tx may be nil.
func (l *Lock) Guard(ctx context.Context, tx Querier) error {
	return op("guard lock", l.m.backend.GuardLock(ctx, tx, l.req))
}

// heartbeat extends the lease every HeartbeatInterval and declares it lost
// at its local deadline if no extension got through.
func (l *Lock) heartbeat() {
	defer l.m.lockWG.Done()
	defer close(l.done)
	for {
		left := l.left()
		wait := left
		if l.cfg.HeartbeatInterval > 0 {
			wait = min(wait, l.cfg.HeartbeatInterval)
		}
		if left <= 0 {
			l.stop(ErrLockExpired)
			return
		}
		select {
		case <-l.ctx.Done():
			return
		case <-time.After(wait):
		}
		if l.cfg.HeartbeatInterval <= 0 || !l.Valid() {
			continue // the loop declares it lost at the deadline
		}
		// deadline is read under mu: ExtendFor may move it meanwhile.
		ctx, cancel := context.WithTimeout(l.ctx, max(0, l.left()))
		err := l.Extend(ctx)
		cancel()
		if err != nil && l.ctx.Err() == nil {
			l.m.cfg.Logger.Warn("pgsession: lock heartbeat failed; retrying until the lease's deadline",
				"resource", l.req.Resource, "err", err)
		}
	}
}

// Locks lists the unexpired leases held on a session.
func (m *Manager) Locks(ctx context.Context, session ID) ([]LockInfo, error) {
	if err := m.checkOpen("locks"); err != nil {
		return nil, err
	}
	infos, err := m.backend.ListLocks(ctx, store.ID(session))
	if err != nil {
		return nil, op("locks", err)
	}
	out := make([]LockInfo, len(infos))
	for i, li := range infos {
		out[i] = LockInfo(li)
	}
	return out, nil
}
