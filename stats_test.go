package pgsession_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession"
)

// Each of the node's work counters counts exactly what its calls did: a
// cap's evictions and sweeps' removals as deletions and expiries, a delete
// of nothing as nothing, a released lock as not lost.
func TestStatsCountTheNodesWork(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		cfg := testConfig()
		cfg.MaxSessionsPerUser = 2
		m := c.node(cfg)

		var ids []pgsession.ID
		for range 3 { // the third evicts the first
			s, err := m.Create(ctx, "ada", map[string]any{"n": 1})
			require.NoError(t, err)
			ids = append(ids, s.ID())
		}
		short, err := m.Create(ctx, "", nil, pgsession.WithLifetime(50*time.Millisecond))
		require.NoError(t, err)
		for i := range 2 {
			_, err := m.Update(ctx, ids[2], new(pgsession.Patch).Set("n", i))
			require.NoError(t, err)
		}
		renewed, err := m.Renew(ctx, ids[1])
		require.NoError(t, err)
		require.NoError(t, m.Delete(ctx, renewed.ID()))
		require.NoError(t, m.Delete(ctx, renewed.ID()), "nothing left to delete")
		n, err := m.DeleteUser(ctx, "ada")
		require.NoError(t, err)
		require.Equal(t, 1, n)

		time.Sleep(100 * time.Millisecond)
		res, err := m.Sweep(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, res.Deleted)
		_, err = m.GetByID(ctx, short.ID())
		require.ErrorIs(t, err, pgsession.ErrNotFound)
		_, err = m.GetByID(ctx, pgsession.ID{1, 2, 3}) // never was: a read of the database
		require.ErrorIs(t, err, pgsession.ErrNotFound)

		s, err := m.Create(ctx, "", nil)
		require.NoError(t, err)
		held, err := m.Lock(ctx, s.ID(), "released", quickLock())
		require.NoError(t, err)
		require.NoError(t, held.Release(ctx))
		lost, err := m.Lock(ctx, s.ID(), "lost", &pgsession.LockConfig{Lease: 300 * time.Millisecond,
			SafetyMargin: 100 * time.Millisecond, HeartbeatInterval: -1, Retries: -1})
		require.NoError(t, err)
		<-lost.Lost()

		st := m.Stats()
		require.Equal(t, uint64(5), st.SessionsCreated)
		require.Equal(t, uint64(2), st.SessionsUpdated)
		require.Equal(t, uint64(1), st.SessionsRenewed)
		require.Equal(t, uint64(3), st.SessionsDeleted, "the evicted one, the renewed one, the user's last")
		require.Equal(t, uint64(1), st.SessionsExpired)
		require.Equal(t, uint64(2), st.LocksAcquired)
		require.Eventually(t, func() bool { return m.Stats().LocksLost == 1 }, within, time.Millisecond)

		// Every call above was timed once, under its operation's name.
		lat := m.Stats().OpLatency
		for op, want := range map[string]uint64{"create": 5, "update": 2, "renew": 1, "delete": 2,
			"delete_user": 1, "delete_all": 0} {
			require.Equal(t, want, lat[op].Count, op)
		}
		require.GreaterOrEqual(t, lat["get"].Count, uint64(1), "the read of an unknown ID missed")
		require.GreaterOrEqual(t, lat["sweep_batch"].Count, uint64(1))
		for op, h := range lat {
			var last uint64
			for _, b := range h.Buckets {
				require.GreaterOrEqual(t, b.Count, last, "%s: cumulative", op)
				last = b.Count
			}
			require.LessOrEqual(t, last, h.Count, op)
			if h.Count > 0 {
				require.Positive(t, h.Sum, op)
			}
		}
		require.NoError(t, m.Close(context.Background()))
		require.Equal(t, uint64(1), m.Stats().LocksLost, "closing with no lock held loses none")
	})
}
