package pgsession_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/pgsessiontest"
)

// Concurrent renewals of one user's sessions never deadlock, also for a
// user whose hashtext is 0. The schema-wide lock that every renewal shares
// used to be the two-key lock (class, 0): such a user's own lock was the
// same lock, which each renewal then asked for exclusive while the others
// shared it.
func TestRenewalsOfOneUserNeverDeadlock(t *testing.T) {
	t.Parallel()
	for _, user := range []string{"user-1", "user-1108931410"} { // hashtext of the second is 0
		t.Run(user, func(t *testing.T) {
			t.Parallel()
			ctx := ctxT(t)
			c := newCluster(t, "postgres")
			var h int32
			require.NoError(t, pgsessiontest.AdminPool(t).QueryRow(ctx, "SELECT hashtext($1)", user).Scan(&h))
			m := c.node(testConfig())
			const workers, rounds = 6, 5
			ids := make([]pgsession.ID, workers)
			for i := range ids {
				s, err := m.Create(ctx, user, nil)
				require.NoError(t, err)
				ids[i] = s.ID()
			}
			var deadlocks atomic.Int32
			for range rounds {
				var wg sync.WaitGroup
				start := make(chan struct{})
				for i := range ids {
					wg.Go(func() {
						<-start
						s, err := m.Renew(ctx, ids[i])
						var pgErr *pgconn.PgError
						switch {
						case err == nil:
							ids[i] = s.ID()
						case errors.As(err, &pgErr) && pgErr.Code == "40P01":
							deadlocks.Add(1)
						default:
							t.Error(err)
						}
					})
				}
				close(start)
				wg.Wait()
			}
			require.Zero(t, deadlocks.Load(), "user %q (hashtext %d): renewals deadlocked", user, h)
		})
	}
}

// A renewal that evicts a session locks the old row, then the evicted one,
// while a touch flush locks rows in id order: with the evicted id below the
// old one each can hold what the other needs, and PostgreSQL ends one as a
// deadlock's victim. A renewal so ended changed nothing and is sent again:
// the log-in succeeds. The flush is played by a transaction taking the
// same locks in id order, in two steps so the interleaving is certain.
func TestRenewalEndedAsADeadlockVictimIsRetried(t *testing.T) {
	pgsessiontest.SkipBehindPgBouncer(t, "sets deadlock_timeout as a startup parameter, which PgBouncer refuses: "+
		"in transaction mode clients share server connections, so one client's settings cannot hold")
	t.Parallel()
	ctx := ctxT(t)
	c := newCluster(t, "postgres")
	pool := pgsessiontest.PoolWith(t, func(cfg *pgxpool.Config) {
		cfg.ConnConfig.RuntimeParams["application_name"] = c.schema
		cfg.ConnConfig.RuntimeParams["deadlock_timeout"] = "100ms" // the renewal notices first
	})
	cfg := withSchema(testConfig(), c.schema)
	cfg.MaxSessionsPerUser = 1
	m, err := pgsession.New(ctx, pool, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, m.Close(context.Background())) })
	var victim, old *pgsession.Session
	for {
		victim, err = m.Create(ctx, "u", nil)
		require.NoError(t, err)
		old, err = m.Create(ctx, "", nil)
		require.NoError(t, err)
		v, o := victim.ID(), old.ID()
		if bytes.Compare(v[:], o[:]) < 0 {
			break
		}
		require.NoError(t, m.Delete(ctx, victim.ID()))
		require.NoError(t, m.Delete(ctx, old.ID()))
	}
	tx, err := pgsessiontest.AdminPool(t).Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(context.WithoutCancel(ctx))
	vid, oid := victim.ID(), old.ID()
	_, err = tx.Exec(ctx, "SELECT 1 FROM "+sessionsTable(c.schema)+" WHERE id = $1 FOR NO KEY UPDATE", vid[:])
	require.NoError(t, err)
	renewed := make(chan error, 1)
	go func() {
		_, err := m.Renew(ctx, old.ID(), pgsession.AsUser("u"))
		renewed <- err
	}()
	waitForWaiters(t, c.schema, 1) // the renewal holds the old row and waits for the victim's
	_, err = tx.Exec(ctx, "SELECT 1 FROM "+sessionsTable(c.schema)+" WHERE id = $1 FOR NO KEY UPDATE", oid[:])
	require.NoError(t, err, "the renewal was the deadlock's victim and let go")
	require.NoError(t, tx.Commit(ctx))
	require.NoError(t, <-renewed, "the renewal was sent again and logged the user in")
}
