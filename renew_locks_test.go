package pgsession_test

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
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
