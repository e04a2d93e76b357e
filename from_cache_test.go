package pgsession_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession"
)

// FromCache tells a snapshot served from the node's memory from one the
// call read or wrote in the database, and a later hit never changes what
// an earlier caller's snapshot says: the cache keeps a copy of its own.
func TestFromCacheSaysWhereTheSnapshotCameFrom(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		a, b := c.node(testConfig()), c.node(testConfig())
		for _, m := range []*pgsession.Manager{a, b} { // caches serve once the listeners are up
			require.Eventually(t, func() bool { return !m.Stats().CacheBypassed }, within, time.Millisecond)
		}
		s, err := a.Create(ctx, "ada", map[string]any{"n": 1})
		require.NoError(t, err)
		require.False(t, s.FromCache(), "create wrote it")
		own, err := a.GetByID(ctx, s.ID())
		require.NoError(t, err)
		require.True(t, own.FromCache(), "the create's row is cached on its node")
		require.Empty(t, own.Token(), "the cached copy never holds the secret")
		require.NotEmpty(t, s.Token())

		first, err := b.Get(ctx, s.Token())
		require.NoError(t, err)
		require.False(t, first.FromCache(), "b had no copy: read from the database")
		hit, err := b.Get(ctx, s.Token())
		require.NoError(t, err)
		require.True(t, hit.FromCache())
		require.Equal(t, first.Version(), hit.Version())
		require.False(t, first.FromCache(), "the hit did not change the earlier caller's snapshot")

		forced, err := b.GetByID(ctx, s.ID(), pgsession.ForceRefresh())
		require.NoError(t, err)
		require.False(t, forced.FromCache())

		u, err := a.Update(ctx, s.ID(), new(pgsession.Patch).Set("n", 2))
		require.NoError(t, err)
		require.False(t, u.FromCache(), "update wrote it")
		after, err := a.GetByID(ctx, s.ID())
		require.NoError(t, err)
		require.True(t, after.FromCache(), "the update's row is cached on its node")
		require.Equal(t, u.Version(), after.Version())
		require.False(t, u.FromCache())

		r, err := a.Renew(ctx, s.ID())
		require.NoError(t, err)
		require.False(t, r.FromCache())
		require.NotEmpty(t, r.Token())
		list, err := a.ListUser(ctx, "ada")
		require.NoError(t, err)
		require.Len(t, list, 1)
		require.False(t, list[0].FromCache())
		for got, err := range a.All(ctx, 0) {
			require.NoError(t, err)
			require.False(t, got.FromCache())
		}

		noCache := testConfig()
		noCache.CacheSize = -1
		n := c.node(noCache)
		for range 2 {
			got, err := n.Get(ctx, r.Token())
			require.NoError(t, err)
			require.False(t, got.FromCache(), "without a cache every read goes to the database")
		}
	})
}

// Attrs returns the live attributes in a map the caller owns.
func TestAttrsReturnsTheLiveAttributesAsACopy(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		m := c.node(testConfig())
		s, err := m.Create(ctx, "", map[string]any{"cart": []string{"tea"}, "n": 1})
		require.NoError(t, err)
		s, err = m.Update(ctx, s.ID(), new(pgsession.Patch).SetTTL("flash", "saved", 300*time.Millisecond))
		require.NoError(t, err)
		got, err := m.GetByID(ctx, s.ID())
		require.NoError(t, err)

		attrs := got.Attrs()
		require.Equal(t, map[string]json.RawMessage{
			"cart": json.RawMessage(`["tea"]`), "n": json.RawMessage(`1`), "flash": json.RawMessage(`"saved"`),
		}, attrs)
		attrs["n"][0] = '9'
		attrs["extra"] = json.RawMessage(`true`)
		delete(attrs, "cart")
		raw, ok := got.Raw("n")
		require.True(t, ok)
		require.JSONEq(t, `1`, string(raw), "changing the map's values leaves the snapshot alone")
		require.Len(t, got.Attrs(), 3, "each call returns a new map")

		require.Eventually(t, func() bool { _, ok := got.Attrs()["flash"]; return !ok },
			2*time.Second, 10*time.Millisecond, "an expired attribute leaves the map")
		require.Equal(t, []string{"cart", "n"}, got.Keys())
		require.Len(t, got.Attrs(), 2)
	})
}
