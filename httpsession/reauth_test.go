package httpsession_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession/httpsession"
	"github.com/pgsession/pgsession/token"
)

// LogIn records when and how the user authenticated; a sensitive action
// checks that it was recently, and a fresh log in by the same user
// refreshes the time.
func TestRecentAuth(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		mw, log := newMW(t, c.node(t, testConfig()))
		var (
			at      time.Time
			method  string
			known   bool
			checked error
		)
		maxAge := time.Minute
		inspect := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			at, method, known = mw.AuthenticatedAt(r)
			checked = mw.CheckRecentAuth(r, maxAge)
		}))

		before := time.Now().Truncate(time.Millisecond)
		cookie := login(t, mw, "ada", nil, httpsession.AuthMethod("webauthn"))
		serve(inspect, get(cookie))
		require.True(t, known)
		require.Equal(t, "webauthn", method)
		require.WithinRange(t, at, before, time.Now())
		require.NoError(t, checked, "a fresh log in passes")

		time.Sleep(300 * time.Millisecond)
		maxAge = 100 * time.Millisecond
		serve(inspect, get(cookie))
		require.ErrorIs(t, checked, httpsession.ErrReauthRequired)
		var reauth *httpsession.ReauthError
		require.True(t, errors.As(checked, &reauth))
		require.GreaterOrEqual(t, reauth.Age, 300*time.Millisecond)
		require.Equal(t, at, reauth.AuthenticatedAt)
		require.Equal(t, "webauthn", reauth.Method)
		require.Equal(t, maxAge, reauth.MaxAge)

		// Logging in again refreshes the time (and the method: none given).
		// A generous maxAge: the suite runs everything at once on two cores.
		first := at
		maxAge = time.Minute
		cookie = login(t, mw, "ada", cookie)
		serve(inspect, get(cookie))
		require.NoError(t, checked)
		require.True(t, at.After(first), "the time moved forward")
		require.True(t, known)
		require.Empty(t, method)

		maxAge = 0
		serve(inspect, get(cookie))
		require.ErrorIs(t, checked, httpsession.ErrReauthRequired, "maxAge 0 refuses all")
		log.requireNone(t)
	})
}

// Without a record of an authentication (no session, an anonymous one, a
// user's session made without LogIn) the check refuses.
func TestRecentAuthWithoutRecord(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		m := c.node(t, testConfig())
		mw, log := newMW(t, m)
		var (
			known   bool
			checked error
		)
		inspect := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _, known = mw.AuthenticatedAt(r)
			checked = mw.CheckRecentAuth(r, time.Hour)
		}))

		made, err := m.Create(ctx, "ada", map[string]any{"role": "admin"})
		require.NoError(t, err)
		tok, err := mw.Config().Keys.Encode(token.Claims{Secret: made.Token(), Version: made.Version()})
		require.NoError(t, err)
		anonymous := start(t, mw, map[string]any{httpsession.AuthTimeKey: time.Now().UnixMilli()})

		for name, r := range map[string]*http.Request{
			"no session":            get(),
			"anonymous":             get(anonymous),
			"made without LogIn":    get(&http.Cookie{Name: sessionCookie, Value: tok}),
			"not through mw.Handle": nil,
		} {
			if r == nil {
				require.ErrorIs(t, mw.CheckRecentAuth(get(), time.Hour), httpsession.ErrNoMiddleware)
				continue
			}
			serve(inspect, r)
			require.False(t, known, name)
			var reauth *httpsession.ReauthError
			require.True(t, errors.As(checked, &reauth), name)
			require.True(t, reauth.AuthenticatedAt.IsZero(), name)
		}
		log.requireNone(t)
	})
}

// RequireRecentAuth guards a route: Config.OnReauth (by default 403)
// answers in its place when the log in is too old.
func TestRequireRecentAuth(t *testing.T) {
	c := newCluster(t, "memory")
	m := c.node(t, testConfig())
	ran := false
	sensitive := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ran = true
		w.Write([]byte("password changed"))
	})
	for _, custom := range []bool{false, true} {
		mw, log := newMW(t, m, func(cfg *httpsession.Config) {
			if custom {
				cfg.OnReauth = func(w http.ResponseWriter, r *http.Request, err *httpsession.ReauthError) {
					http.Redirect(w, r, "/login?again", http.StatusSeeOther)
				}
			}
		})
		mux := http.NewServeMux()
		mux.Handle("POST /password", mw.RequireRecentAuth(200*time.Millisecond)(sensitive))
		h := mw.Handler(mux)
		post := func(cookie *http.Cookie) *http.Response { return serve(h, request("POST", "/password", cookie)) }

		cookie := login(t, mw, "ada", nil, httpsession.AuthMethod("password"))
		ran = false
		require.Equal(t, http.StatusOK, post(cookie).StatusCode)
		require.True(t, ran, "fresh")

		time.Sleep(300 * time.Millisecond)
		ran = false
		resp := post(cookie)
		require.False(t, ran, "too old")
		if custom {
			require.Equal(t, http.StatusSeeOther, resp.StatusCode)
			require.Equal(t, "/login?again", resp.Header.Get("Location"))
		} else {
			require.Equal(t, http.StatusForbidden, resp.StatusCode)
		}
		resp = post(nil)
		require.False(t, ran, "no session")
		require.NotEqual(t, http.StatusOK, resp.StatusCode)
		log.requireNone(t)

		// Outside the middleware: a programming error, answered 500.
		resp = serve(mux, request("POST", "/password", nil))
		require.Equal(t, http.StatusInternalServerError, resp.StatusCode)
		log.requireOne(t, httpsession.ErrNoMiddleware)
	}
}
