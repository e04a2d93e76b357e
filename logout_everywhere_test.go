package pgsession_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/pgsessiontest"
	"github.com/pgsession/pgsession/pgsessiontest/backends"
)

// "Log out everywhere" ends a session whose renewal raced it (DESIGN W5).
// The renewal is held on the old row by another transaction, the user-wide
// delete is started behind it, then the row is released: before the fix
// the delete's snapshot missed the renewed row and it stayed alive.
func TestLogOutEverywhereEndsARacingRenewal(t *testing.T) {
	t.Parallel()
	type deletion struct {
		name   string
		except bool // keep one other session of the user
		run    func(ctx context.Context, m *pgsession.Manager, keep pgsession.ID) error
	}
	deletions := []deletion{
		{name: "delete user", run: func(ctx context.Context, m *pgsession.Manager, _ pgsession.ID) error {
			_, err := m.DeleteUser(ctx, "alice")
			return err
		}},
		{name: "delete user except", except: true, run: func(ctx context.Context, m *pgsession.Manager, keep pgsession.ID) error {
			_, err := m.DeleteUser(ctx, "alice", keep)
			return err
		}},
		{name: "delete all", run: func(ctx context.Context, m *pgsession.Manager, _ pgsession.ID) error {
			_, err := m.DeleteAll(ctx)
			return err
		}},
	}
	renewals := map[string][]pgsession.SessionOption{
		"renew":          nil,
		"renew as owner": {pgsession.AsUser("alice")},
	}
	for _, d := range deletions {
		for rname, ropts := range renewals {
			t.Run(d.name+"/"+rname, func(t *testing.T) {
				t.Parallel()
				ctx := ctxT(t)
				c := newCluster(t, "postgres")
				pool := pgsessiontest.PoolWith(t, func(cfg *pgxpool.Config) {
					cfg.ConnConfig.RuntimeParams["application_name"] = c.schema
				})
				cfg := testConfig()
				cfg.Schema = c.schema
				cfg.MaxSessionsPerUser = 10
				m, err := pgsession.New(ctx, pool, backends.ListenDirect(t, cfg))
				require.NoError(t, err)
				t.Cleanup(func() { require.NoError(t, m.Close(context.Background())) })

				old, err := m.Create(ctx, "alice", map[string]any{"k": 1})
				require.NoError(t, err)
				kept, err := m.Create(ctx, "alice", nil)
				require.NoError(t, err)

				oldID := old.ID()
				release := holdRow(t, ctx, c.schema, oldID)

				renewed := make(chan error, 1)
				var fresh *pgsession.Session
				go func() {
					var err error
					fresh, err = m.Renew(ctx, oldID, ropts...)
					renewed <- err
				}()
				waitForWaiters(t, c.schema, 1)
				deleted := make(chan error, 1)
				go func() { deleted <- d.run(ctx, m, kept.ID()) }()
				waitForWaiters(t, c.schema, 2)
				release()

				rerr := <-renewed
				require.NoError(t, <-deleted)
				if rerr != nil {
					require.ErrorIs(t, rerr, pgsession.ErrNotFound, "a renewal ordered after the delete finds nothing")
				} else {
					_, err := m.Get(ctx, fresh.Token(), pgsession.ForceRefresh())
					require.ErrorIs(t, err, pgsession.ErrNotFound, "the renewed session outlived log out everywhere")
				}
				var left []pgsession.ID
				for s, err := range m.All(ctx, 0) {
					require.NoError(t, err)
					left = append(left, s.ID())
				}
				if d.except {
					require.Equal(t, []pgsession.ID{kept.ID()}, left)
				} else {
					require.Empty(t, left)
				}
			})
		}
	}
}

// waitForWaiters returns once n statements of the pool named app (its
// application_name) wait for a lock: a row, an advisory or a table lock.
func waitForWaiters(t *testing.T, app string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var waiting int
		err := pgsessiontest.AdminPool(t).QueryRow(context.Background(),
			`SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`,
			app).Scan(&waiting)
		require.NoError(t, err)
		if waiting >= n {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal(errors.New("statements did not start waiting for the lock"))
}

// A user-wide delete and a touch flush that want the same rows never
// deadlock: both lock in id order. Before, the delete locked in the order of
// its index (creation time) and the flush in id order; with a session
// created later but with a smaller id, each held the row the other needed
// and PostgreSQL ended the delete after a second with a deadlock error.
func TestLogOutEverywhereAndTouchesNeverDeadlock(t *testing.T) {
	pgsessiontest.SkipBehindPgBouncer(t, "sets deadlock_timeout and enable_seqscan as startup parameters, which PgBouncer refuses: "+
		"in transaction mode clients share server connections, so one client's settings cannot hold")
	t.Parallel()
	ctx := ctxT(t)
	c := newCluster(t, "postgres")
	app := c.schema
	// Index scans, as on a table of real size: the delete then walks the
	// user's index in creation order. Should a deadlock form, the delete's
	// side notices it first and is the one PostgreSQL ends.
	named := func(deadlockTimeout string) func(cfg *pgxpool.Config) {
		return func(cfg *pgxpool.Config) {
			cfg.ConnConfig.RuntimeParams["application_name"] = app
			cfg.ConnConfig.RuntimeParams["enable_seqscan"] = "off"
			cfg.ConnConfig.RuntimeParams["deadlock_timeout"] = deadlockTimeout
		}
	}
	touchCfg := withSchema(testConfig(), c.schema)
	touchCfg.TouchInterval, touchCfg.TouchGranularity = 10*time.Minute, time.Millisecond // flushed by Close
	toucher, err := pgsession.New(ctx, pgsessiontest.PoolWith(t, named("10s")), touchCfg)
	require.NoError(t, err)
	deleter, err := pgsession.New(ctx, pgsessiontest.PoolWith(t, named("100ms")), withSchema(testConfig(), c.schema))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, deleter.Close(context.Background())) })

	// older has the larger id: creation order and id order disagree.
	var older, newer *pgsession.Session
	for newer == nil {
		first, err := deleter.Create(ctx, "alice", nil)
		require.NoError(t, err)
		second, err := deleter.Create(ctx, "alice", nil)
		require.NoError(t, err)
		a, b := first.ID(), second.ID()
		if string(b[:]) < string(a[:]) {
			older, newer = first, second
		}
	}
	for _, s := range []*pgsession.Session{older, newer} {
		_, err := toucher.Get(ctx, s.Token()) // a touch of each is pending
		require.NoError(t, err)
	}

	id := newer.ID()
	release := holdRow(t, ctx, c.schema, id)
	flushed := make(chan error, 1)
	go func() { flushed <- toucher.Close(ctx) }() // the flush waits for newer
	waitForWaiters(t, app, 1)
	deleted := make(chan error, 1)
	go func() {
		_, err := deleter.DeleteUser(ctx, "alice")
		deleted <- err
	}()
	waitForWaiters(t, app, 2)
	release()
	require.NoError(t, <-deleted, "log out everywhere")
	require.NoError(t, <-flushed, "the touch flush")
}
