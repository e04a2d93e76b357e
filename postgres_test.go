package pgsession_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/pgsessiontest"
	"github.com/pgsession/pgsession/pgsessiontest/backends"
)

// sessionsTable is the quoted name of a test schema's sessions table.
func sessionsTable(schema string) string {
	return pgx.Identifier{schema, "pgsession_sessions"}.Sanitize()
}

// The round-trip budget of DESIGN.md, counted exactly (statement preparation
// on a connection's first use is pgx's cache and is not counted).
func TestRoundTripBudget(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	c := newCluster(t, "postgres")
	cfg := testConfig()
	cfg.MaxSessionsPerUser = 2
	cfg.SweepBatchSize = 2
	cfg.IdleTimeout = -1
	cfg.TouchInterval = time.Hour // flushed by Close only, so we count it
	cfg.TouchBatchSize = 2
	m, rt := c.tracedNode(cfg)

	budget := func(op string, want int, f func() error) {
		t.Helper()
		rt.Reset()
		require.NoError(t, f(), op)
		require.Equal(t, want, rt.Count(), "%s: %q", op, rt.Statements())
	}
	var s, s2 *pgsession.Session
	budget("create", 1, func() (err error) { s, err = m.Create(ctx, "ivy", map[string]any{"a": 1}); return })
	budget("create with eviction", 1, func() (err error) { _, err = m.Create(ctx, "ivy", nil); return })
	budget("create past the cap", 1, func() (err error) { s2, err = m.Create(ctx, "ivy", nil); return })
	budget("create anonymous", 1, func() (err error) { _, err = m.Create(ctx, "", nil); return })
	budget("get, cache hit", 0, func() (err error) { _, err = m.Get(ctx, s2.Token()); return })
	budget("get by token, miss", 1, func() (err error) { _, err = m.Get(ctx, s2.Token(), pgsession.ForceRefresh()); return })
	budget("get by id, miss", 1, func() (err error) { _, err = m.GetByID(ctx, s2.ID(), pgsession.ForceRefresh()); return })
	budget("get of a session this node evicted", 0, func() error {
		_, err := m.GetByID(ctx, s.ID()) // evicted by the cap: known gone here
		if !errors.Is(err, pgsession.ErrNotFound) {
			t.Fatalf("evicted session: %v", err)
		}
		return nil
	})
	var unknown pgsession.ID
	unknown[0] = 7
	for i, want := range []int{1, 0} { // a miss, then known gone
		budget(fmt.Sprintf("get of an unknown id (%d)", i), want, func() error {
			if _, err := m.GetByID(ctx, unknown); !errors.Is(err, pgsession.ErrNotFound) {
				t.Fatalf("unknown id: %v", err)
			}
			return nil
		})
	}
	budget("update", 1, func() (err error) {
		_, err = m.Update(ctx, s2.ID(), new(pgsession.Patch).Set("x", 1).Delete("y"))
		return
	})
	budget("update refused", 1, func() error {
		_, err := m.Update(ctx, s2.ID(), new(pgsession.Patch).Set("x", 2), pgsession.IfVersion(1))
		require.ErrorIs(t, err, pgsession.ErrVersionConflict)
		return nil
	})
	budget("list user", 1, func() (err error) { _, err = m.ListUser(ctx, "ivy"); return })
	budget("renew", 1, func() (err error) { s2, err = m.Renew(ctx, s2.ID()); return })
	budget("renew as user with cap", 1, func() error {
		a, err := m.Create(ctx, "", nil)
		require.NoError(t, err)
		rt.Reset()
		_, err = m.Renew(ctx, a.ID(), pgsession.AsUser("ivy"))
		return err
	})
	budget("delete", 1, func() error { return m.Delete(ctx, s2.ID()) })
	budget("delete user", 1, func() (err error) { _, err = m.DeleteUser(ctx, "ivy"); return })
	budget("delete all", 1, func() (err error) { _, err = m.DeleteAll(ctx); return })

	// Touches: none per request, one statement per batch at flush.
	var live []*pgsession.Session
	for i := 0; i < 5; i++ {
		x, err := m.Create(ctx, "", nil)
		require.NoError(t, err)
		live = append(live, x)
	}
	rt.Reset()
	for _, x := range live {
		_, err := m.Get(ctx, x.Token(), pgsession.ForceRefresh())
		require.NoError(t, err)
	}
	require.Equal(t, 5, rt.Count(), "a get costs its read and nothing more")
	rt.Reset()
	require.NoError(t, m.Close(ctx))
	require.Equal(t, 3, rt.Count(), "5 touches in batches of 2: %q", rt.Statements())

	// Sweep: one statement per batch.
	m2, rt2 := c.tracedNode(testConfig2(2))
	_, err := pgsessiontest.AdminPool(t).Exec(ctx, "UPDATE "+sessionsTable(c.schema)+" SET expires_at = now() - interval '1 second'")
	require.NoError(t, err)
	rt2.Reset()
	res, err := m2.Sweep(ctx)
	require.NoError(t, err)
	require.Equal(t, 5, res.Deleted)
	require.Equal(t, 3, res.Batches)
	require.Equal(t, res.Batches, rt2.Count())
}

// isAnnouncement matches the statement that announces updates: sent by one
// goroutine per node, after commit, for many updates at once.
func isAnnouncement(sql string) bool { return strings.HasPrefix(sql, "SELECT pg_notify($1, p)") }

// isBackground matches what a node sends on its own, per interval and not
// per operation: announcements, and reads and pruning of the change log.
func isBackground(sql string) bool {
	return isAnnouncement(sql) || strings.Contains(sql, `pgsession_changes" c`)
}

func testConfig2(sweepBatch int) pgsession.Config {
	cfg := testConfig()
	cfg.SweepBatchSize = sweepBatch
	return cfg
}

// An update waiting on a row whose delete then commits returns ErrNotFound
// and leaves no row: the interleaving is forced with a held transaction.
func TestUpdateBlockedBehindDeleteDoesNotResurrect(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	c := newCluster(t, "postgres")
	m := c.node(testConfig())
	s, err := m.Create(ctx, "", map[string]any{"a": 1})
	require.NoError(t, err)

	admin := pgsessiontest.AdminPool(t)
	tx, err := admin.Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(context.WithoutCancel(ctx))
	id := s.ID()
	_, err = tx.Exec(ctx, "DELETE FROM "+sessionsTable(c.schema)+" WHERE id = $1", id[:])
	require.NoError(t, err)

	done := make(chan error, 1)
	go func() {
		_, err := m.Update(ctx, s.ID(), new(pgsession.Patch).Set("b", 2))
		done <- err
	}()
	waitForLockWait(t, c.schema)
	require.NoError(t, tx.Commit(ctx))
	require.ErrorIs(t, <-done, pgsession.ErrNotFound)

	var n int
	require.NoError(t, admin.QueryRow(ctx, "SELECT count(*) FROM "+sessionsTable(c.schema)).Scan(&n))
	require.Zero(t, n)
}

// waitForLockWait returns once a statement on schema waits for a lock.
func waitForLockWait(t *testing.T, schema string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var waiting bool
		err := pgsessiontest.AdminPool(t).QueryRow(context.Background(),
			`SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%' || $1 || '%')`,
			schema).Scan(&waiting)
		require.NoError(t, err)
		if waiting {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("no statement started waiting for the lock")
}

// The table keeps SHA-256 of the secret, never the secret (DESIGN T1).
func TestTableHoldsNoSecret(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	c := newCluster(t, "postgres")
	m := c.node(testConfig())
	s, err := m.Create(ctx, "jo", map[string]any{"a": 1})
	require.NoError(t, err)
	_, err = m.Renew(ctx, s.ID())
	require.NoError(t, err)
	s, err = m.Create(ctx, "jo", nil)
	require.NoError(t, err)

	secret, err := base64.RawURLEncoding.DecodeString(s.Token())
	require.NoError(t, err)
	require.Len(t, secret, 32)
	sum := sha256.Sum256(secret)
	require.Equal(t, hex.EncodeToString(sum[:]), s.ID().String())

	rows, err := pgsessiontest.AdminPool(t).Query(ctx, `SELECT t::text FROM `+sessionsTable(c.schema)+` t`)
	require.NoError(t, err)
	dump, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	all := strings.ToLower(strings.Join(dump, "\n"))
	require.Contains(t, all, hex.EncodeToString(sum[:]), "the id is stored")
	for _, form := range []string{hex.EncodeToString(secret), strings.ToLower(s.Token()),
		strings.ToLower(base64.StdEncoding.EncodeToString(secret))} {
		require.NotContains(t, all, form)
	}
}

// Last-access writes stay HOT (no index covers last_seen_at, fillfactor 70):
// at least 90% of the updates of a touch workload (DESIGN M1).
//
// Serial, in a database of its own: a transaction open anywhere on the
// server (as other tests hold on purpose) can stop page pruning, and then no
// update finds room on its page, as in production next to a long transaction.
func TestTouchesAreHOTUpdates(t *testing.T) {
	pgsessiontest.Serial(t)
	ctx := ctxT(t)
	dbURL := pgsessiontest.Database(t)
	pool, err := pgxpool.New(ctx, dbURL)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	cfg := testConfig()
	cfg.TouchInterval, cfg.TouchGranularity = 10*time.Millisecond, time.Millisecond
	m, err := pgsession.New(ctx, pool, cfg)
	require.NoError(t, err)
	var ss []*pgsession.Session
	for i := 0; i < 40; i++ {
		s, err := m.Create(ctx, "kim", map[string]any{"cart": strings.Repeat("x", 200)})
		require.NoError(t, err)
		ss = append(ss, s)
	}
	// As in production, each flush writes some of the sessions, not all:
	// with a touch granularity of a minute, a second's flush holds the
	// sessions whose minute ran out, a few rows of any page.
	const rounds, perRound = 20, 10
	rng := rand.New(rand.NewPCG(1, 2))
	for r := 0; r < rounds; r++ {
		for _, i := range rng.Perm(len(ss))[:perRound] {
			_, err := m.Get(ctx, ss[i].Token())
			require.NoError(t, err)
		}
		time.Sleep(30 * time.Millisecond) // a flush happens between rounds
	}
	require.NoError(t, m.Close(ctx))
	pool.Close() // backends report their statistics as they exit

	stats, err := pgxpool.New(ctx, dbURL)
	require.NoError(t, err)
	defer stats.Close()
	var upd, hot int64
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := stats.QueryRow(ctx, `SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables
			WHERE schemaname = 'public' AND relname = 'pgsession_sessions'`).Scan(&upd, &hot)
		require.NoError(t, err)
		if upd >= int64(rounds*perRound*8/10) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	require.GreaterOrEqual(t, upd, int64(rounds*perRound*8/10), "most rounds wrote their touches")
	require.GreaterOrEqual(t, float64(hot)/float64(upd), 0.9, "HOT %d of %d", hot, upd)
}

// Schema and prefix are validated identifiers (DESIGN I1): a bad one is a
// typed error and nothing is created.
func TestBadSchemaNamesAreRejectedAndCreateNothing(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	pool := pgsessiontest.AdminPool(t)
	bad := []pgsession.Config{
		{Schema: `x"; DROP TABLE t; --`, CreateSchema: true},
		{Schema: "Upper", CreateSchema: true},
		{Schema: "1abc", CreateSchema: true},
		{Schema: strings.Repeat("a", 41), CreateSchema: true},
		{Schema: "ok_schema_x", TablePrefix: "bad-prefix", CreateSchema: true},
		{Schema: "ok_schema_x", TablePrefix: "p; drop", CreateSchema: true},
	}
	for _, cfg := range bad {
		_, err := pgsession.New(ctx, pool, cfg)
		require.ErrorIs(t, err, pgsession.ErrInvalidConfig, "%+v", cfg)
		_, err = pgsession.NewMemory(nil, cfg)
		require.ErrorIs(t, err, pgsession.ErrInvalidConfig)
		_, err = pgsession.MigrationSQL(cfg, false)
		require.ErrorIs(t, err, pgsession.ErrInvalidConfig)
	}
	var n int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM pg_namespace WHERE nspname IN ('ok_schema_x', 'Upper', '1abc') OR nspname LIKE 'x"%'`).Scan(&n))
	require.Zero(t, n)
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM pg_class WHERE relname LIKE 'bad-prefix%' OR relname LIKE 'p; drop%'`).Scan(&n))
	require.Zero(t, n)
}

func TestMigrationsUpDownAndManualMode(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	schema := pgsessiontest.Schema(t)
	pool := pgsessiontest.Pool(t, nil)
	cfg := backends.ListenDirect(t, pgsession.Config{Schema: schema, TablePrefix: "app_", ManualMigrations: true, TouchInterval: -1, SweepInterval: -1})

	_, err := pgsession.New(ctx, pool, cfg)
	require.ErrorIs(t, err, pgsession.ErrSchemaVersion)

	done, err := pgsession.Migrate(ctx, pool, cfg)
	require.NoError(t, err)
	_, latest, err := pgsession.SchemaVersion(ctx, pool, cfg)
	require.NoError(t, err)
	require.Len(t, done, latest)
	require.Equal(t, 1, done[0])
	require.Equal(t, latest, done[len(done)-1])
	done, err = pgsession.Migrate(ctx, pool, cfg)
	require.NoError(t, err)
	require.Empty(t, done, "migrating twice applies nothing")
	have, want, err := pgsession.SchemaVersion(ctx, pool, cfg)
	require.NoError(t, err)
	require.Equal(t, want, have)

	m, err := pgsession.New(ctx, pool, cfg)
	require.NoError(t, err)
	_, err = m.Create(ctx, "", nil)
	require.NoError(t, err)
	require.NoError(t, m.Close(ctx))

	done, err = pgsession.MigrateDown(ctx, pool, cfg, 0)
	require.NoError(t, err)
	require.Len(t, done, latest)
	require.Equal(t, latest, done[0], "newest first")
	var exists bool
	require.NoError(t, pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, schema+".app_sessions").Scan(&exists))
	require.False(t, exists)

	up, err := pgsession.MigrationSQL(cfg, false)
	require.NoError(t, err)
	require.Contains(t, up, `CREATE TABLE "`+schema+`"."app_sessions"`)
	down, err := pgsession.MigrationSQL(cfg, true)
	require.NoError(t, err)
	require.Contains(t, down, `DROP TABLE IF EXISTS "`+schema+`"."app_sessions"`)

	// The printed SQL is complete: applied by hand, it satisfies manual mode.
	_, err = pool.Exec(ctx, up)
	require.NoError(t, err)
	m, err = pgsession.New(ctx, pool, cfg)
	require.NoError(t, err)
	require.NoError(t, m.Close(ctx))
}

// Expiry is judged by the database clock: moving a row's deadline in the
// database is enough, whatever the node's clock says.
func TestExpiryUsesTheDatabaseClock(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	c := newCluster(t, "postgres")
	cfg := testConfig()
	cfg.CacheSize = -1 // the rows are changed behind the library's back
	m := c.node(cfg)
	abs, err := m.Create(ctx, "", nil)
	require.NoError(t, err)
	idle, err := m.Create(ctx, "", nil)
	require.NoError(t, err)
	admin := pgsessiontest.AdminPool(t)
	absID, idleID := abs.ID(), idle.ID()
	_, err = admin.Exec(ctx, "UPDATE "+sessionsTable(c.schema)+" SET expires_at = now() - interval '1 millisecond' WHERE id = $1", absID[:])
	require.NoError(t, err)
	_, err = admin.Exec(ctx, "UPDATE "+sessionsTable(c.schema)+" SET last_seen_at = now() - idle_timeout WHERE id = $1", idleID[:])
	require.NoError(t, err)
	for _, s := range []*pgsession.Session{abs, idle} {
		_, err = m.Get(ctx, s.Token())
		require.ErrorIs(t, err, pgsession.ErrNotFound)
		_, err = m.Update(ctx, s.ID(), new(pgsession.Patch).Set("a", 1))
		require.ErrorIs(t, err, pgsession.ErrNotFound)
		_, err = m.Renew(ctx, s.ID())
		require.ErrorIs(t, err, pgsession.ErrNotFound)
	}
}

// A node whose listener cannot connect fails at start and leaves nothing
// running (TestMain checks for leaked goroutines).
func TestNewFailsWhenTheListenerCannotConnect(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	cfg := testConfig()
	cfg.Schema = pgsessiontest.Schema(t)
	cfg.ListenerConnect = func(context.Context) (*pgx.Conn, error) { return nil, errors.New("no route") }
	_, err := pgsession.New(ctx, pgsessiontest.Pool(t, nil), cfg)
	require.ErrorContains(t, err, "no route")
}

// touchArgs is a pgx tracer that keeps the ids of every last-access write.
type touchArgs struct {
	mu      sync.Mutex
	batches [][][]byte
}

func (a *touchArgs) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	if strings.Contains(d.SQL, "SET last_seen_at") {
		ids, _ := d.Args[0].([][]byte)
		kept := make([][]byte, len(ids)) // the caller reuses its buffers
		for i, id := range ids {
			kept[i] = slices.Clone(id)
		}
		a.mu.Lock()
		a.batches = append(a.batches, kept)
		a.mu.Unlock()
	}
	return ctx
}

func (a *touchArgs) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// Last-access writes lock their rows in id order, on every node: two nodes
// flushing overlapping batches then never deadlock (PostgreSQL would abort
// one flush, and its touches would wait for the next).
func TestTouchesAreWrittenInIDOrder(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	cfg := testConfig()
	cfg.Schema = pgsessiontest.Schema(t)
	cfg.IdleTimeout = -1
	cfg.TouchInterval = time.Hour // flushed by Close
	cfg.TouchBatchSize = 40
	tr := &touchArgs{}
	m, err := pgsession.New(ctx, pgsessiontest.Pool(t, tr), backends.ListenDirect(t, cfg))
	require.NoError(t, err)
	var tokens []string
	for range 100 {
		s, err := m.Create(ctx, "", nil)
		require.NoError(t, err)
		tokens = append(tokens, s.Token())
	}
	for _, tok := range tokens {
		_, err := m.Get(ctx, tok)
		require.NoError(t, err)
	}
	require.NoError(t, m.Close(ctx))

	tr.mu.Lock()
	defer tr.mu.Unlock()
	require.Len(t, tr.batches, 3, "100 touches in batches of 40")
	var all [][]byte
	for _, b := range tr.batches {
		all = append(all, b...)
	}
	require.Len(t, all, 100)
	require.True(t, slices.IsSortedFunc(all, bytes.Compare), "ids in order within and across batches")
}
