// Package backends runs a test's nodes on each of pgsession's backends: a
// MemoryStore, or a fresh schema of the test database. It is apart from
// pgsessiontest because it needs the pgsession package, which
// pgsessiontest's users inside pgsession cannot import back.
package backends

import (
	"context"
	"crypto/rand"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/pgsessiontest"
)

// Backend is one store that a test's nodes share: a MemoryStore, or a
// fresh schema of the test database. Tests written against it run the same
// code on both, which is how pgsession checks that the two backends keep
// the same promises.
type Backend struct {
	Kind   string                 // "memory" or "postgres"
	Memory *pgsession.MemoryStore // nil on PostgreSQL
	Schema string                 // "" on memory
}

// Kinds are the kinds ForEach runs.
var Kinds = []string{"memory", "postgres"}

// ForEach runs test once per backend kind, as parallel subtests
// named after the kind, each on a Backend of its own.
func ForEach(t *testing.T, test func(t *testing.T, b *Backend)) {
	t.Parallel()
	for _, kind := range Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			test(t, New(t, kind))
		})
	}
}

// New returns an empty Backend of kind ("memory" or "postgres").
func New(tb testing.TB, kind string) *Backend {
	tb.Helper()
	switch kind {
	case "memory":
		return &Backend{Kind: kind, Memory: pgsession.NewMemoryStore()}
	case "postgres":
		return &Backend{Kind: kind, Schema: pgsessiontest.Schema(tb)}
	}
	tb.Fatalf("backends: no backend %q", kind)
	return nil
}

// Node starts a Manager on b, closed when the test ends. On PostgreSQL it
// has a pool of its own, whose statements tracer (if not nil) sees, and
// cfg.Schema is set to b's. When the pools go through PgBouncer
// (pgsessiontest.DirectListener), the listener connects straight to PostgreSQL unless cfg
// chose a connection of its own.
func (b *Backend) Node(tb testing.TB, cfg pgsession.Config, tracer pgx.QueryTracer) *pgsession.Manager {
	tb.Helper()
	var m *pgsession.Manager
	var err error
	if b.Memory != nil {
		m, err = pgsession.NewMemory(b.Memory, cfg)
	} else {
		cfg.Schema = b.Schema
		m, err = pgsession.New(context.Background(), pgsessiontest.Pool(tb, tracer), ListenDirect(tb, cfg))
	}
	if err != nil {
		tb.Fatalf("backends: start a %s node: %v", b.Kind, err)
	}
	tb.Cleanup(func() {
		if err := m.Close(context.Background()); err != nil {
			tb.Errorf("backends: close a %s node: %v", b.Kind, err)
		}
	})
	return m
}

// ListenDirect gives a PostgreSQL node's listener the direct connection of
// PGSESSION_TEST_LISTENER_URL when that is set and cfg chose no listener
// connection: PgBouncer in transaction mode cannot carry LISTEN. The
// listener is named as New would name it (pgsession.ListenerApplicationName),
// so tests find it in pg_stat_activity.
func ListenDirect(tb testing.TB, cfg pgsession.Config) pgsession.Config {
	if cfg.ListenerConnect != nil || !pgsessiontest.DirectListener() {
		return cfg
	}
	if cfg.NodeID == "" {
		cfg.NodeID = rand.Text() // random, as New would choose
	}
	cfg.ListenerConnect = pgsessiontest.ListenerConnect(tb, "pgsession-listener-"+cfg.NodeID)
	return cfg
}
