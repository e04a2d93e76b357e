package pgsession_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/pgsessiontest"
	"github.com/pgsession/pgsession/pgsessiontest/backends"
)

// An update that commits while its reply is lost reports ErrOutcomeUnknown;
// the writer drops its copy and announces the unknown change, so neither it
// nor another node goes on serving the old version (DESIGN C6, C7). Before,
// nothing was announced and both served v1 until CacheMaxAge.
func TestUpdateWhoseReplyIsLostIsStillHonoured(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	c := newCluster(t, "postgres")
	// The update must reach the server on a connection already open: one
	// connection, and statements that go out whole, with no round trip to
	// prepare them first (the proxy would drop the server's description).
	pool, proxy := pgsessiontest.ProxiedPoolWith(t, func(cfg *pgxpool.Config) {
		cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeExec
		cfg.MaxConns = 1
	})
	a, err := pgsession.New(ctx, pool, backends.ListenDirect(t, withSchema(testConfig(), c.schema)))
	require.NoError(t, err)
	t.Cleanup(func() { proxy.Cut(); proxy.Pass(); require.NoError(t, a.Close(context.Background())) })
	b := c.node(testConfig())

	s, err := a.Create(ctx, "", map[string]any{"n": 0})
	require.NoError(t, err)
	_, err = a.Update(ctx, s.ID(), new(pgsession.Patch).Set("n", 1))
	require.NoError(t, err)
	require.True(t, cachedAt(a, s.ID(), 2))
	require.True(t, cachedAt(b, s.ID(), 2))

	require.Eventually(t, func() bool { return pool.Stat().AcquiredConns() == 0 }, within, time.Millisecond,
		"the connection is idle: the update will not wait for it")
	proxy.DropReplies()
	upd, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	_, err = a.Update(upd, s.ID(), new(pgsession.Patch).Set("n", 2))
	cancel()
	require.ErrorIs(t, err, pgsession.ErrOutcomeUnknown)
	id := s.ID()
	var stored int64
	require.NoError(t, pgsessiontest.AdminPool(t).QueryRow(ctx,
		"SELECT version FROM "+sessionsTable(c.schema)+" WHERE id = $1", id[:]).Scan(&stored))
	require.Equal(t, int64(3), stored, "the update committed; only its reply was lost")

	proxy.Cut() // connections that lost replies are useless; new ones work
	proxy.Pass()
	require.True(t, cachedAt(a, id, 3), "the writer reads again rather than serve its old copy")
	require.Eventually(t, func() bool { return cachedAt(b, id, 3) }, 500*time.Millisecond, time.Millisecond,
		"the other node heard of the unknown change")
}

// An update whose context ended before anything was sent fails with that
// error, certain: ErrOutcomeUnknown is only for a write that reached the
// server without an answer. Before, it was reported as unknown and
// announced to every node as a change of unknown version.
func TestUpdateNeverSentIsNotOutcomeUnknown(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	c := newCluster(t, "postgres")
	m := c.node(testConfig())
	s, err := m.Create(ctx, "", map[string]any{"k": 1})
	require.NoError(t, err)
	ended, cancel := context.WithCancel(ctx)
	cancel()
	_, err = m.Update(ended, s.ID(), new(pgsession.Patch).Set("k", 2))
	require.ErrorIs(t, err, context.Canceled)
	require.NotErrorIs(t, err, pgsession.ErrOutcomeUnknown)
	require.True(t, cachedAt(m, s.ID(), 1), "the copy is still trusted: nothing changed")
}
