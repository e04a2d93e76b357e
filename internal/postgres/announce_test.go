package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession/pgsessiontest"
)

// An announcement commits without waiting for its WAL flush (it only
// repeats what committed updates already made durable), and that setting
// ends with its own transaction: the next statement on the same pooled
// connection, which may be the caller's, commits durably again.
func TestAnnounceKeepsTheConnectionDurable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	names, err := NewNames(pgsessiontest.Schema(t), "pgsession_")
	require.NoError(t, err)
	pool := pgsessiontest.PoolWith(t, func(cfg *pgxpool.Config) { cfg.MaxConns = 1 })
	b := New(pool, names, false)

	require.NoError(t, b.Announce(ctx, []string{"hello", "again"}))
	var setting string
	require.NoError(t, pool.QueryRow(ctx, "SHOW synchronous_commit").Scan(&setting))
	require.Equal(t, "on", setting, "the announcement's relaxed commit leaked into the connection")
}
