package pgsession_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/pgsessiontest"
	"github.com/pgsession/pgsession/pgsessiontest/backends"
)

// cachedAt reports whether m serves id at version v without a database read.
func cachedAt(m *pgsession.Manager, id pgsession.ID, v int64) bool {
	s, err := m.GetByID(context.Background(), id, pgsession.NoTouch())
	return err == nil && s.Version() == v
}

// An update still in flight when Close begins is announced before Close
// returns (DESIGN C7): Close waits for it, then sends what is pending.
// Before, the announcer had stopped and the update was never announced.
func TestUpdateFinishingDuringCloseIsAnnounced(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	c := newCluster(t, "postgres")
	a := c.unmanagedNode(testConfig())
	b := c.node(testConfig())
	s, err := a.Create(ctx, "", map[string]any{"n": 1})
	require.NoError(t, err)
	require.True(t, cachedAt(b, s.ID(), 1))

	id := s.ID()
	release := holdRow(t, ctx, c.schema, id)
	updated := make(chan error, 1)
	go func() {
		_, err := a.Update(ctx, id, new(pgsession.Patch).Set("n", 2))
		updated <- err
	}()
	waitForLockWait(t, c.schema)
	closed := make(chan error, 1)
	go func() { closed <- a.Close(ctx) }()
	require.Eventually(t, func() bool {
		_, err := a.GetByID(ctx, id)
		return errors.Is(err, pgsession.ErrClosed)
	}, within, time.Millisecond, "Close began")
	_, err = a.Update(ctx, id, new(pgsession.Patch).Set("n", 3))
	require.ErrorIs(t, err, pgsession.ErrClosed, "no new update once Close began")
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while an update was in flight", err)
	case <-time.After(50 * time.Millisecond):
	}
	release()
	require.NoError(t, <-updated)
	require.NoError(t, <-closed)
	// Within the healthy bound (looser than stalenessBound, as the whole
	// suite runs at once), well before b's next read of the change log.
	require.Eventually(t, func() bool { return cachedAt(b, id, 2) }, suiteStaleness, time.Millisecond,
		"the other node heard of the update from its announcement")
}

// Close returns by its context's deadline even when the database does not
// answer at all, with touches and announcements pending.
func TestCloseKeepsItsDeadlineWhenTheDatabaseIsUnreachable(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	c := newCluster(t, "postgres")
	pool, proxy := pgsessiontest.ProxiedPool(t, nil)
	// The listener's own proxy: its server differs from the pool's when the
	// pool goes through PgBouncer (make test-pgbouncer).
	listenerProxy := pgsessiontest.NewProxy(t, pgsessiontest.ListenerServerAddr(t))
	cfg := withSchema(testConfig(), c.schema)
	cfg.TouchInterval = 10 * time.Minute // the touch stays pending until Close
	cfg.ListenerConnect = proxiedListener(listenerProxy)
	m, err := pgsession.New(ctx, pool, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { // cut: closing a black-holed connection waits
		proxy.Cut()
		listenerProxy.Cut()
		m.Close(context.Background())
	})
	s, err := m.Create(ctx, "", nil)
	require.NoError(t, err)
	_, err = m.Get(ctx, s.Token()) // a touch is pending
	require.NoError(t, err)

	proxy.Blackhole()
	listenerProxy.Blackhole()
	upd, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	_, err = m.Update(upd, s.ID(), new(pgsession.Patch).Set("n", 1)) // an announcement is pending
	cancel()
	require.ErrorIs(t, err, pgsession.ErrOutcomeUnknown)

	deadline, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = m.Close(deadline)
	took := time.Since(start)
	require.ErrorIs(t, err, context.DeadlineExceeded, "what could not be sent is reported")
	require.Less(t, took, 1500*time.Millisecond, "Close kept its deadline (it took up to 17 s before)")
}

// After Close, a held lock's context ends with ErrClosed as its cause.
func TestLockContextEndsWithErrClosedOnClose(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		m := c.unmanagedNode(testConfig())
		s, err := m.Create(ctx, "", nil)
		require.NoError(t, err)
		l, err := m.Lock(ctx, s.ID(), "job", nil)
		require.NoError(t, err)
		require.NoError(t, m.Close(ctx))
		<-l.Context().Done()
		require.ErrorIs(t, context.Cause(l.Context()), pgsession.ErrClosed)
	})
}

func withSchema(cfg pgsession.Config, schema string) pgsession.Config {
	cfg.Schema = schema
	return cfg
}

// unmanagedNode is cluster.node for tests that close the node themselves.
func (c *cluster) unmanagedNode(cfg pgsession.Config) *pgsession.Manager {
	var m *pgsession.Manager
	var err error
	if c.kind == "memory" {
		m, err = pgsession.NewMemory(c.mem, cfg)
	} else {
		m, err = pgsession.New(context.Background(), pgsessiontest.Pool(c.t, nil), backends.ListenDirect(c.t, withSchema(cfg, c.schema)))
	}
	require.NoError(c.t, err)
	return m
}
