package main

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession/affinity"
	"github.com/pgsession/pgsession/pgsessiontest"
)

// blockyard (github.com/cynkra/blockyard) is GPL and not a Go module this
// one can depend on, so these tests cannot run its PostgresStore. They
// make its table as its migrations do (the column shapes of its
// blockyard_sessions migration, in the schema blockyard where a later
// migration moves it) and write rows as its PostgresStore does: Set
// upserts on id the worker, the user, the caller's last access and an
// expiry of that last access plus the idle TTL (a century when the TTL is
// 0); its Touch sets last_access and expires_at from the node's clock.
const blockyardDDL = `CREATE TABLE %[1]s (
    id          TEXT PRIMARY KEY,
    worker_id   TEXT NOT NULL,
    user_sub    TEXT NOT NULL DEFAULT '',
    last_access TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX ON %[1]s (expires_at);
CREATE INDEX ON %[1]s (worker_id);
CREATE INDEX ON %[1]s (last_access);`

// blockyardStore writes rows as blockyard's PostgresStore would.
type blockyardStore struct {
	pool    *pgxpool.Pool
	table   string // quoted, schema-qualified
	idleTTL time.Duration
}

func (b blockyardStore) expiresAt(from time.Time) time.Time {
	if b.idleTTL <= 0 {
		return from.Add(100 * 365 * 24 * time.Hour)
	}
	return from.Add(b.idleTTL)
}

func (b blockyardStore) set(t *testing.T, id, worker, user string, lastAccess time.Time) {
	t.Helper()
	_, err := b.pool.Exec(context.Background(), `INSERT INTO `+b.table+` (id, worker_id, user_sub, last_access, expires_at)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (id) DO UPDATE SET worker_id = excluded.worker_id, user_sub = excluded.user_sub,
	last_access = excluded.last_access, expires_at = excluded.expires_at`,
		id, worker, user, lastAccess, b.expiresAt(lastAccess))
	require.NoError(t, err)
}

// openSource opens a pool on a source database and makes blockyard's table
// in schema.
func openSource(t *testing.T, dbURL, schema string) blockyardStore {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), dbURL)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	table := pgx.Identifier{schema, "blockyard_sessions"}.Sanitize()
	_, err = pool.Exec(context.Background(), `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{schema}.Sanitize()+`;
`+fmt.Sprintf(blockyardDDL, table), pgx.QueryExecModeSimpleProtocol)
	require.NoError(t, err)
	return blockyardStore{pool: pool, table: table, idleTTL: time.Hour}
}

// newAffinity migrates a fresh schema and returns an affinity store on it.
func newAffinity(t *testing.T) (*affinity.Postgres, string) {
	t.Helper()
	schema := pgsessiontest.Schema(t)
	s, err := affinity.NewPostgres(context.Background(), pgsessiontest.Pool(t, nil), affinity.Config{Schema: schema})
	require.NoError(t, err)
	return s, schema
}

// The entries a blockyard deployment holds, imported from its own
// database, are the entries the affinity store then routes by, with their
// workers, users and last accesses. Expired rows are skipped, malformed
// ones reported (escaped, shortened) and skipped; a dry run writes
// nothing; a rerun writes only what is missing or newer.
func TestImportBlockyard(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, pgSchema := newAffinity(t)
	srcURL := pgsessiontest.Database(t)
	by := openSource(t, srcURL, "blockyard")
	now := time.Now()
	type row struct {
		id, worker, user string
		age              time.Duration
	}
	live := []row{{"sess-alice", "w1", "alice", 10 * time.Minute}, {"sess-anon", "w1", "", time.Minute}, {"sess-bob", "w2", "bob", 30 * time.Minute}}
	for _, r := range live {
		by.set(t, r.id, r.worker, r.user, now.Add(-r.age))
	}
	by.set(t, "sess-old", "w2", "carol", now.Add(-2*time.Hour)) // expired in blockyard
	forever := by
	forever.idleTTL = 0
	forever.set(t, "sess-idle", "w1", "dave", now.Add(-90*time.Minute)) // idle past the proxies' hour
	// blockyard's Set checks nothing: an empty worker (under an ID with a
	// terminal escape in it), a last access an hour ahead.
	by.set(t, "\x1b]0;pwned\x07-session", "", "eve", now)
	by.set(t, "sess-future", "w1", "", now.Add(time.Hour))

	base := args(db(pgSchema), "-from-db", srcURL, "-batch", "2")
	where := "blockyard.blockyard_sessions into schema " + pgSchema + ", prefix pgsession_, app default: "
	requireReports := func(r result) {
		t.Helper()
		requireNoRawControls(t, r.stderr)
		require.Contains(t, r.stderr, `pgsession import blockyard: skipped \x1b]0;pwned\a-…: worker_id is empty`)
		require.Contains(t, r.stderr, "pgsession import blockyard: skipped sess-future: last_access is more than 1m0s in the future")
	}
	affinityRows := func() int {
		var n int
		require.NoError(t, pgsessiontest.AdminPool(t).QueryRow(ctx,
			"SELECT count(*) FROM "+pgx.Identifier{pgSchema, "pgsession_affinity"}.Sanitize()).Scan(&n))
		return n
	}

	r := runCLI(t, nil, args([]string{"import", "blockyard", "-dry-run"}, base...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, where+"read 7, would import 3, would update 0, already there 0, expired skipped 2, malformed skipped 2\n", r.stdout)
	requireReports(r)
	require.Zero(t, affinityRows(), "a dry run writes nothing")

	r = runCLI(t, nil, args([]string{"import", "blockyard"}, base...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, where+"read 7, imported 3, updated 0, already there 0, expired skipped 2, malformed skipped 2\n", r.stdout)
	requireReports(r)
	require.Equal(t, 3, affinityRows(), "skipped rows are never written")

	for _, want := range live {
		e, err := store.Get(ctx, want.id)
		require.NoError(t, err, want.id)
		require.Equal(t, want.worker, e.WorkerID, want.id)
		require.Equal(t, want.user, e.UserSub, want.id)
		la := now.Add(-want.age).Truncate(time.Microsecond)
		require.True(t, la.Equal(e.LastAccess), "%s: last access %v, want %v", want.id, e.LastAccess, la)
		require.True(t, la.Equal(e.Created), "%s: created defaults to the last access", want.id)
		require.InDelta(t, time.Hour-want.age, e.ExpiresIn, float64(10*time.Second), "%s: the idle clock runs on", want.id)
	}
	for worker, want := range map[string]int{"w1": 2, "w2": 1} {
		n, err := store.CountForWorker(ctx, worker)
		require.NoError(t, err)
		require.Equal(t, want, n, worker)
	}

	// Since then: blockyard (still serving during the cut-over) pinned
	// alice elsewhere; the proxy on the affinity store pinned bob; and the
	// anonymous entry is gone, as if the first run had stopped before it.
	by.set(t, "sess-alice", "w3", "alice", time.Now())
	_, err := store.Set(ctx, "sess-bob", "w9", "bob")
	require.NoError(t, err)
	require.NoError(t, store.Delete(ctx, "sess-anon"))
	r = runCLI(t, nil, args([]string{"import", "blockyard"}, base...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, where+"read 7, imported 1, updated 1, already there 1, expired skipped 2, malformed skipped 2\n", r.stdout)
	for id, worker := range map[string]string{"sess-alice": "w3", "sess-bob": "w9", "sess-anon": "w1"} {
		e, err := store.Get(ctx, id)
		require.NoError(t, err, id)
		require.Equal(t, worker, e.WorkerID, "%s: the newer record wins", id)
	}

	r = runCLI(t, nil, args([]string{"import", "blockyard", "-dry-run"}, base...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, where+"read 7, would import 0, would update 0, already there 3, expired skipped 2, malformed skipped 2\n", r.stdout)
}

// Rows no blockyard table would hold, as a copy without its constraints
// (CREATE TABLE AS) can: each is reported by its key and skipped, the rest
// imported; a rerun reports them again and writes nothing more.
func TestImportBlockyardNulls(t *testing.T) {
	t.Parallel()
	store, pgSchema := newAffinity(t)
	srcSchema := pgsessiontest.Schema(t)
	by := openSource(t, pgsessiontest.DatabaseURL(), srcSchema)
	by.set(t, "good", "w1", "", time.Now())
	copyTable := pgx.Identifier{srcSchema, "sessions_copy"}.Sanitize()
	exec(t, `CREATE TABLE `+copyTable+` AS SELECT * FROM `+by.table+`;
INSERT INTO `+copyTable+` VALUES
	(NULL, 'w1', '', now(), now() + interval '1 hour'),
	('null-worker', NULL, '', now(), now() + interval '1 hour'),
	('null-user', 'w1', NULL, now(), now() + interval '1 hour'),
	('null-last', 'w1', '', NULL, now() + interval '1 hour'),
	('null-expiry', 'w1', '', now(), NULL),
	('', 'w1', '', now(), now() + interval '1 hour'),
	('long-worker', repeat('w', 300), '', now(), now() + interval '1 hour')`)

	base := args(db(pgSchema), "-from-schema", srcSchema, "-table", "sessions_copy", "-batch", "3")
	for range 2 {
		r := runCLI(t, nil, args([]string{"import", "blockyard"}, base...)...)
		require.Equal(t, exitOK, r.code, r.stderr)
		require.Contains(t, r.stdout, "malformed skipped 7\n")
		for _, report := range []string{
			"skipped 1 row(s) whose id is NULL",
			"skipped null-worker: worker_id is NULL",
			"skipped null-user: user_sub is NULL",
			"skipped null-last: last_access is NULL",
			"skipped null-expiry: expires_at is NULL",
			`skipped "": id is empty`,
			"skipped long-worker: worker_id is longer than 256 bytes",
		} {
			require.Contains(t, r.stderr, "pgsession import blockyard: "+report+"\n")
		}
	}
	e, err := store.Get(context.Background(), "good")
	require.NoError(t, err)
	require.Equal(t, "w1", e.WorkerID)
	_, err = store.Get(context.Background(), "null-user")
	require.ErrorIs(t, err, affinity.ErrNotFound, "never half written")
}

// A blockyard table in a SQL_ASCII database holds any bytes: text that is
// not UTF-8 in a worker or user is reported (the key escaped) and skipped;
// a session ID is any bytes, so such an ID is imported. The table is found
// in public, the second schema of blockyard's search_path.
func TestImportBlockyardNotUTF8(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, pgSchema := newAffinity(t)
	srcURL := asciiDatabase(t)
	by := openSource(t, srcURL, "public")
	_, err := by.pool.Exec(ctx, `INSERT INTO `+by.table+` VALUES
	(E'id-\xff', 'w1', 'alice', now(), now() + interval '1 hour'),
	(E'bad-\xfe-worker', E'w\xff', '', now(), now() + interval '1 hour'),
	('bad-user', 'w1', E'\xc3', now(), now() + interval '1 hour')`, pgx.QueryExecModeSimpleProtocol)
	require.NoError(t, err)

	r := runCLI(t, nil, args([]string{"import", "blockyard"}, append(db(pgSchema), "-from-db", srcURL)...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, "public.blockyard_sessions into schema "+pgSchema+", prefix pgsession_, app default: "+
		"read 3, imported 1, updated 0, already there 0, expired skipped 0, malformed skipped 2\n", r.stdout)
	require.Contains(t, r.stderr, `pgsession import blockyard: skipped bad-\xfe-worker: worker_id is not valid UTF-8`+"\n")
	require.Contains(t, r.stderr, "pgsession import blockyard: skipped bad-user: user_sub is not valid UTF-8\n")
	e, err := store.Get(ctx, "id-\xff")
	require.NoError(t, err)
	require.Equal(t, "alice", e.UserSub)
}

// asciiDatabase creates a SQL_ASCII database, dropped when the test ends,
// and returns its URL.
func asciiDatabase(t *testing.T) string {
	t.Helper()
	name := "pgst_ascii_" + strconv.FormatInt(time.Now().UnixNano(), 36)
	admin := pgsessiontest.AdminPool(t)
	_, err := admin.Exec(context.Background(), "CREATE DATABASE "+name+
		" ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0")
	require.NoError(t, err)
	t.Cleanup(func() {
		_, err := pgsessiontest.AdminPool(t).Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		require.NoError(t, err)
	})
	cfg, err := pgx.ParseConfig(pgsessiontest.DatabaseURL())
	require.NoError(t, err)
	u := &url.URL{Scheme: "postgres", Host: net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))),
		Path: "/" + name, User: url.UserPassword(cfg.User, cfg.Password)}
	if cfg.Password == "" {
		u.User = url.User(cfg.User)
	}
	if cfg.TLSConfig == nil {
		u.RawQuery = "sslmode=disable"
	}
	return u.String()
}

// A missing table is an error naming it; bad flags are usage errors.
func TestImportBlockyardFlags(t *testing.T) {
	t.Parallel()
	_, pgSchema := newAffinity(t)
	srcSchema := pgsessiontest.Schema(t)

	r := runCLI(t, nil, args([]string{"import", "blockyard", "-table", "nowhere"}, db(pgSchema)...)...)
	require.Equal(t, exitFail, r.code)
	require.Equal(t, "pgsession import blockyard: no table nowhere in schema blockyard or public: pass -from-schema\n", r.stderr)
	r = runCLI(t, nil, args([]string{"import", "blockyard", "-from-schema", srcSchema}, db(pgSchema)...)...)
	require.Equal(t, exitFail, r.code)
	require.Contains(t, r.stderr, "pgsession import blockyard: read "+srcSchema+".blockyard_sessions: ")

	for _, bad := range [][]string{{"-batch", "0"}, {"-table", ""}, {"-idle-timeout", "0"}, {"-app", "no spaces"}, {"-prefix", "Bad-"}} {
		r = runCLI(t, nil, append(args([]string{"import", "blockyard"}, db(pgSchema)...), bad...)...)
		require.Equal(t, exitUsage, r.code, bad)
	}
	r = runCLI(t, nil, "import", "-h")
	require.Equal(t, exitOK, r.code)
	require.Contains(t, r.stdout, "import blockyard")
	r = runCLI(t, nil, "import", "blockyard", "-h")
	require.Equal(t, exitOK, r.code)
	require.True(t, strings.HasPrefix(r.stdout, "Usage: pgsession import blockyard [flags]"), r.stdout)
}

// clipID keeps the start of an ID, invalid UTF-8 included, for escaping.
func TestClipID(t *testing.T) {
	require.Equal(t, "short", clipID("short", 12))
	require.Equal(t, "twelve-chars", clipID("twelve-chars", 12))
	require.Equal(t, "thirteen-ch…", clipID("thirteen-char", 12))
	require.Equal(t, `ab\xffc…`, forTerminal(clipID("ab\xffcdef", 5)))
}
