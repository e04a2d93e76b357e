package pgsession_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/pgsessiontest"
)

// lockInfo returns the one lease Locks lists for a session.
func lockInfo(t *testing.T, m *pgsession.Manager, id pgsession.ID) pgsession.LockInfo {
	t.Helper()
	infos, err := m.Locks(ctxT(t), id)
	require.NoError(t, err)
	require.Len(t, infos, 1)
	return infos[0]
}

// Locks reports each lease's last heartbeat: the acquire, then every
// extension, by the database clock.
func TestLocksReportTheLastHeartbeat(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		a, b := c.node(testConfig()), c.node(testConfig())
		s, err := a.Create(ctx, "", nil)
		require.NoError(t, err)
		lease := 5 * time.Second
		l, err := a.Lock(ctx, s.ID(), "job", &pgsession.LockConfig{Lease: lease, Retries: -1, HeartbeatInterval: -1})
		require.NoError(t, err)

		got := lockInfo(t, b, s.ID())
		require.True(t, got.HeartbeatAt.Equal(got.AcquiredAt), "acquired: %v, heartbeat: %v", got.AcquiredAt, got.HeartbeatAt)
		require.True(t, got.ExpiresAt.Equal(got.HeartbeatAt.Add(lease)))

		time.Sleep(20 * time.Millisecond)
		require.NoError(t, l.Extend(ctx))
		extended := lockInfo(t, b, s.ID())
		require.True(t, extended.AcquiredAt.Equal(got.AcquiredAt))
		require.GreaterOrEqual(t, extended.HeartbeatAt.Sub(got.HeartbeatAt), 20*time.Millisecond)
		require.True(t, extended.ExpiresAt.Equal(extended.HeartbeatAt.Add(lease)))

		// The background heartbeat records itself too.
		hb, err := a.Lock(ctx, s.ID(), "beat", &pgsession.LockConfig{Lease: 300 * time.Millisecond, HeartbeatInterval: 50 * time.Millisecond})
		require.NoError(t, err)
		infos, err := b.Locks(ctx, s.ID())
		require.NoError(t, err)
		first := infos[0].HeartbeatAt
		require.Eventually(t, func() bool {
			infos, err := b.Locks(ctx, s.ID())
			return err == nil && infos[0].Resource == "beat" && infos[0].HeartbeatAt.Sub(first) >= 100*time.Millisecond
		}, within, 10*time.Millisecond)
		require.NoError(t, hb.Release(ctx))
		require.NoError(t, l.Release(ctx))
	})
}

// A lease taken by a node that predates the heartbeat column (its insert
// leaves the column out) reports its acquire time as its heartbeat.
func TestLockWrittenWithoutAHeartbeatReportsItsAcquire(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	c := newCluster(t, "postgres")
	m := c.node(testConfig())
	s, err := m.Create(ctx, "", nil)
	require.NoError(t, err)
	id := s.ID()
	locks := pgx.Identifier{c.schema, "pgsession_locks"}.Sanitize()
	_, err = pgsessiontest.AdminPool(t).Exec(ctx, `INSERT INTO `+locks+` (session_id, resource, owner, fence, acquired_at, expires_at)
		VALUES ($1, 'old', 'old-node', 1, now() - interval '1 second', now() + interval '1 minute')`, id[:])
	require.NoError(t, err)
	got := lockInfo(t, m, id)
	require.False(t, got.AcquiredAt.IsZero())
	require.True(t, got.HeartbeatAt.Equal(got.AcquiredAt))
}

// ExtendFor lengthens the lease by a chosen duration with the same fencing
// token; the configured heartbeat never cuts it back, and bad durations are
// refused before anything is sent.
func TestExtendForAChosenDuration(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		a, b := c.node(testConfig()), c.node(testConfig())
		s, err := a.Create(ctx, "", nil)
		require.NoError(t, err)
		lease := 300 * time.Millisecond
		l, err := a.Lock(ctx, s.ID(), "export", &pgsession.LockConfig{Lease: lease, HeartbeatInterval: 50 * time.Millisecond})
		require.NoError(t, err)
		fence := l.Fence()

		long := 3 * time.Second
		require.NoError(t, l.ExtendFor(ctx, long))
		got := lockInfo(t, b, s.ID())
		require.Equal(t, fence, got.Fence, "the fencing token is unchanged")
		require.Equal(t, fence, l.Fence())
		require.True(t, got.ExpiresAt.Equal(got.HeartbeatAt.Add(long)), "expires %v, heartbeat %v", got.ExpiresAt, got.HeartbeatAt)

		// Heartbeats of the 300 ms lease run meanwhile; they keep the longer lease.
		time.Sleep(400 * time.Millisecond)
		later := lockInfo(t, b, s.ID())
		require.True(t, later.HeartbeatAt.After(got.HeartbeatAt), "the heartbeat ran")
		require.True(t, later.ExpiresAt.Equal(got.ExpiresAt), "a heartbeat did not shorten the lease: %v then %v", got.ExpiresAt, later.ExpiresAt)
		require.True(t, l.Valid())
		_, err = b.Lock(ctx, s.ID(), "export", quickLock())
		require.ErrorIs(t, err, pgsession.ErrLockHeld)

		for _, d := range []time.Duration{0, -time.Second, lease / 10, pgsession.MaxLockLease + 1} {
			require.ErrorIs(t, l.ExtendFor(ctx, d), pgsession.ErrInvalidLease, "%v", d)
		}
		require.True(t, lockInfo(t, b, s.ID()).ExpiresAt.Equal(got.ExpiresAt), "a refused duration changed nothing")
		require.NoError(t, l.ExtendFor(ctx, pgsession.MaxLockLease))

		require.NoError(t, l.Release(ctx))
		require.ErrorIs(t, l.ExtendFor(ctx, long), pgsession.ErrLockNotHeld)
		_, err = a.Lock(ctx, s.ID(), "x", &pgsession.LockConfig{Lease: pgsession.MaxLockLease + time.Second})
		require.ErrorIs(t, err, pgsession.ErrInvalidConfig)
	})
}

// Without a heartbeat, ExtendFor moves the holder's own deadline: the lock
// stays valid past its configured lease, and for no longer than chosen.
func TestExtendForMovesTheHoldersDeadline(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		m := c.node(testConfig())
		s, err := m.Create(ctx, "", nil)
		require.NoError(t, err)
		l, err := m.Lock(ctx, s.ID(), "r", &pgsession.LockConfig{Lease: 200 * time.Millisecond, HeartbeatInterval: -1, Retries: -1})
		require.NoError(t, err)
		start := time.Now()
		require.NoError(t, l.ExtendFor(ctx, 600*time.Millisecond))
		time.Sleep(300 * time.Millisecond)
		require.True(t, l.Valid(), "past the configured lease, within the chosen one")
		<-l.Lost()
		require.ErrorIs(t, context.Cause(l.Context()), pgsession.ErrLockExpired)
		require.Less(t, time.Since(start), 600*time.Millisecond, "the holder gives up before the chosen lease could end")
	})
}
