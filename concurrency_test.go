package pgsession_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession"
)

// Two nodes patch different keys of one session at the same time: every
// write survives (DESIGN W2), because each update patches the current row.
func TestConcurrentUpdatesOfDifferentKeysFromTwoNodesAllSurvive(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		cfg := testConfig()
		cfg.MaxAttributes = 128
		n1, n2 := c.node(cfg), c.node(cfg)
		s, err := n1.Create(ctx, "", nil)
		require.NoError(t, err)
		const each = 40
		var wg sync.WaitGroup
		errs := make(chan error, 2*each)
		for i := 0; i < each; i++ {
			for node, m := range []*pgsession.Manager{n1, n2} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := m.Update(ctx, s.ID(), new(pgsession.Patch).Set(fmt.Sprintf("n%d_%d", node, i), i))
					errs <- err
				}()
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		got, err := n2.GetByID(ctx, s.ID(), pgsession.ForceRefresh()) // the stored row, not a cached copy
		require.NoError(t, err)
		require.Len(t, got.Keys(), 2*each)
		require.Equal(t, int64(1+2*each), got.Version())
	})
}

// 100 updates of several keys each, in different orders, from two nodes on
// one session: no deadlock, no error, every update counted.
func TestManyMultiKeyUpdatesFromTwoNodesDoNotDeadlock(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		n1, n2 := c.node(testConfig()), c.node(testConfig())
		s, err := n1.Create(ctx, "", map[string]any{"a": 0})
		require.NoError(t, err)
		keys := []string{"a", "b", "c", "d", "e"}
		var wg sync.WaitGroup
		errs := make(chan error, 100)
		for i := 0; i < 100; i++ {
			m := []*pgsession.Manager{n1, n2}[i%2]
			wg.Add(1)
			go func() {
				defer wg.Done()
				p := new(pgsession.Patch)
				for j := 0; j < 4; j++ { // each update writes 4 keys, rotated so orders differ
					p.Set(keys[(i+j*(1+i%3))%len(keys)], i)
				}
				_, err := m.Update(ctx, s.ID(), p)
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		got, err := n1.GetByID(ctx, s.ID(), pgsession.ForceRefresh())
		require.NoError(t, err)
		require.Equal(t, int64(101), got.Version())
	})
}

// Creates for one user racing on two nodes never leave more sessions than
// the cap: the cap is enforced inside the same round trip as the insert,
// serialized per user.
func TestPerUserCapHoldsUnderConcurrentCreates(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		cfg := testConfig()
		cfg.MaxSessionsPerUser = 3
		n1, n2 := c.node(cfg), c.node(cfg)
		var wg sync.WaitGroup
		errs := make(chan error, 40)
		for i := 0; i < 40; i++ {
			m := []*pgsession.Manager{n1, n2}[i%2]
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := m.Create(ctx, "frank", nil)
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		list, err := n1.ListUser(ctx, "frank")
		require.NoError(t, err)
		require.Len(t, list, 3)

		// The newest survive: one more create evicts the oldest of the three.
		newest, err := n2.Create(ctx, "frank", nil)
		require.NoError(t, err)
		after, err := n1.ListUser(ctx, "frank")
		require.NoError(t, err)
		require.Len(t, after, 3)
		require.Equal(t, newest.ID(), after[0].ID())
		require.Equal(t, list[0].ID(), after[1].ID())
		require.Equal(t, list[1].ID(), after[2].ID())
	})
}

// Renewing into a capped user counts against the cap too.
func TestRenewAsUserRespectsTheCap(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		cfg := testConfig()
		cfg.MaxSessionsPerUser = 2
		m := c.node(cfg)
		for i := 0; i < 2; i++ {
			_, err := m.Create(ctx, "gina", nil)
			require.NoError(t, err)
		}
		anon, err := m.Create(ctx, "", nil)
		require.NoError(t, err)
		in, err := m.Renew(ctx, anon.ID(), pgsession.AsUser("gina"))
		require.NoError(t, err)
		list, err := m.ListUser(ctx, "gina")
		require.NoError(t, err)
		require.Len(t, list, 2)
		require.Equal(t, in.ID(), list[0].ID())
	})
}

// An update that races a delete never brings the session back (DESIGN W1).
func TestUpdatesRacingADeleteNeverResurrect(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		n1, n2 := c.node(testConfig()), c.node(testConfig())
		for round := 0; round < 5; round++ {
			s, err := n1.Create(ctx, "hal", nil)
			require.NoError(t, err)
			var wg sync.WaitGroup
			errs := make(chan error, 20)
			for i := 0; i < 20; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := n2.Update(ctx, s.ID(), new(pgsession.Patch).Set("k", i))
					errs <- err
				}()
				if i == 10 {
					require.NoError(t, n1.Delete(ctx, s.ID()))
				}
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					require.ErrorIs(t, err, pgsession.ErrNotFound)
				}
			}
			_, err = n2.GetByID(ctx, s.ID(), pgsession.ForceRefresh())
			require.ErrorIs(t, err, pgsession.ErrNotFound)
			_, err = n1.Get(ctx, s.Token())
			require.ErrorIs(t, err, pgsession.ErrNotFound, "the deleting node never serves it again")
		}
	})
}
