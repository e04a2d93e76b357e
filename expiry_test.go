package pgsession_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession"
)

// An expired session is "not found" at once, before any sweep (DESIGN M2).
func TestExpiredSessionsAreInvisibleBeforeTheSweep(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		m := c.node(testConfig())
		short, err := m.Create(ctx, "lea", nil, pgsession.WithLifetime(150*time.Millisecond))
		require.NoError(t, err)
		idle, err := m.Create(ctx, "lea", nil, pgsession.WithIdleTimeout(150*time.Millisecond))
		require.NoError(t, err)
		long, err := m.Create(ctx, "lea", nil)
		require.NoError(t, err)
		for _, s := range []*pgsession.Session{short, idle, long} {
			_, err := m.Get(ctx, s.Token())
			require.NoError(t, err)
		}
		time.Sleep(250 * time.Millisecond)
		for _, s := range []*pgsession.Session{short, idle} {
			_, err := m.Get(ctx, s.Token())
			require.ErrorIs(t, err, pgsession.ErrNotFound)
			_, err = m.Update(ctx, s.ID(), new(pgsession.Patch).Set("a", 1))
			require.ErrorIs(t, err, pgsession.ErrNotFound, "an expired session is not written")
		}
		list, err := m.ListUser(ctx, "lea")
		require.NoError(t, err)
		require.Len(t, list, 1)
		require.Equal(t, long.ID(), list[0].ID())
	})
}

// Use keeps a session alive past its idle timeout: touches are written in
// batches and move the idle deadline; NoTouch reads do not.
func TestTouchesKeepSessionsAlive(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		cfg := testConfig()
		// Idle timeout well above the touch interval: the whole suite runs at
		// once on two cores, and a flush can lag by hundreds of milliseconds.
		cfg.IdleTimeout = 1500 * time.Millisecond
		cfg.TouchInterval, cfg.TouchGranularity = 20*time.Millisecond, 10*time.Millisecond
		m := c.node(cfg)
		used, err := m.Create(ctx, "", nil)
		require.NoError(t, err)
		peeked, err := m.Create(ctx, "", nil)
		require.NoError(t, err)
		start := time.Now()
		for time.Since(start) < 2500*time.Millisecond {
			_, err := m.Get(ctx, used.Token())
			require.NoError(t, err, "in use for %v", time.Since(start))
			if time.Since(start) < 400*time.Millisecond {
				_, err = m.Get(ctx, peeked.Token(), pgsession.NoTouch())
				require.NoError(t, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		_, err = m.GetByID(ctx, peeked.ID(), pgsession.NoTouch())
		require.ErrorIs(t, err, pgsession.ErrNotFound, "reads without touch do not extend the session")
		got, err := m.GetByID(ctx, used.ID(), pgsession.NoTouch())
		require.NoError(t, err)
		require.True(t, got.LastSeenAt().After(used.LastSeenAt().Add(time.Second)), "last seen moved forward")
	})
}

// An attribute with a TTL disappears from reads when it expires, while the
// rest of the session stays.
func TestAttributeTTL(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		m := c.node(testConfig())
		s, err := m.Create(ctx, "", map[string]any{"keep": 1})
		require.NoError(t, err)
		s2, err := m.Update(ctx, s.ID(), new(pgsession.Patch).SetTTL("otp", "123456", 200*time.Millisecond))
		require.NoError(t, err)
		require.True(t, s2.Has("otp"))
		at, ok := s2.AttrExpiresAt("otp")
		require.True(t, ok)
		require.WithinDuration(t, s2.UpdatedAt().Add(200*time.Millisecond), at, 5*time.Millisecond)
		got, err := m.GetByID(ctx, s.ID())
		require.NoError(t, err)
		require.Equal(t, "123456", pgsession.AttrOr(got, "otp", ""))
		time.Sleep(300 * time.Millisecond)
		require.False(t, got.Has("otp"), "a snapshot read earlier also stops showing it")
		got, err = m.GetByID(ctx, s.ID())
		require.NoError(t, err)
		require.Equal(t, []string{"keep"}, got.Keys())
		_, err = pgsession.Attr[string](got, "otp")
		require.ErrorIs(t, err, pgsession.ErrAttributeNotFound)

		// Setting the key again without a TTL clears the expiry.
		s3, err := m.Update(ctx, s.ID(), new(pgsession.Patch).SetTTL("otp", "1", 100*time.Millisecond))
		require.NoError(t, err)
		_, err = m.Update(ctx, s3.ID(), new(pgsession.Patch).Set("otp", "2"))
		require.NoError(t, err)
		time.Sleep(150 * time.Millisecond)
		got, err = m.GetByID(ctx, s.ID())
		require.NoError(t, err)
		require.Equal(t, "2", pgsession.AttrOr(got, "otp", ""))
	})
}

// Attr decodes once per snapshot and type; concurrent readers are safe.
func TestAttrDecodesOncePerSnapshot(t *testing.T) {
	m, err := pgsession.NewMemory(nil, testConfig())
	require.NoError(t, err)
	defer m.Close(ctxT(t))
	s, err := m.Create(ctxT(t), "", map[string]any{"c": cart{Items: []string{"a"}, Total: 1}})
	require.NoError(t, err)
	first, err := pgsession.Attr[*cart](s, "c")
	require.NoError(t, err)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			again, err := pgsession.Attr[*cart](s, "c")
			if err != nil || again != first {
				t.Errorf("second decode returned a new value: %p vs %p (%v)", again, first, err)
			}
		}()
	}
	wg.Wait()
	var mine cart
	require.NoError(t, s.Decode("c", &mine))
	mine.Total = 99
	require.Equal(t, 1, first.Total, "Decode gives a private copy")
	// Asking for another type decodes again, as that type.
	v, err := pgsession.Attr[map[string]any](s, "c")
	require.NoError(t, err)
	require.Equal(t, float64(1), v["total"])
}
