package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/cmd/pgsession/internal/demo"
	"github.com/pgsession/pgsession/pgsessiontest"
	"github.com/pgsession/pgsession/token"
)

// scs.New (import scs's tests) starts a cleanup goroutine for its default
// memstore that nothing stops once Store is replaced (scs's behaviour).
func TestMain(m *testing.M) {
	pgsessiontest.Main(m, goleak.IgnoreTopFunction("github.com/alexedwards/scs/v2/memstore.(*MemStore).startCleanup"))
}

// result is one run of the command line.
type result struct {
	code           int
	stdout, stderr string
}

// runCLI runs the command line in process, with env as the whole
// environment.
func runCLI(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	c := &cli{stdout: &out, stderr: &errOut, getenv: func(k string) string { return env[k] }}
	code := c.run(ctx, args)
	return result{code, out.String(), errOut.String()}
}

// db returns the flags that point a command at the test database and schema.
func db(schema string) []string {
	return []string{"-db", pgsessiontest.DatabaseURL(), "-schema", schema}
}

func args(base []string, more ...string) []string {
	return append(append([]string(nil), base...), more...)
}

// latest is the schema version this pgsession needs.
func latest(t *testing.T) int {
	_, want, err := pgsession.SchemaVersion(context.Background(), pgsessiontest.AdminPool(t), pgsession.Config{Schema: "pgst_unused"})
	require.NoError(t, err)
	return want
}

// migrate up, status and down on a fresh schema; migrate sql applied by
// hand gives the same schema.
func TestMigrate(t *testing.T) {
	t.Parallel()
	schema := pgsessiontest.Schema(t)
	want := latest(t)
	where := fmt.Sprintf("schema %s, prefix pgsession_", schema)

	r := runCLI(t, nil, args([]string{"migrate", "status"}, db(schema)...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, fmt.Sprintf("%s: database at version 0, this pgsession needs %d: %d migration(s) pending: run \"pgsession migrate up\"\n", where, want, want), r.stdout)

	// The URL can come from DATABASE_URL too.
	r = runCLI(t, map[string]string{"DATABASE_URL": pgsessiontest.DatabaseURL()}, "migrate", "up", "-schema", schema)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, fmt.Sprintf("%s: applied migrations 1, ", where))
	require.True(t, strings.HasSuffix(r.stdout, fmt.Sprintf("now at version %d\n", want)), r.stdout)

	r = runCLI(t, nil, args([]string{"migrate", "up"}, db(schema)...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, fmt.Sprintf("%s: already at version %d, nothing to apply\n", where, want), r.stdout)

	r = runCLI(t, nil, args([]string{"migrate", "status"}, db(schema)...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, fmt.Sprintf("%s: database at version %d, this pgsession needs %d: up to date\n", where, want, want), r.stdout)

	// Down by one, then to 0.
	r = runCLI(t, nil, args([]string{"migrate", "down"}, db(schema)...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, fmt.Sprintf("%s: rolled back migration %d, now at version %d\n", where, want, want-1), r.stdout)

	r = runCLI(t, nil, args([]string{"migrate", "down", "-to", "0"}, db(schema)...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "now at version 0")
	var tables []string
	require.NoError(t, pgsessiontest.AdminPool(t).QueryRow(context.Background(),
		`SELECT coalesce(array_agg(tablename::text), '{}') FROM pg_tables WHERE schemaname = $1`, schema).Scan(&tables))
	require.Equal(t, []string{"pgsession_migrations"}, tables, "down to 0 drops every table but the version record")

	r = runCLI(t, nil, args([]string{"migrate", "down"}, db(schema)...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, fmt.Sprintf("%s: at version 0, nothing to roll back\n", where), r.stdout)

	// migrate sql needs no database, and its output, applied by hand, is
	// the schema "migrate up" makes: status agrees, and a Manager that
	// only checks the version accepts it.
	r = runCLI(t, nil, "migrate", "sql", "-schema", schema)
	require.Equal(t, exitOK, r.code, r.stderr)
	up := r.stdout
	require.True(t, strings.HasPrefix(up, "BEGIN;\n"), up)
	require.True(t, strings.HasSuffix(up, "COMMIT;\n"), up)
	require.Contains(t, up, `"`+schema+`"."pgsession_sessions"`)
	exec(t, up)
	r = runCLI(t, nil, args([]string{"migrate", "status"}, db(schema)...)...)
	require.Contains(t, r.stdout, "up to date")
	r = runCLI(t, nil, args([]string{"sessions", "list", "nobody"}, db(schema)...)...)
	require.Equal(t, exitOK, r.code, r.stderr)

	r = runCLI(t, nil, "migrate", "sql", "-down", "-schema", schema)
	require.Equal(t, exitOK, r.code, r.stderr)
	exec(t, r.stdout)
	r = runCLI(t, nil, args([]string{"migrate", "status"}, db(schema)...)...)
	require.Contains(t, r.stdout, "database at version 0")

	// A schema that is behind: admin commands say what to run.
	r = runCLI(t, nil, args([]string{"sessions", "list", "nobody"}, db(schema)...)...)
	require.Equal(t, exitFail, r.code)
	require.Contains(t, r.stderr, `run "pgsession migrate up"`)
}

// exec runs an SQL script (several statements) on the test database.
func exec(t *testing.T, sql string) {
	t.Helper()
	_, err := pgsessiontest.AdminPool(t).Exec(context.Background(), sql, pgx.QueryExecModeSimpleProtocol)
	require.NoError(t, err)
}

// sessions list, revoke and revoke-user; sweep.
func TestSessionsAndSweep(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	schema := pgsessiontest.Schema(t)
	m, err := pgsession.New(ctx, pgsessiontest.Pool(t, nil), pgsession.Config{Schema: schema, SweepInterval: -1, TouchInterval: -1})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, m.Close(context.Background())) })
	laptop, err := m.Create(ctx, "alice", nil, pgsession.WithClient("laptop/1.0", "192.0.2.1"))
	require.NoError(t, err)
	phone, err := m.Create(ctx, "alice", nil, pgsession.WithClient("phone/2.0", "192.0.2.2"))
	require.NoError(t, err)
	_, err = m.Create(ctx, "bob", nil)
	require.NoError(t, err)
	_, err = m.Create(ctx, "carol", nil, pgsession.WithLifetime(time.Millisecond))
	require.NoError(t, err)

	r := runCLI(t, nil, args([]string{"sessions", "list", "alice"}, db(schema)...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Len(t, lines, 3, r.stdout)
	require.Regexp(t, `^ID\s+CREATED\s+LAST SEEN\s+EXPIRES\s+IP\s+USER AGENT$`, lines[0])
	require.Regexp(t, "^"+phone.ID().String()+`\s+.*192\.0\.2\.2\s+phone/2\.0$`, lines[1], "newest first")
	require.Regexp(t, "^"+laptop.ID().String()+`\s+.*192\.0\.2\.1\s+laptop/1\.0$`, lines[2])

	// Flags may follow the argument.
	r = runCLI(t, nil, args([]string{"sessions", "list", "alice", "-json"}, db(schema)...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	var list []struct {
		ID, User, IP, UserAgent string
		Expires                 time.Time
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &list))
	require.Len(t, list, 2)
	require.Equal(t, phone.ID().String(), list[0].ID)
	require.Equal(t, "alice", list[0].User)
	require.False(t, list[0].Expires.IsZero())

	r = runCLI(t, nil, args([]string{"sessions", "list", "nobody"}, db(schema)...)...)
	require.Equal(t, "nobody has no live sessions\n", r.stdout)

	r = runCLI(t, nil, args([]string{"sessions", "revoke", laptop.ID().String()}, db(schema)...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, fmt.Sprintf("revoked %s (a session of alice)\n", laptop.ID()), r.stdout)
	requireGone(t, m, laptop.ID())
	r = runCLI(t, nil, args([]string{"sessions", "revoke", laptop.ID().String()}, db(schema)...)...)
	require.Equal(t, exitFail, r.code)
	require.Contains(t, r.stderr, "no live session with ID")

	r = runCLI(t, nil, args([]string{"sessions", "revoke-user", "alice"}, db(schema)...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, "ended 1 session(s) of alice\n", r.stdout)
	requireGone(t, m, phone.ID())

	// carol's session expired at once: the sweep deletes it; bob's stays.
	r = runCLI(t, nil, args([]string{"sweep"}, db(schema)...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Regexp(t, `^swept in 1 batch\(es\): 1 expired session\(s\) deleted, 0 session\(s\) trimmed`, r.stdout)
	var n int
	require.NoError(t, pgsessiontest.AdminPool(t).QueryRow(ctx,
		`SELECT count(*) FROM `+pgx.Identifier{schema, "pgsession_sessions"}.Sanitize()).Scan(&n))
	require.Equal(t, 1, n)
}

// What clients sent reaches the terminal escaped: a user agent or user ID
// with escape sequences or a bidi override cannot retitle the operator's
// window or reorder the line. -json escapes them too, and still decodes to
// the stored values.
func TestSessionsEscapeClientText(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	schema := pgsessiontest.Schema(t)
	m, err := pgsession.New(ctx, pgsessiontest.Pool(t, nil), pgsession.Config{Schema: schema, SweepInterval: -1, TouchInterval: -1})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, m.Close(context.Background())) })
	const (
		user  = "eve\x1b[2J\u202e"
		agent = "evil\x1b]0;pwned\x07/1.0 \u202ereversed \x7f\u009b"
		ip    = "192.0.2.7\r\x1b[K"
	)
	s, err := m.Create(ctx, user, nil, pgsession.WithClient(agent, ip))
	require.NoError(t, err)
	requireNoRawControls := func(out string) {
		t.Helper()
		for _, r := range []string{"\x1b", "\x07", "\r", "\x7f", "\u009b", "\u202e"} {
			require.NotContains(t, out, r, "raw %q in %q", r, out)
		}
	}

	r := runCLI(t, nil, args([]string{"sessions", "list", user}, db(schema)...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	requireNoRawControls(r.stdout)
	require.Contains(t, r.stdout, `192.0.2.7\r\x1b[K`)
	require.Contains(t, r.stdout, `evil\x1b]0;pwned\a/1.0 \u202ereversed \x7f\u009b`)

	r = runCLI(t, nil, args([]string{"sessions", "list", "-json", user}, db(schema)...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	requireNoRawControls(r.stdout)
	var list []sessionJSON
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &list))
	require.Len(t, list, 1)
	require.Equal(t, [3]string{user, ip, agent}, [3]string{list[0].User, list[0].IP, list[0].UserAgent})

	r = runCLI(t, nil, args([]string{"sessions", "revoke", s.ID().String()}, db(schema)...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	requireNoRawControls(r.stdout)
	require.Equal(t, fmt.Sprintf("revoked %s (a session of eve\\x1b[2J\\u202e)\n", s.ID()), r.stdout)

	for _, sub := range []string{"list", "revoke-user"} {
		r = runCLI(t, nil, args([]string{"sessions", sub, user}, db(schema)...)...)
		require.Equal(t, exitOK, r.code, r.stderr)
		requireNoRawControls(r.stdout)
		require.Contains(t, r.stdout, `eve\x1b[2J\u202e`)
	}
}

func requireGone(t *testing.T, m *pgsession.Manager, id pgsession.ID) {
	t.Helper()
	_, err := m.GetByID(context.Background(), id, pgsession.ForceRefresh())
	require.ErrorIs(t, err, pgsession.ErrNotFound)
}

// Usage errors exit 2 and say what is wrong; -h prints help and exits 0.
func TestUsage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		code int
		out  string // in stdout for exit 0, else in stderr
	}{
		{nil, exitUsage, "Usage:\n  pgsession <command>"},
		{[]string{"-h"}, exitOK, "Commands:"},
		{[]string{"help"}, exitOK, "Commands:"},
		{[]string{"help", "sweep"}, exitOK, "Usage: pgsession sweep [flags]"},
		{[]string{"help", "migrate", "down"}, exitOK, "-to version"},
		{[]string{"frobnicate"}, exitUsage, `unknown command "frobnicate"`},
		{[]string{"migrate"}, exitUsage, "missing subcommand"},
		{[]string{"migrate", "-h"}, exitOK, "migrate status"},
		{[]string{"migrate", "sideways"}, exitUsage, `unknown subcommand "sideways"`},
		{[]string{"migrate", "up", "-h"}, exitOK, "-create-schema"},
		{[]string{"migrate", "up", "extra"}, exitUsage, "want 0 argument(s), got 1"},
		{[]string{"migrate", "down", "-to", "-3", "-db", "postgres://x"}, exitUsage, "-to must be 0 or more"},
		{[]string{"migrate", "status", "-bogus"}, exitUsage, "flag provided but not defined: -bogus"},
		{[]string{"migrate", "status"}, exitFail, "no database: pass -db URL or set DATABASE_URL"},
		{[]string{"migrate", "sql", "-schema", "Bad-Name"}, exitFail, "invalid config"},
		{[]string{"sessions"}, exitUsage, "missing subcommand"},
		{[]string{"sessions", "list"}, exitUsage, "want 1 argument(s), got 0"},
		{[]string{"sessions", "list", "-h"}, exitOK, "Usage: pgsession sessions list [flags] USER"},
		{[]string{"sessions", "revoke", "nothex"}, exitUsage, `"nothex" is not a session ID`},
		{[]string{"sessions", "revoke-user", "a", "b"}, exitUsage, "want 1 argument(s), got 2"},
		{[]string{"sessions", "-h"}, exitOK, "sessions revoke-all -yes"},
		{[]string{"sessions", "list", "a", "b"}, exitUsage, "want 1 argument(s), got 2: a USER, or -all"},
		{[]string{"sessions", "list", "-all", "alice"}, exitUsage, "-all lists every user's sessions: give no USER"},
		{[]string{"sessions", "list", "alice", "-limit", "5"}, exitUsage, "-limit goes with -all"},
		{[]string{"sessions", "list", "-all", "-limit", "0"}, exitUsage, "-limit must be 1 or more, got 0"},
		{[]string{"sessions", "list", "-all"}, exitFail, "no database: pass -db URL or set DATABASE_URL"},
		{[]string{"sessions", "count", "-user", ""}, exitUsage, "-user must name a user"},
		{[]string{"sessions", "count", "alice"}, exitUsage, "want 0 argument(s), got 1"},
		{[]string{"sessions", "revoke-all", "-h"}, exitOK, "-yes"},
		{[]string{"sessions", "revoke-all", "everyone"}, exitUsage, "want 0 argument(s), got 1"},
		{[]string{"stats", "-h"}, exitOK, "TABLESAMPLE SYSTEM"},
		{[]string{"help", "stats"}, exitOK, "Usage: pgsession stats [flags]"},
		{[]string{"stats", "-top", "-1"}, exitUsage, "-top must be 0 or more, got -1"},
		{[]string{"stats", "-sample", "-5"}, exitUsage, "-sample must be 0 or more, got -5"},
		{[]string{"stats"}, exitFail, "no database: pass -db URL or set DATABASE_URL"},
		{[]string{"sweep", "-timeout", "soon"}, exitUsage, `invalid value "soon" for flag -timeout`},
		{[]string{"key", "-id", "no spaces"}, exitUsage, "invalid key"},
		{[]string{"demo", "-h"}, exitOK, "-addr1 address"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := runCLI(t, nil, tc.args...)
			require.Equal(t, tc.code, r.code, "stdout: %s\nstderr: %s", r.stdout, r.stderr)
			if tc.code == exitOK {
				require.Contains(t, r.stdout, tc.out)
				require.Empty(t, r.stderr)
			} else {
				require.Contains(t, r.stderr, tc.out)
				require.Empty(t, r.stdout)
			}
		})
	}
}

// key prints a key that PGSESSION_KEYS accepts.
func TestKey(t *testing.T) {
	t.Parallel()
	r := runCLI(t, nil, "key", "-id", "k2")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Regexp(t, regexp.MustCompile(`^k2:[A-Za-z0-9_-]{43}\n$`), r.stdout)
	keys, err := token.ParseKeys(strings.TrimSpace(r.stdout))
	require.NoError(t, err)
	require.Len(t, keys, 1)
	_, err = token.NewRing(keys...)
	require.NoError(t, err)
}

// demo starts both nodes, serves, and stops cleanly when its context ends.
func TestDemoCommand(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"memory", nil, []string{"-db", ""}, "backend  memory"},
		{"postgres", map[string]string{"DATABASE_URL": pgsessiontest.DatabaseURL()}, nil, "backend  PostgreSQL, schema "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			keys := runCLI(t, nil, "key", "-id", "t1").stdout
			env := map[string]string{"PGSESSION_KEYS": strings.TrimSpace(keys)}
			for k, v := range tc.env {
				env[k] = v
			}
			cmdArgs := []string{"demo", "-addr1", "127.0.0.1:0", "-addr2", "127.0.0.1:0", "-quiet"}
			if tc.name == "postgres" {
				cmdArgs = append(cmdArgs, "-schema", pgsessiontest.Schema(t))
			}
			cmdArgs = append(cmdArgs, tc.args...)

			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var out, errOut syncBuffer
			started := make(chan *demo.Cluster, 1)
			c := &cli{stdout: &out, stderr: &errOut, getenv: func(k string) string { return env[k] },
				demoStarted: func(cl *demo.Cluster) { started <- cl }}
			done := make(chan int, 1)
			go func() { done <- c.run(ctx, cmdArgs) }()

			var cl *demo.Cluster
			select {
			case cl = <-started:
			case code := <-done:
				t.Fatalf("demo exited with %d: %s", code, errOut.String())
			}
			tr := &http.Transport{}
			defer tr.CloseIdleConnections()
			for _, u := range cl.URLs() {
				resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get(u + "/api/me")
				require.NoError(t, err)
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
			}
			cancel() // as SIGINT would
			require.Equal(t, exitOK, <-done, errOut.String())
			stdout := out.String()
			require.Contains(t, stdout, tc.want)
			require.Contains(t, stdout, "node A   "+cl.URLs()[0]+"/")
			require.Contains(t, stdout, "node B   "+cl.URLs()[1]+"/")
			require.Contains(t, stdout, "metrics  /metrics on each node, to loopback clients only")
			require.Contains(t, stdout, `keys     from PGSESSION_KEYS (signing with "t1")`)
			require.True(t, strings.HasSuffix(stdout, "stopped\n"), stdout)
		})
	}
}

// A busy port or bad keys fail the demo with a clear message.
func TestDemoFails(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	r := runCLI(t, nil, "demo", "-db", "", "-addr1", "127.0.0.1:0", "-addr2", ln.Addr().String())
	require.Equal(t, exitFail, r.code)
	require.Contains(t, r.stderr, "pgsession demo: node B: listen tcp "+ln.Addr().String())

	r = runCLI(t, map[string]string{"PGSESSION_KEYS": "k1:tooshort"}, "demo", "-db", "", "-addr1", "127.0.0.1:0", "-addr2", "127.0.0.1:0")
	require.Equal(t, exitFail, r.code)
	require.Contains(t, r.stderr, "PGSESSION_KEYS: token: parse keys: ")
	require.Contains(t, r.stderr, "invalid key")
	require.NotContains(t, r.stderr, "tooshort", "the secret is never echoed")
}

// syncBuffer is a bytes.Buffer that goroutines may share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
