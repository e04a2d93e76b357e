package pgsession_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/pgsessiontest"
)

// waitPushed waits until node m has replaced n cached copies with rows
// other nodes pushed.
func waitPushed(t *testing.T, m *pgsession.Manager, n uint64) {
	t.Helper()
	require.Eventually(t, func() bool { return m.Stats().PushedCopies >= n }, within, time.Millisecond,
		"the pushed row never replaced the copy")
}

// An update's row reaches the other nodes holding the session, which serve
// it without reading the database (DESIGN C9): one write, no reload storm
// on the nodes that cached it.
func TestUpdatePushesItsRowToNodesHoldingACopy(t *testing.T) {
	t.Parallel()
	c := newCluster(t, "postgres")
	ctx := ctxT(t)
	a := c.node(testConfig())
	b, reads := c.tracedNode(testConfig())
	s, err := a.Create(ctx, "ada", map[string]any{"n": 1, "theme": "dark"})
	require.NoError(t, err)
	_, err = a.Update(ctx, s.ID(), new(pgsession.Patch).SetTTL("otp", "x", time.Hour)) // an expiring key
	require.NoError(t, err)
	before, err := b.GetByID(ctx, s.ID())
	require.NoError(t, err)

	u, err := a.Update(ctx, s.ID(), new(pgsession.Patch).Set("n", 2).Delete("theme"))
	require.NoError(t, err)
	waitPushed(t, b, 1)
	reads.Reset()
	got, err := b.GetByID(ctx, s.ID(), pgsession.NoTouch())
	require.NoError(t, err)
	require.Zero(t, reads.Count(), "b served the pushed row: %v", reads.Statements())
	require.Equal(t, u.Version(), got.Version())
	require.Equal(t, 2, pgsession.AttrOr(got, "n", 0))
	require.False(t, got.Has("theme"))
	require.Equal(t, "x", pgsession.AttrOr(got, "otp", ""))
	exp, ok := got.AttrExpiresAt("otp")
	require.True(t, ok)
	wantExp, _ := u.AttrExpiresAt("otp")
	require.True(t, exp.Equal(wantExp), "%v != %v", exp, wantExp)
	require.Equal(t, "ada", got.UserID())
	require.True(t, got.ExpiresAt().Equal(u.ExpiresAt()))
	require.True(t, got.UpdatedAt().After(before.UpdatedAt()) || got.UpdatedAt().Equal(u.UpdatedAt()))
}

// A node without a copy caches nothing from a push: it reads the session
// when asked, as after an invalidation.
func TestPushToANodeWithoutACopyCachesNothing(t *testing.T) {
	t.Parallel()
	c := newCluster(t, "postgres")
	ctx := ctxT(t)
	a := c.node(testConfig())
	b, reads := c.tracedNode(testConfig())
	s, err := a.Create(ctx, "", map[string]any{"n": 1})
	require.NoError(t, err)
	applied := make(chan byte, 4)
	pgsession.SetAfterEventHook(b, func(kind byte) { applied <- kind })
	_, err = a.Update(ctx, s.ID(), new(pgsession.Patch).Set("n", 2))
	require.NoError(t, err)
	select {
	case kind := <-applied:
		require.Equal(t, byte('r'), kind, "a lone update pushes its row")
	case <-time.After(within):
		t.Fatal("the push never reached b")
	}
	require.Zero(t, b.Stats().CacheEntries)
	reads.Reset()
	got, err := b.GetByID(ctx, s.ID())
	require.NoError(t, err)
	require.Equal(t, int64(2), got.Version())
	require.Equal(t, 1, reads.Count())
}

// A push that arrives after the session was deleted never brings it back
// (DESIGN C9): the update commits, the session is deleted on another node
// and every node drops it, and only then is the update's row announced.
func TestLatePushNeverRevivesADeletedSession(t *testing.T) {
	t.Parallel()
	c := newCluster(t, "postgres")
	ctx := ctxT(t)
	a, deleter := c.node(testConfig()), c.node(testConfig())
	b, reads := c.tracedNode(testConfig())
	s, err := a.Create(ctx, "", map[string]any{"n": 1})
	require.NoError(t, err)
	_, err = b.GetByID(ctx, s.ID()) // b holds version 1
	require.NoError(t, err)

	kinds := make(chan byte, 16)
	pgsession.SetAfterEventHook(b, func(kind byte) { kinds <- kind })
	deleted := make(chan struct{})
	pgsession.SetBeforeAnnounceHook(a, func(id pgsession.ID, _ int64) {
		if id == s.ID() {
			<-deleted // the announcement waits for the deletion to reach b
		}
	})
	updated := make(chan error, 1)
	go func() {
		_, err := a.Update(ctx, s.ID(), new(pgsession.Patch).Set("n", 2))
		updated <- err
	}()
	// The update has committed once a's hook runs; delete meanwhile.
	require.Eventually(t, func() bool {
		v, err := pgsessiontest.AdminPool(t).Exec(ctx, "SELECT 1 FROM "+sessionsTable(c.schema)+" WHERE version = 2")
		return err == nil && v.RowsAffected() == 1
	}, within, time.Millisecond)
	require.NoError(t, deleter.Delete(ctx, s.ID()))
	waitKind(t, kinds, 'd')
	close(deleted)
	require.NoError(t, <-updated)
	waitKind(t, kinds, 'r')

	require.Zero(t, b.Stats().PushedCopies)
	require.Zero(t, b.Stats().CacheEntries, "the pushed row was not cached")
	reads.Reset()
	_, err = b.GetByID(ctx, s.ID(), pgsession.ForceRefresh())
	require.ErrorIs(t, err, pgsession.ErrNotFound)
	_, err = b.GetByID(ctx, s.ID())
	require.ErrorIs(t, err, pgsession.ErrNotFound)
}

// waitKind waits for b to apply an event of the kind.
func waitKind(t *testing.T, kinds <-chan byte, want byte) {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case k := <-kinds:
			if k == want {
				return
			}
		case <-deadline:
			t.Fatalf("no %q event within %v", want, within)
		}
	}
}
