package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/pgxstore"
	"github.com/alexedwards/scs/v2"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/pgsessiontest"
	"github.com/pgsession/pgsession/scsstore"
)

// scsApp is a small scs application: /login?u=USER&id=N logs a user in
// (RenewToken, then the user under "user", as a string, or an integer
// under "user" when id is given), /put?v=V stores a message, /get shows
// both.
func scsApp(t *testing.T, sm *scs.SessionManager) http.Handler {
	sm.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
		t.Errorf("scs error on %s: %v", r.URL.Path, err)
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, sm.RenewToken(r.Context()))
		if id := r.URL.Query().Get("id"); id != "" {
			n, err := strconv.Atoi(id)
			require.NoError(t, err)
			sm.Put(r.Context(), "user", n)
		} else {
			sm.Put(r.Context(), "user", r.URL.Query().Get("u"))
		}
	})
	mux.HandleFunc("/put", func(w http.ResponseWriter, r *http.Request) {
		sm.Put(r.Context(), "msg", r.URL.Query().Get("v"))
	})
	mux.HandleFunc("/get", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s|%v", sm.GetString(r.Context(), "msg"), sm.Get(r.Context(), "user"))
	})
	return sm.LoadAndSave(mux)
}

// newSCS returns an scs SessionManager on store. (scs.New starts a cleanup
// goroutine for its default memstore that nothing stops: TestMain ignores
// it. Its StopCleanup races with the goroutine's start.)
func newSCS(store scs.Store) *scs.SessionManager {
	sm := scs.New()
	sm.Store = store
	sm.Lifetime = 3 * time.Hour
	return sm
}

// serve runs one request through h, with the cookie if not nil, and returns
// the session cookie it sets (or the one it was given) and the body.
func serve(t *testing.T, h http.Handler, path string, cookie *http.Cookie) (*http.Cookie, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if cookie != nil {
		req.AddCookie(cookie)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	for _, c := range w.Result().Cookies() {
		if c.Name == "session" {
			cookie = c
		}
	}
	b, err := io.ReadAll(w.Body)
	require.NoError(t, err)
	return cookie, string(b)
}

// randomSCSToken is a token of scs's shape.
func randomSCSToken(t *testing.T, seed byte) string {
	var b [32]byte
	for i := range b {
		b[i] = seed + byte(i)
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// The sessions an scs application keeps with the real pgxstore, imported,
// are the sessions the same application finds through scsstore under the
// same cookies, bound to their users with -user-key. Expired rows are
// skipped, malformed ones reported (escaped, shortened) and skipped; a dry
// run writes nothing; a rerun imports only what is missing.
func TestImportSCS(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pgSchema := pgsessiontest.Schema(t)
	scsSchema := pgsessiontest.Schema(t)
	m, err := pgsession.New(ctx, pgsessiontest.Pool(t, nil), pgsession.Config{Schema: pgSchema, SweepInterval: -1, TouchInterval: -1})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, m.Close(context.Background())) })

	// The scs side: its table, and the application on the real pgxstore
	// (which names the table "sessions", found through search_path).
	exec(t, fmt.Sprintf(`CREATE TABLE %s (token TEXT PRIMARY KEY, data BYTEA NOT NULL, expiry TIMESTAMPTZ NOT NULL);
CREATE INDEX ON %[1]s (expiry);`, pgx.Identifier{scsSchema, "sessions"}.Sanitize()))
	scsPool := pgsessiontest.PoolWith(t, func(cfg *pgxpool.Config) {
		cfg.ConnConfig.RuntimeParams["search_path"] = scsSchema
	})
	oldStore := pgxstore.NewWithCleanupInterval(scsPool, 0)
	oldSM := newSCS(oldStore)
	old := scsApp(t, oldSM)

	type user struct {
		login, want string // the login query and the user the session gets
		cookie      *http.Cookie
	}
	users := []*user{
		{login: "u=alice", want: "alice"},
		{login: "id=42", want: "42"},
		{login: "u=bob", want: "bob"},
		{login: "", want: ""}, // anonymous: no log in, only a message
	}
	for i, u := range users {
		if u.login != "" {
			u.cookie, _ = serve(t, old, "/login?"+u.login, nil)
		}
		u.cookie, _ = serve(t, old, fmt.Sprintf("/put?v=hello-%d", i), u.cookie)
		_, body := serve(t, old, "/get", u.cookie)
		require.Equal(t, fmt.Sprintf("hello-%d|%v", i, map[string]string{"": "<nil>"}[u.want]+u.want), body)
	}
	// An expired session, committed by pgxstore itself.
	data, err := scs.GobCodec{}.Encode(time.Now().Add(-time.Minute), map[string]any{"user": "carol"})
	require.NoError(t, err)
	require.NoError(t, oldStore.Commit(randomSCSToken(t, 1), data, time.Now().Add(-time.Minute)))
	// Malformed rows: a token scsstore cannot use (with a terminal escape
	// in it), and data that is not scs's gob encoding.
	goodData, err := scs.GobCodec{}.Encode(time.Now().Add(time.Hour), map[string]any{"user": "mallory"})
	require.NoError(t, err)
	const badToken = "\x1b]0;pwned\x07-not-an-scs-token-at-all"
	require.NoError(t, oldStore.Commit(badToken, goodData, time.Now().Add(time.Hour)))
	garbageToken := randomSCSToken(t, 2)
	require.NoError(t, oldStore.Commit(garbageToken, []byte("not gob at all"), time.Now().Add(time.Hour)))

	base := args(db(pgSchema), "-from-schema", scsSchema, "-batch", "2", "-user-key", "user")
	where := fmt.Sprintf("%s.sessions into schema %s, prefix pgsession_", scsSchema, pgSchema)
	requireReports := func(r result) {
		t.Helper()
		requireNoRawControls(t, r.stderr)
		require.Contains(t, r.stderr, `pgsession import scs: skipped \x1b]0;pwned\a-…: not an scs token`)
		require.Contains(t, r.stderr, "pgsession import scs: skipped "+garbageToken[:11]+"…: data is not scs gob data")
		require.NotContains(t, r.stderr, garbageToken, "a token is a credential: only its start is shown")
	}

	// A dry run counts and writes nothing.
	r := runCLI(t, nil, args([]string{"import", "scs", "-dry-run"}, base...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, where+": read 7, would import 4, already there 0, expired skipped 1, malformed skipped 2\n", r.stdout)
	requireReports(r)
	// (Counted in the table: a read through m would have m trust "not
	// found" for a moment, and miss the import that follows.)
	var rows int
	require.NoError(t, pgsessiontest.AdminPool(t).QueryRow(ctx,
		"SELECT count(*) FROM "+pgx.Identifier{pgSchema, "pgsession_sessions"}.Sanitize()).Scan(&rows))
	require.Zero(t, rows)

	r = runCLI(t, nil, args([]string{"import", "scs"}, base...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, where+": read 7, imported 4, already there 0, expired skipped 1, malformed skipped 2\n", r.stdout)
	requireReports(r)

	// The application, switched to scsstore, finds each session under its
	// cookie, with its data, and can keep using it.
	newSM := newSCS(scsstore.New(m))
	app := scsApp(t, newSM)
	for i, u := range users {
		_, body := serve(t, app, "/get", u.cookie)
		want := u.want
		if want == "" {
			want = "<nil>"
		}
		require.Equal(t, fmt.Sprintf("hello-%d|%s", i, want), body)
		s, err := m.Get(ctx, u.cookie.Value, pgsession.NoTouch())
		require.NoError(t, err)
		require.Equal(t, u.want, s.UserID())
		require.WithinDuration(t, time.Now().Add(3*time.Hour), s.ExpiresAt(), time.Minute)
		serve(t, app, fmt.Sprintf("/put?v=again-%d", i), u.cookie)
		_, body = serve(t, app, "/get", u.cookie)
		require.True(t, strings.HasPrefix(body, fmt.Sprintf("again-%d|", i)), body)
	}
	list, err := m.ListUser(ctx, "alice")
	require.NoError(t, err)
	require.Len(t, list, 1)
	list, err = m.ListUser(ctx, "42")
	require.NoError(t, err)
	require.Len(t, list, 1)
	_, err = m.Get(ctx, garbageToken, pgsession.NoTouch())
	require.ErrorIs(t, err, pgsession.ErrNotFound, "a malformed row is never written")

	// A rerun leaves what is there (the application has changed it since)
	// and imports only what is missing.
	id, err := pgsession.ParseID(list[0].ID().String())
	require.NoError(t, err)
	require.NoError(t, m.Delete(ctx, id)) // as if the first run had stopped before it
	r = runCLI(t, nil, args([]string{"import", "scs"}, base...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, where+": read 7, imported 1, already there 3, expired skipped 1, malformed skipped 2\n", r.stdout)
	// Read on another node: m remembers deleting the session.
	m2, err := pgsession.New(ctx, pgsessiontest.Pool(t, nil), pgsession.Config{Schema: pgSchema, SweepInterval: -1, TouchInterval: -1})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, m2.Close(context.Background())) })
	sm2 := newSCS(scsstore.New(m2))
	app = scsApp(t, sm2)
	for i, u := range users {
		_, body := serve(t, app, "/get", u.cookie)
		if u.want == "42" {
			require.Equal(t, "hello-1|42", body, "re-imported from the scs table")
			continue
		}
		require.True(t, strings.HasPrefix(body, fmt.Sprintf("again-%d|", i)), "a rerun never overwrites: %s", body)
	}

	r = runCLI(t, nil, args([]string{"import", "scs", "-dry-run"}, base...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, where+": read 7, would import 0, already there 4, expired skipped 1, malformed skipped 2\n", r.stdout)
}

// Without -user-key the sessions are anonymous; scs data that is not a
// string or integer under -user-key leaves a session anonymous, with a note;
// a missing table is an error; bad flags are usage errors.
func TestImportSCSFlags(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pgSchema := pgsessiontest.Schema(t)
	scsSchema := pgsessiontest.Schema(t)
	m, err := pgsession.New(ctx, pgsessiontest.Pool(t, nil), pgsession.Config{Schema: pgSchema, SweepInterval: -1, TouchInterval: -1})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, m.Close(context.Background())) })
	base := args(db(pgSchema), "-from-schema", scsSchema, "-table", "scs_sessions")

	r := runCLI(t, nil, args([]string{"import", "scs"}, base...)...)
	require.Equal(t, exitFail, r.code)
	require.Contains(t, r.stderr, "pgsession import scs: read "+scsSchema+".scs_sessions: ")

	exec(t, fmt.Sprintf(`CREATE TABLE %s (token TEXT PRIMARY KEY, data BYTEA NOT NULL, expiry TIMESTAMPTZ NOT NULL)`,
		pgx.Identifier{scsSchema, "scs_sessions"}.Sanitize()))
	tokens := []string{randomSCSToken(t, 10), randomSCSToken(t, 20)}
	for i, v := range []any{"ann", 1.5} {
		data, err := scs.GobCodec{}.Encode(time.Now().Add(time.Hour), map[string]any{"uid": v})
		require.NoError(t, err)
		_, err = pgsessiontest.AdminPool(t).Exec(ctx, fmt.Sprintf(`INSERT INTO %s VALUES ($1, $2, now() + interval '1 hour')`,
			pgx.Identifier{scsSchema, "scs_sessions"}.Sanitize()), tokens[i], data)
		require.NoError(t, err)
	}
	r = runCLI(t, nil, args([]string{"import", "scs", "-user-key", "uid", "-attribute-key", "old"}, base...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "read 2, imported 2, already there 0, expired skipped 0, malformed skipped 0\n")
	require.Equal(t, "pgsession import scs: 1 session(s) were imported without a user: their \"uid\" value was not a valid user ID (a string of at most 256 bytes, or an integer), or could not be decoded here\n", r.stderr)
	s, err := m.Get(ctx, tokens[0], pgsession.NoTouch())
	require.NoError(t, err)
	require.Equal(t, "ann", s.UserID())
	require.Equal(t, []string{"old"}, s.Keys())
	s, err = m.Get(ctx, tokens[1], pgsession.NoTouch())
	require.NoError(t, err)
	require.Equal(t, "", s.UserID())

	for _, bad := range [][]string{{"-batch", "0"}, {"-table", ""}, {"-attribute-key", ""}} {
		r = runCLI(t, nil, append(args([]string{"import", "scs"}, base...), bad...)...)
		require.Equal(t, exitUsage, r.code, bad)
	}
	r = runCLI(t, nil, "import", "-h")
	require.Equal(t, exitOK, r.code)
	require.Contains(t, r.stdout, "import scs")
}

// decodeSCS accepts what scs's codec writes and nothing else, and a token
// is accepted exactly when scsstore could use it.
func TestDecodeSCSAndToken(t *testing.T) {
	data, err := scs.GobCodec{}.Encode(time.Now(), map[string]any{"a": 1})
	require.NoError(t, err)
	v, err := decodeSCS(data)
	require.NoError(t, err)
	require.Equal(t, map[string]any{"a": 1}, v)
	for _, bad := range [][]byte{nil, {}, []byte("x"), data[:len(data)/2]} {
		_, err := decodeSCS(bad)
		require.Error(t, err, "%q", bad)
	}
	require.True(t, scsTokenOK(randomSCSToken(t, 0)))
	for _, bad := range []string{"", "abc", randomSCSToken(t, 0) + "A", strings.Repeat("+", 43), randomSCSToken(t, 0)[:42] + "B"} {
		require.False(t, scsTokenOK(bad), bad)
	}
	tok := randomSCSToken(t, 3)
	m, err := pgsession.NewMemory(nil, pgsession.Config{})
	require.NoError(t, err)
	defer m.Close(context.Background())
	s, err := m.CreateWithToken(context.Background(), tok, "", nil)
	require.NoError(t, err)
	require.Equal(t, s.ID(), scsTokenID(tok), "the ID pgsession derives from the token")
}
