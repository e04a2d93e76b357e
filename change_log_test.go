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

// faultBound is S_fault: how soon every healthy node honours a change
// whose announcement never came (DESIGN C7).
const faultBound = 2 * time.Second

// An update that is never announced (here the writer announces nothing, as
// a writer killed after its commit would) still reaches another node from
// the change log within about one poll interval. A node that does not read
// the log keeps serving the old copy: the log is what saves the first.
func TestUnannouncedUpdateReachesOtherNodesFromTheChangeLog(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	c := newCluster(t, "postgres")
	silent := testConfig()
	silent.SkipUpdateNotify = true
	a := c.node(silent)
	reading := testConfig()
	reading.ChangePollInterval = 100 * time.Millisecond
	b := c.node(reading)
	deaf := testConfig()
	deaf.ChangePollInterval = -1
	d := c.node(deaf)

	s, err := a.Create(ctx, "", map[string]any{"n": 1})
	require.NoError(t, err)
	require.True(t, cachedAt(b, s.ID(), 1))
	require.True(t, cachedAt(d, s.ID(), 1))
	_, err = a.Update(ctx, s.ID(), new(pgsession.Patch).Set("n", 2))
	require.NoError(t, err)
	committed := time.Now()
	require.Eventually(t, func() bool { return cachedAt(b, s.ID(), 2) }, faultBound, time.Millisecond)
	t.Logf("the reading node served v2 %v after commit (poll interval %v)", time.Since(committed), reading.ChangePollInterval)
	require.Greater(t, b.Stats().ChangeLogRows, uint64(0))
	require.True(t, cachedAt(d, s.ID(), 1), "without the change log the update is missed")
}

// A node that cannot read the change log for three intervals stops serving
// from its cache (it could miss an unannounced change), and serves from it
// again, emptied first, once it can.
func TestUnreadableChangeLogBypassesTheCache(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	c := newCluster(t, "postgres")
	pool, proxy := pgsessiontest.ProxiedPool(t, nil)
	cfg := withSchema(testConfig(), c.schema)
	cfg.ChangePollInterval = 50 * time.Millisecond
	cfg.ListenerConnect = func(ctx context.Context) (*pgx.Conn, error) { // directly, not through the proxy
		return pgx.Connect(ctx, pgsessiontest.ListenerURL())
	}
	m, err := pgsession.New(ctx, pool, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { proxy.Cut(); proxy.Pass(); require.NoError(t, m.Close(context.Background())) })
	s, err := m.Create(ctx, "", nil)
	require.NoError(t, err)
	require.True(t, cachedAt(m, s.ID(), 1))

	proxy.Blackhole()
	cut := time.Now()
	require.Eventually(t, func() bool { return m.Stats().CacheBypassed }, faultBound, time.Millisecond)
	t.Logf("cache bypassed %v after the change log became unreadable", time.Since(cut))

	proxy.Cut()
	proxy.Pass()
	require.Eventually(t, func() bool { return !m.Stats().CacheBypassed }, 10*time.Second, time.Millisecond)
	require.Zero(t, m.Stats().CacheEntries, "what was cached while it could not read was dropped")
	require.Zero(t, m.Stats().Reconnects, "the listener was never lost: the change log alone decided")
}

// A node fetches from the change log only the rows whose announcement it has
// not heard (DESIGN C7): with its updates announced, another node reads
// almost none of their rows, so the log costs each node a query per
// interval rather than a row per update per node. A row whose announcement
// never came is still fetched. Before, every node read every row.
func TestChangeLogReadersFetchOnlyWhatWasNotAnnounced(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	c := newCluster(t, "postgres")
	a := c.node(testConfig())
	reading := testConfig()
	reading.ChangePollInterval = 200 * time.Millisecond
	b := c.node(reading)
	s, err := a.Create(ctx, "", map[string]any{"n": 0})
	require.NoError(t, err)
	require.True(t, cachedAt(b, s.ID(), 1))
	rows0 := b.Stats().ChangeLogRows

	const updates = 100
	for i := 1; i <= updates; i++ {
		_, err := a.Update(ctx, s.ID(), new(pgsession.Patch).Set("n", i))
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool { return cachedAt(b, s.ID(), updates+1) }, faultBound, time.Millisecond)
	time.Sleep(3 * reading.ChangePollInterval) // reads that would have fetched them
	fetched := b.Stats().ChangeLogRows - rows0
	t.Logf("the other node fetched %d of the %d announced updates' rows", fetched, updates)
	// Only rows that committed in the moment before their announcement
	// arrived, when a read happened to fall there, may be fetched.
	require.Less(t, fetched, uint64(updates/2), "rows of announced updates were fetched")

	_, err = a.Update(ctx, s.ID(), new(pgsession.Patch).Set("n", -1), pgsession.NoNotify())
	require.NoError(t, err)
	require.Eventually(t, func() bool { return cachedAt(b, s.ID(), updates+2) }, faultBound, time.Millisecond,
		"an unannounced update is read from the log")
	require.Greater(t, b.Stats().ChangeLogRows, rows0+fetched)
}
