package affinity_test

import (
	"context"
	"errors"
	"github.com/jackc/pgx/v5"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession/affinity"
	"github.com/pgsession/pgsession/pgsessiontest"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// Every operation is one round trip; touches within the granularity write
// nothing.
func TestPostgresRoundTrips(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	rt := &pgsessiontest.RoundTrips{}
	s, _ := newPostgres(t, affinity.Config{}, rt)
	ops := []struct {
		name string
		call func() error
	}{
		{"set", func() error { _, err := s.Set(ctx, "s", "w", "u"); return err }},
		{"get", func() error { _, err := s.Get(ctx, "s"); return err }},
		{"touch", func() error { _, err := s.Touch(ctx, "s"); return err }},
		{"count", func() error { _, err := s.CountForWorker(ctx, "w"); return err }},
		{"counts", func() error { _, err := s.CountForWorkers(ctx, []string{"w", "x"}); return err }},
		{"entries", func() error { _, err := s.EntriesForWorker(ctx, "w"); return err }},
		{"reroute", func() error { _, err := s.RerouteWorker(ctx, "w", "x"); return err }},
		{"delete", func() error { return s.Delete(ctx, "s") }},
		{"delete by worker", func() error { _, err := s.DeleteByWorker(ctx, "x"); return err }},
		{"sweep", func() error { _, err := s.SweepIdle(ctx, 0); return err }},
	}
	for _, op := range ops {
		rt.Reset()
		require.NoError(t, op.call(), op.name)
		require.Equal(t, 1, rt.Count(), "%s: %q", op.name, rt.Statements())
	}
}

// Touches are HOT updates: the table leaves room on each page and no index
// covers last_access, so a touch rewrites no index entry (DESIGN M1).
func TestPostgresTouchesAreHOT(t *testing.T) {
	pgsessiontest.Serial(t)
	ctx := ctxT(t)
	schema := "public"
	// One connection, so every touch runs in the backend whose statistics
	// the test then flushes and reads; in a database of its own, so no
	// transaction of another test holds back page pruning.
	pcfg, err := pgxpool.ParseConfig(pgsessiontest.Database(t))
	require.NoError(t, err)
	pcfg.MaxConns = 1
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	s, err := affinity.NewPostgres(ctx, pool, affinity.Config{Schema: schema, TouchGranularity: -1})
	require.NoError(t, err)

	table := schema + ".pgsession_affinity"
	var opts []string
	require.NoError(t, pool.QueryRow(ctx, `SELECT coalesce(reloptions, '{}') FROM pg_class WHERE oid = $1::regclass`, table).Scan(&opts))
	require.Contains(t, opts, "fillfactor=70")
	var indexed int
	require.NoError(t, pool.QueryRow(ctx, `
		SELECT count(*) FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
		WHERE i.indrelid = $1::regclass AND a.attname = 'last_access'`, table).Scan(&indexed))
	require.Zero(t, indexed, "no index may cover last_access")

	for i := range 20 {
		_, err := s.Set(ctx, "s"+strconv.Itoa(i), "w", "")
		require.NoError(t, err)
	}
	const touches = 200
	for i := range touches {
		_, err := s.Touch(ctx, "s"+strconv.Itoa(i%20))
		require.NoError(t, err)
	}
	_, err = pool.Exec(ctx, `SELECT pg_stat_force_next_flush()`)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `SELECT 1`) // the flush happens at the end of this statement's transaction
	require.NoError(t, err)
	var upd, hot int64
	require.NoError(t, pool.QueryRow(ctx, `SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relid = $1::regclass`, table).Scan(&upd, &hot))
	require.GreaterOrEqual(t, upd, int64(touches))
	// An index covering last_access would make none of them HOT.
	require.GreaterOrEqual(t, float64(hot)/float64(upd), 0.9, "HOT %d of %d", hot, upd)
}

// Expiry is judged by the database clock: moving a row's last access back
// in the database is enough, whatever the node's clock says.
func TestPostgresExpiryUsesTheDatabaseClock(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	s, _ := newPostgres(t, affinity.Config{IdleTimeout: time.Hour}, nil)
	_, err := s.Set(ctx, "s", "w", "")
	require.NoError(t, err)
	cfg := s.Config()
	_, err = pgsessiontest.AdminPool(t).Exec(ctx,
		`UPDATE `+cfg.Schema+`.pgsession_affinity SET last_access = now() - interval '61 minutes'`)
	require.NoError(t, err)
	_, err = s.Get(ctx, "s")
	require.ErrorIs(t, err, affinity.ErrNotFound)
	n, err := s.CountForWorker(ctx, "w")
	require.NoError(t, err)
	require.Zero(t, n)
}

// A touch that races a delete never brings the row back. The interleaving
// is forced: a delete holds the row's lock, uncommitted, while the touch
// runs; the test waits until the touch is blocked on that lock, then
// commits the delete.
//
// On the naive design (blockyard's: read the entry, then write it back with
// a new last access through the same upsert as Set), the read sees the row
// (the delete is not committed), the upsert waits for the lock, finds the
// row gone when the delete commits, and inserts a fresh row: the session
// comes back with whatever the touch wrote. Here Touch is a single UPDATE,
// which cannot insert, so the row stays gone. (Checked by swapping Touch's
// SQL for such an upsert: this test then fails on the final Get.)
func TestPostgresTouchBlockedByDeleteDoesNotResurrect(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	s, _ := newPostgres(t, affinity.Config{TouchGranularity: -1}, nil)
	_, err := s.Set(ctx, "s", "w", "alice")
	require.NoError(t, err)
	cfg := s.Config()
	admin := pgsessiontest.AdminPool(t)

	tx, err := admin.Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(context.WithoutCancel(ctx))
	key := affinity.KeyOf("s")
	tag, err := tx.Exec(ctx, `DELETE FROM `+cfg.Schema+`.pgsession_affinity WHERE id = $1`, key[:])
	require.NoError(t, err)
	require.EqualValues(t, 1, tag.RowsAffected())

	done := make(chan error, 1)
	go func() {
		_, err := s.Touch(ctx, "s")
		done <- err
	}()
	// Wait until the touch waits for the delete's row lock.
	require.Eventually(t, func() bool {
		var waiting int
		err := admin.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE wait_event_type = 'Lock' AND query LIKE '%'||$1||'%'`, cfg.Schema).Scan(&waiting)
		return err == nil && waiting == 1
	}, 10*time.Second, 5*time.Millisecond, "the touch never waited for the delete's lock")
	require.NoError(t, tx.Commit(ctx))

	// The touch began before the delete committed, so either answer is a
	// valid order; what matters is that it wrote nothing back.
	err = <-done
	if err != nil && !errors.Is(err, affinity.ErrNotFound) {
		t.Fatalf("touch: %v", err)
	}
	_, err = s.Get(ctx, "s")
	require.ErrorIs(t, err, affinity.ErrNotFound, "the touch brought the deleted row back")
	var rows int
	require.NoError(t, admin.QueryRow(ctx, `SELECT count(*) FROM `+cfg.Schema+`.pgsession_affinity`).Scan(&rows))
	require.Zero(t, rows)
}

// A connection cut under a call in flight gives an error, not ErrNotFound,
// and the store recovers once the network does.
func TestPostgresCutInFlight(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	s, proxy := newPostgres(t, affinity.Config{}, nil)
	_, err := s.Set(ctx, "s", "w", "")
	require.NoError(t, err)

	proxy.Blackhole()
	done := make(chan error, 1)
	go func() {
		_, err := s.Get(ctx, "s")
		done <- err
	}()
	time.Sleep(100 * time.Millisecond) // the Get is stuck in the black hole
	proxy.Cut()
	select {
	case err = <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a call stayed blocked after its connection was cut")
	}
	require.Error(t, err)
	require.NotErrorIs(t, err, affinity.ErrNotFound)

	proxy.Pass()
	require.Eventually(t, func() bool {
		e, err := s.Get(ctx, "s")
		return err == nil && e.WorkerID == "w"
	}, 10*time.Second, 20*time.Millisecond)
}

// Applications sharing a table see only their own entries.
func TestPostgresAppsAreSeparate(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	schema := pgsessiontest.Schema(t)
	pool := pgsessiontest.Pool(t, nil)
	a, err := affinity.NewPostgres(ctx, pool, affinity.Config{Schema: schema, App: "a"})
	require.NoError(t, err)
	b, err := affinity.NewPostgres(ctx, pool, affinity.Config{Schema: schema, App: "b"})
	require.NoError(t, err)
	_, err = a.Set(ctx, "s", "w", "")
	require.NoError(t, err)
	_, err = b.Get(ctx, "s")
	require.ErrorIs(t, err, affinity.ErrNotFound)
	n, err := b.DeleteByWorker(ctx, "w")
	require.NoError(t, err)
	require.Zero(t, n)
	_, err = a.Get(ctx, "s")
	require.NoError(t, err)
}

// The table has a migration chain of its own: the store creates its
// tables and nothing of pgsession's sessions; with manual migrations an
// unmigrated schema is refused; bad names are refused.
func TestPostgresMigrationsAndConfig(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	schema := pgsessiontest.Schema(t)
	pool := pgsessiontest.Pool(t, nil)
	_, err := affinity.NewPostgres(ctx, pool, affinity.Config{Schema: schema, ManualMigrations: true})
	require.ErrorIs(t, err, affinity.ErrSchemaVersion)
	_, err = affinity.NewPostgres(ctx, pool, affinity.Config{Schema: schema})
	require.NoError(t, err)
	var tables []string
	rows, err := pool.Query(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY 1`, schema)
	require.NoError(t, err)
	for rows.Next() {
		var name string
		require.NoError(t, rows.Scan(&name))
		tables = append(tables, name)
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []string{"pgsession_affinity", "pgsession_affinity_migrations"}, tables,
		"the affinity tables alone, not the session tables")
	_, err = affinity.NewPostgres(ctx, pool, affinity.Config{Schema: schema, ManualMigrations: true})
	require.NoError(t, err, "a migrated schema passes the check")

	for _, cfg := range []affinity.Config{
		{Schema: `x"; DROP TABLE t; --`},
		{Schema: schema, TablePrefix: "Bad"},
		{Schema: schema, App: "has{brace}"},
		{Schema: schema, IdleTimeout: time.Microsecond},
		{Schema: schema, IdleTimeout: time.Minute, TouchGranularity: time.Minute},
	} {
		_, err := affinity.NewPostgres(ctx, pool, cfg)
		require.ErrorIs(t, err, affinity.ErrInvalidConfig, "%+v", cfg)
		_, err = affinity.NewMemory(cfg)
		require.ErrorIs(t, err, affinity.ErrInvalidConfig, "%+v", cfg)
	}
}

// A schema whose affinity table an earlier release created (as step 3 of
// the sessions chain) is adopted by the affinity chain with its entries;
// Migrate, MigrateDown and SchemaVersion move the chain alone.
func TestAffinityChainAdoptsAndMovesAlone(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	schema := pgsessiontest.Schema(t)
	pool := pgsessiontest.Pool(t, nil)
	cfg := affinity.Config{Schema: schema}
	done, err := affinity.Migrate(ctx, pool, cfg)
	require.NoError(t, err)
	require.Equal(t, []int{1}, done)
	st, err := affinity.NewPostgres(ctx, pool, affinity.Config{Schema: schema, ManualMigrations: true})
	require.NoError(t, err)
	_, err = st.Set(ctx, "s1", "w1", "")
	require.NoError(t, err)
	// As an earlier release left it: the table, no record of the chain.
	_, err = pool.Exec(ctx, `DROP TABLE `+pgx.Identifier{schema, "pgsession_affinity_migrations"}.Sanitize())
	require.NoError(t, err)
	have, want, err := affinity.SchemaVersion(ctx, pool, cfg)
	require.NoError(t, err)
	require.Equal(t, [2]int{0, 1}, [2]int{have, want})
	st, err = affinity.NewPostgres(ctx, pool, cfg)
	require.NoError(t, err, "the existing table is adopted")
	e, err := st.Get(ctx, "s1")
	require.NoError(t, err)
	require.Equal(t, "w1", e.WorkerID)

	done, err = affinity.MigrateDown(ctx, pool, cfg, 0)
	require.NoError(t, err)
	require.Equal(t, []int{1}, done)
	var exists bool
	require.NoError(t, pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`,
		pgx.Identifier{schema, "pgsession_affinity"}.Sanitize()).Scan(&exists))
	require.False(t, exists, "down drops the affinity tables")
}

// Keys print as the hex that Redis key names use, and parse back.
func TestKeyRoundTrip(t *testing.T) {
	t.Parallel()
	k := affinity.KeyOf("session")
	back, err := affinity.ParseKey(k.String())
	require.NoError(t, err)
	require.Equal(t, k, back)
	_, err = affinity.ParseKey("zz")
	require.ErrorIs(t, err, affinity.ErrInvalidArgument)
	_, err = affinity.ParseKey(k.String()[:62] + "zz")
	require.ErrorIs(t, err, affinity.ErrInvalidArgument)
}
