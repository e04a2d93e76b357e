package pgsession_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession"
)

// Two nodes sweeping at once: one runs the whole pass, the other stands by;
// between them every expired session is deleted exactly once and live ones
// are left alone (DESIGN M2).
func TestTwoNodesSweepingShareOnePass(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		cfg := testConfig()
		cfg.SweepInterval = time.Hour // a finished pass is not due again for a while
		cfg.SweepBatchSize = 3
		n1, n2 := c.node(cfg), c.node(cfg)
		for i := 0; i < 20; i++ {
			_, err := n1.Create(ctx, "", nil, pgsession.WithLifetime(50*time.Millisecond))
			require.NoError(t, err)
		}
		var live []*pgsession.Session
		for i := 0; i < 5; i++ {
			s, err := n2.Create(ctx, "", nil)
			require.NoError(t, err)
			live = append(live, s)
		}
		time.Sleep(100 * time.Millisecond)

		var wg sync.WaitGroup
		results := make([]pgsession.SweepResult, 2)
		errs := make([]error, 2)
		for i, m := range []*pgsession.Manager{n1, n2} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i], errs[i] = m.Sweep(ctx)
			}()
		}
		wg.Wait()
		require.NoError(t, errs[0])
		require.NoError(t, errs[1])
		require.NotEqual(t, results[0].Ran, results[1].Ran, "exactly one node ran the pass: %+v", results)
		ran := results[0]
		if !ran.Ran {
			ran = results[1]
		}
		require.True(t, ran.Complete)
		require.Equal(t, 20, ran.Deleted)
		require.Equal(t, 0, results[0].Deleted+results[1].Deleted-20)

		for _, s := range live {
			_, err := n1.GetByID(ctx, s.ID(), pgsession.NoTouch())
			require.NoError(t, err)
		}
		again, err := n2.Sweep(ctx)
		require.NoError(t, err)
		require.False(t, again.Ran, "the next pass is not due before the sweep interval")
	})
}

// The background janitor sweeps on its own and stops on Close.
func TestJanitorSweepsInTheBackground(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		cfg := testConfig()
		cfg.SweepInterval = 30 * time.Millisecond
		m := c.node(cfg)
		for i := 0; i < 5; i++ {
			_, err := m.Create(ctx, "", nil, pgsession.WithLifetime(10*time.Millisecond))
			require.NoError(t, err)
		}
		keep, err := m.Create(ctx, "", nil)
		require.NoError(t, err)
		require.Eventually(t, func() bool { return c.rowCount(t) == 1 }, 5*time.Second, 10*time.Millisecond)
		_, err = m.GetByID(ctx, keep.ID(), pgsession.NoTouch())
		require.NoError(t, err)
	})
}
