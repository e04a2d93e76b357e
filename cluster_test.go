package pgsession_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/pgsessiontest"
	"github.com/pgsession/pgsession/pgsessiontest/backends"
)

// cluster is one shared store (a fresh schema, or a MemoryStore) and the
// nodes (Managers) a test starts on it: pgsessiontest's Backend, with the
// names these tests use.
type cluster struct {
	t      *testing.T
	b      *backends.Backend
	kind   string // "memory" or "postgres"
	schema string
	mem    *pgsession.MemoryStore
}

// forEachBackend runs the same test on the memory backend and on PostgreSQL.
func forEachBackend(t *testing.T, test func(t *testing.T, c *cluster)) {
	backends.ForEach(t, func(t *testing.T, b *backends.Backend) { test(t, clusterOn(t, b)) })
}

func newCluster(t *testing.T, kind string) *cluster {
	return clusterOn(t, backends.New(t, kind))
}

func clusterOn(t *testing.T, b *backends.Backend) *cluster {
	return &cluster{t: t, b: b, kind: b.Kind, schema: b.Schema, mem: b.Memory}
}

// testConfig is a Config with background work off, so tests decide when
// touches and sweeps happen.
func testConfig() pgsession.Config {
	return pgsession.Config{TouchInterval: -1, SweepInterval: -1}
}

// node starts a Manager on the cluster's store, closed when the test ends.
func (c *cluster) node(cfg pgsession.Config) *pgsession.Manager {
	m, _ := c.tracedNode(cfg)
	return m
}

// tracedNode also returns the round-trip counter of the node's own pool
// (nil on memory).
func (c *cluster) tracedNode(cfg pgsession.Config) (*pgsession.Manager, *pgsessiontest.RoundTrips) {
	c.t.Helper()
	if c.kind == "memory" {
		return c.b.Node(c.t, cfg, nil), nil
	}
	rt := &pgsessiontest.RoundTrips{Skip: isBackground}
	return c.b.Node(c.t, cfg, rt), rt
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// rowCount counts stored sessions, live or not.
func (c *cluster) rowCount(t *testing.T) int {
	if c.kind == "memory" {
		return c.mem.Len()
	}
	var n int
	require.NoError(t, pgsessiontest.AdminPool(t).QueryRow(context.Background(),
		"SELECT count(*) FROM "+sessionsTable(c.schema)).Scan(&n))
	return n
}

// tracedNodeWith starts a PostgreSQL node whose pool reports to tracer.
func (c *cluster) tracedNodeWith(cfg pgsession.Config, tracer pgx.QueryTracer) (*pgsession.Manager, error) {
	cfg.Schema = c.schema
	m, err := pgsession.New(context.Background(), pgsessiontest.Pool(c.t, tracer), backends.ListenDirect(c.t, cfg))
	require.NoError(c.t, err)
	c.t.Cleanup(func() { require.NoError(c.t, m.Close(context.Background())) })
	return m, nil
}

// storedAttrCount counts a session's stored attributes, expired or not.
func (c *cluster) storedAttrCount(t *testing.T, id pgsession.ID) int {
	if c.kind == "memory" {
		return pgsession.MemoryAttrCount(c.mem, id)
	}
	var n int
	require.NoError(t, pgsessiontest.AdminPool(t).QueryRow(context.Background(),
		"SELECT count(*) FROM "+sessionsTable(c.schema)+" s, jsonb_object_keys(s.attrs) WHERE s.id = $1", id[:]).Scan(&n))
	return n
}

// holdRow locks a session's row in a transaction of the admin pool until
// the returned function commits it (or the test ends), so a test can make a
// statement wait on the row and decide when it goes on.
func holdRow(t *testing.T, ctx context.Context, schema string, id pgsession.ID) (release func()) {
	t.Helper()
	tx, err := pgsessiontest.AdminPool(t).Begin(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { tx.Rollback(context.WithoutCancel(ctx)) })
	_, err = tx.Exec(ctx, "SELECT 1 FROM "+sessionsTable(schema)+" WHERE id = $1 FOR UPDATE", id[:])
	require.NoError(t, err)
	return func() { require.NoError(t, tx.Commit(ctx)) }
}
