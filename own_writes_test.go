package pgsession_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession"
)

// A node never serves a copy older than its own write, whatever drops reach
// it while the write is in flight (DESIGN C6). The update is held on a row
// lock while another user's cache drop, or another user's log out
// everywhere, bumps the node's cache epoch; the guard then refuses to cache
// the update's result, and before the fix the node kept serving v1.
func TestOwnWriteSurvivesDropsWhileInFlight(t *testing.T) {
	t.Parallel()
	drops := map[string]func(ctx context.Context, t *testing.T, m *pgsession.Manager){
		"drop user cache": func(ctx context.Context, t *testing.T, m *pgsession.Manager) {
			require.NoError(t, m.DropUserCache(ctx, "someone else"))
		},
		"delete user": func(ctx context.Context, t *testing.T, m *pgsession.Manager) {
			_, err := m.Create(ctx, "someone else", nil)
			require.NoError(t, err)
			heard := make(chan struct{}, 8)
			pgsession.SetAfterEventHook(m, func(kind byte) {
				if kind == 'U' {
					heard <- struct{}{}
				}
			})
			n, err := m.DeleteUser(ctx, "someone else")
			require.NoError(t, err)
			require.Equal(t, 1, n)
			select {
			case <-heard: // the listener applied the user-wide event: the epoch moved
			case <-ctx.Done():
				t.Fatal("the user-wide deletion never reached the node")
			}
		},
	}
	for name, drop := range drops {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := ctxT(t)
			c := newCluster(t, "postgres")
			m := c.node(testConfig())
			s, err := m.Create(ctx, "alice", map[string]any{"n": 1})
			require.NoError(t, err)
			_, err = m.Get(ctx, s.Token()) // cached at v1
			require.NoError(t, err)

			id := s.ID()
			release := holdRow(t, ctx, c.schema, id)

			done := make(chan *pgsession.Session, 1)
			go func() {
				u, err := m.Update(ctx, id, new(pgsession.Patch).Set("n", 2))
				if err != nil {
					t.Errorf("update: %v", err)
				}
				done <- u
			}()
			waitForLockWait(t, c.schema)
			drop(ctx, t, m)
			release()
			u := <-done
			require.NotNil(t, u)
			require.Equal(t, int64(2), u.Version())

			got, err := m.Get(ctx, s.Token())
			require.NoError(t, err)
			require.Equal(t, u.Version(), got.Version(), "the writer serves its own write")
			n, err := pgsession.Attr[int](got, "n")
			require.NoError(t, err)
			require.Equal(t, 2, n)
		})
	}
}

// A reload that finds the version it had renews the cached copy's age
// (DESIGN C8): an unchanged session older than CacheMaxAge is read once from
// the database, then served from memory again.
func TestUnchangedSessionIsCachedAgainAfterMaxAge(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		cfg := testConfig()
		cfg.CacheMaxAge = 100 * time.Millisecond
		m := c.node(cfg)
		s, err := m.Create(ctx, "", nil)
		require.NoError(t, err)
		_, err = m.Get(ctx, s.Token())
		require.NoError(t, err)
		time.Sleep(2 * cfg.CacheMaxAge)

		before := m.Stats()
		_, err = m.Get(ctx, s.Token()) // over age: read again, same version
		require.NoError(t, err)
		for range 10 {
			_, err = m.Get(ctx, s.Token())
			require.NoError(t, err)
		}
		after := m.Stats()
		require.Equal(t, uint64(1), after.CacheMisses-before.CacheMisses, "one reload, then hits")
		require.Equal(t, uint64(10), after.CacheHits-before.CacheHits)
	})
}
