package pgsession_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/pgsessiontest"
)

func quickLock() *pgsession.LockConfig {
	return &pgsession.LockConfig{Retries: -1, HeartbeatInterval: -1}
}

func TestLockAcquireReleaseAndList(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		a, b := c.node(testConfig()), c.node(testConfig())
		s, err := a.Create(ctx, "nia", nil)
		require.NoError(t, err)

		l1, err := a.Lock(ctx, s.ID(), "checkout", quickLock())
		require.NoError(t, err)
		require.Positive(t, l1.Fence())
		require.True(t, l1.Valid())
		_, err = b.Lock(ctx, s.ID(), "checkout", &pgsession.LockConfig{Retries: 2, RetryDelay: time.Millisecond, HeartbeatInterval: -1})
		require.ErrorIs(t, err, pgsession.ErrLockHeld)
		other, err := b.Lock(ctx, s.ID(), "profile", quickLock())
		require.NoError(t, err, "another resource is free")

		infos, err := b.Locks(ctx, s.ID())
		require.NoError(t, err)
		require.Len(t, infos, 2)
		require.Equal(t, "checkout", infos[0].Resource)
		require.Equal(t, l1.Fence(), infos[0].Fence)

		require.NoError(t, l1.Release(ctx))
		<-l1.Context().Done()
		select {
		case <-l1.Lost():
			t.Fatal("Lost closed by a normal release")
		default:
		}
		require.False(t, l1.Valid())
		l2, err := b.Lock(ctx, s.ID(), "checkout", quickLock())
		require.NoError(t, err)
		require.Greater(t, l2.Fence(), other.Fence(), "fencing tokens only grow")
		require.ErrorIs(t, l1.Release(ctx), pgsession.ErrLockNotHeld, "a non-owner cannot release")
		require.ErrorIs(t, l1.Extend(ctx), pgsession.ErrLockNotHeld)
		require.NoError(t, l2.Extend(ctx))
		require.NoError(t, l2.Release(ctx))
		require.NoError(t, other.Release(ctx))

		_, err = a.Lock(ctx, s.ID(), "", quickLock())
		require.ErrorIs(t, err, pgsession.ErrInvalidResource)
		require.NotErrorIs(t, err, pgsession.ErrInvalidKey, "a resource is not an attribute key")
		_, err = a.Lock(ctx, s.ID(), "x", &pgsession.LockConfig{Lease: time.Second, SafetyMargin: 2 * time.Second})
		require.ErrorIs(t, err, pgsession.ErrInvalidConfig)
	})
}

// A session's locks die with it.
func TestDeletingASessionRemovesItsLocks(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		m := c.node(testConfig())
		s, err := m.Create(ctx, "", nil)
		require.NoError(t, err)
		l, err := m.Lock(ctx, s.ID(), "r", quickLock())
		require.NoError(t, err)
		require.NoError(t, m.Delete(ctx, s.ID()))
		infos, err := m.Locks(ctx, s.ID())
		require.NoError(t, err)
		require.Empty(t, infos)
		require.ErrorIs(t, l.Extend(ctx), pgsession.ErrLockNotHeld)
		_, err = m.Lock(ctx, s.ID(), "r", quickLock())
		require.ErrorIs(t, err, pgsession.ErrNotFound)
	})
}

// Two nodes contending: exactly one holder at a time.
func TestLockExcludesAcrossNodes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		a, b := c.node(testConfig()), c.node(testConfig())
		s, err := a.Create(ctx, "", nil)
		require.NoError(t, err)
		var inside, most, done atomic.Int32
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for g := 0; g < 8; g++ {
			m := []*pgsession.Manager{a, b}[g%2]
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 5; i++ {
					l, err := m.Lock(ctx, s.ID(), "counter", &pgsession.LockConfig{Retries: 1000, RetryDelay: time.Millisecond})
					if err != nil {
						errs <- err
						return
					}
					n := inside.Add(1)
					for p := most.Load(); n > p && !most.CompareAndSwap(p, n); p = most.Load() {
					}
					time.Sleep(time.Millisecond)
					inside.Add(-1)
					if err := l.Release(ctx); err != nil {
						errs <- err
						return
					}
					done.Add(1)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		require.Equal(t, int32(40), done.Load())
		require.Equal(t, int32(1), most.Load(), "never two holders at once")
	})
}

// A holder that stops heartbeating stops trusting the lease before it ends,
// loses it by the database clock, and the next holder gets a larger fence;
// the stale holder's fenced write is refused.
func TestExpiredHolderLosesTheLeaseAndItsWrites(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	c := newCluster(t, "postgres")
	a, b := c.node(testConfig()), c.node(testConfig())
	s, err := a.Create(ctx, "", nil)
	require.NoError(t, err)
	admin := pgsessiontest.AdminPool(t)
	account := pgx.Identifier{c.schema, "account"}.Sanitize()
	_, err = admin.Exec(ctx, "CREATE TABLE "+account+" (id int PRIMARY KEY, balance int, fence bigint NOT NULL)")
	require.NoError(t, err)
	_, err = admin.Exec(ctx, "INSERT INTO "+account+" VALUES (1, 0, 0)")
	require.NoError(t, err)
	// The fenced write of the pattern: refused if a larger token was seen.
	write := func(l *pgsession.Lock, balance int) int64 {
		tag, err := admin.Exec(ctx, "UPDATE "+account+" SET balance = $1, fence = $2 WHERE id = 1 AND fence < $2", balance, l.Fence())
		require.NoError(t, err)
		return tag.RowsAffected()
	}

	lease := 400 * time.Millisecond
	before := time.Now()
	stale, err := a.Lock(ctx, s.ID(), "account", &pgsession.LockConfig{Lease: lease, HeartbeatInterval: -1, SafetyMargin: 100 * time.Millisecond, Retries: -1})
	require.NoError(t, err)
	after := time.Now() // the database set the lease between before and after
	require.Equal(t, int64(1), write(stale, 10))
	<-stale.Lost()
	require.Less(t, time.Since(before), lease, "the holder gives up before the lease could end")
	require.ErrorIs(t, context.Cause(stale.Context()), pgsession.ErrLockExpired)

	next, err := b.Lock(ctx, s.ID(), "account", &pgsession.LockConfig{Retries: 100, RetryDelay: 20 * time.Millisecond, HeartbeatInterval: -1})
	require.NoError(t, err)
	require.GreaterOrEqual(t, time.Since(after), lease-(after.Sub(before)), "taken only after the lease ran out")
	require.Greater(t, next.Fence(), stale.Fence())
	require.Equal(t, int64(1), write(next, 20))
	require.Zero(t, write(stale, 30), "the stale holder's write is refused")

	tx, err := admin.Begin(ctx)
	require.NoError(t, err)
	require.ErrorIs(t, stale.Guard(ctx, tx), pgsession.ErrLockNotHeld)
	require.NoError(t, tx.Rollback(ctx))
	tx, err = admin.Begin(ctx)
	require.NoError(t, err)
	require.NoError(t, next.Guard(ctx, tx))
	require.NoError(t, tx.Rollback(ctx))
	require.ErrorIs(t, stale.Release(ctx), pgsession.ErrLockNotHeld)
	require.NoError(t, next.Release(ctx))
}

// The heartbeat keeps a lease alive well past its length.
func TestHeartbeatKeepsTheLease(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		a, b := c.node(testConfig()), c.node(testConfig())
		s, err := a.Create(ctx, "", nil)
		require.NoError(t, err)
		l, err := a.Lock(ctx, s.ID(), "job", &pgsession.LockConfig{Lease: 300 * time.Millisecond, HeartbeatInterval: 50 * time.Millisecond})
		require.NoError(t, err)
		time.Sleep(900 * time.Millisecond)
		require.True(t, l.Valid())
		_, err = b.Lock(ctx, s.ID(), "job", quickLock())
		require.ErrorIs(t, err, pgsession.ErrLockHeld)
		require.NoError(t, l.Release(ctx))
	})
}

// Each lease operation is one round trip, and none carries the node's
// clock: expiry is decided by the database alone (DESIGN W4), so a node
// whose clock is off by minutes behaves exactly the same.
func TestLockRoundTripsAndNoNodeClock(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	c := newCluster(t, "postgres")
	m, rt := c.tracedNode(testConfig())
	args := &argTypes{}
	m2, _ := c.tracedNodeWith(testConfig(), args)
	s, err := m.Create(ctx, "", nil)
	require.NoError(t, err)

	rt.Reset()
	l, err := m.Lock(ctx, s.ID(), "r", quickLock())
	require.NoError(t, err)
	require.Equal(t, 1, rt.Count(), "acquire")
	rt.Reset()
	require.NoError(t, l.Extend(ctx))
	require.Equal(t, 1, rt.Count(), "extend")
	rt.Reset()
	_, err = m.Lock(ctx, s.ID(), "r", quickLock())
	require.ErrorIs(t, err, pgsession.ErrLockHeld)
	require.Equal(t, 1, rt.Count(), "a refused try")
	rt.Reset()
	require.NoError(t, l.Release(ctx))
	require.Equal(t, 1, rt.Count(), "release")

	l2, err := m2.Lock(ctx, s.ID(), "r", quickLock())
	require.NoError(t, err)
	require.NoError(t, l2.Extend(ctx))
	_, err = m2.Locks(ctx, s.ID())
	require.NoError(t, err)
	require.NoError(t, l2.Release(ctx))
	require.NotZero(t, args.count())
	require.Zero(t, args.times(), "a lease statement carried a time from the node")
}

// argTypes records whether any statement carried a time.Time argument.
type argTypes struct {
	mu    sync.Mutex
	n, ts int
}

func (a *argTypes) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.n++
	for _, x := range d.Args {
		if _, ok := x.(time.Time); ok {
			a.ts++
		}
	}
	return ctx
}
func (a *argTypes) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (a *argTypes) count() int                                                      { a.mu.Lock(); defer a.mu.Unlock(); return a.n }
func (a *argTypes) times() int                                                      { a.mu.Lock(); defer a.mu.Unlock(); return a.ts }

// A lock held when its Manager closes ends with it, and Close leaves no
// heartbeat goroutine behind.
func TestCloseEndsHeldLocks(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		m := c.node(testConfig())
		s, err := m.Create(ctx, "", nil)
		require.NoError(t, err)
		l, err := m.Lock(ctx, s.ID(), "r", nil)
		require.NoError(t, err)
		require.NoError(t, m.Close(ctx))
		<-l.Lost()
		_, err = m.Lock(ctx, s.ID(), "r", nil)
		require.ErrorIs(t, err, pgsession.ErrClosed)
		require.False(t, errors.Is(err, pgsession.ErrLockHeld))
	})
}

// Updates may require only their own keys unchanged since a read.
func TestKeyLevelVersionCheck(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		m := c.node(testConfig())
		s, err := m.Create(ctx, "", map[string]any{"a": 1, "b": 1})
		require.NoError(t, err)
		read := s.Version()
		_, err = m.Update(ctx, s.ID(), new(pgsession.Patch).Set("a", 2)) // someone else
		require.NoError(t, err)

		_, err = m.Update(ctx, s.ID(), new(pgsession.Patch).Set("b", 2), pgsession.IfKeysUnchanged(read))
		require.NoError(t, err, "b did not change since the read")
		_, err = m.Update(ctx, s.ID(), new(pgsession.Patch).Set("a", 3), pgsession.IfKeysUnchanged(read))
		require.ErrorIs(t, err, pgsession.ErrVersionConflict)
		_, err = m.Update(ctx, s.ID(), new(pgsession.Patch).Delete("a"), pgsession.IfKeysUnchanged(read))
		require.ErrorIs(t, err, pgsession.ErrVersionConflict)
		_, err = m.Update(ctx, s.ID(), new(pgsession.Patch).Set("c", 1).Set("a", 3), pgsession.IfKeysUnchanged(read))
		require.ErrorIs(t, err, pgsession.ErrVersionConflict, "one changed key is enough to refuse")

		got, err := m.GetByID(ctx, s.ID(), pgsession.ForceRefresh())
		require.NoError(t, err)
		require.Equal(t, 2, pgsession.AttrOr(got, "a", 0), "refused updates wrote nothing")
		require.False(t, got.Has("c"))
		// A removal counts as a change too.
		_, err = m.Update(ctx, s.ID(), new(pgsession.Patch).Delete("b"))
		require.NoError(t, err)
		_, err = m.Update(ctx, s.ID(), new(pgsession.Patch).Set("b", 9), pgsession.IfKeysUnchanged(got.Version()))
		require.ErrorIs(t, err, pgsession.ErrVersionConflict)
	})
}

// The sweep removes expired attributes of live sessions.
func TestSweepRemovesExpiredAttributes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		m := c.node(testConfig())
		s, err := m.Create(ctx, "", map[string]any{"keep": 1})
		require.NoError(t, err)
		_, err = m.Update(ctx, s.ID(), new(pgsession.Patch).SetTTL("otp", 1, 50*time.Millisecond))
		require.NoError(t, err)
		require.Equal(t, 2, c.storedAttrCount(t, s.ID()))
		time.Sleep(100 * time.Millisecond)
		res, err := m.Sweep(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, res.Trimmed)
		require.Equal(t, 1, c.storedAttrCount(t, s.ID()))
		got, err := m.GetByID(ctx, s.ID(), pgsession.ForceRefresh())
		require.NoError(t, err)
		require.Equal(t, []string{"keep"}, got.Keys())
	})
}
