package httpsession_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/httpsession"
)

// Default cookie attributes, the cache headers, and each attribute's knob.
func TestCookieAttributes(t *testing.T) {
	m := newCluster(t, "memory").node(t, testConfig())
	issue := func(edit func(*httpsession.Config)) (*http.Response, string) {
		mw, log := newMW(t, m, edit)
		h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, err := mw.Ensure(r)
			require.NoError(t, err)
			w.Write([]byte("hi"))
		}))
		resp := serve(h, get())
		log.requireNone(t)
		lines := resp.Header.Values("Set-Cookie")
		require.Len(t, lines, 1)
		return resp, lines[0]
	}

	resp, line := issue(func(*httpsession.Config) {})
	c := setCookie(resp, sessionCookie)
	require.NotNil(t, c)
	require.True(t, c.HttpOnly)
	require.True(t, c.Secure)
	require.Equal(t, http.SameSiteLaxMode, c.SameSite)
	require.Equal(t, "/", c.Path)
	require.Empty(t, c.Domain)
	require.NotContains(t, line, "Max-Age", "a browser-session cookie")
	require.NotContains(t, line, "Expires")
	require.Equal(t, []string{"Cookie"}, headerValues(resp.Header, "Vary"))
	require.Equal(t, []string{`no-cache="Set-Cookie"`}, resp.Header.Values("Cache-Control"))

	resp, _ = issue(func(cfg *httpsession.Config) { cfg.Cookie.HostPrefix = true })
	c = setCookie(resp, "__Host-session")
	require.NotNil(t, c)
	require.True(t, c.Secure)
	require.Equal(t, "/", c.Path)
	require.Empty(t, c.Domain)

	resp, line = issue(func(cfg *httpsession.Config) {
		cfg.Cookie = httpsession.CookieConfig{
			Name: "sid", Domain: "example.test", Path: "/app", Insecure: true, ScriptAccess: true,
			SameSite: http.SameSiteStrictMode, Persist: true,
		}
	})
	c = setCookie(resp, "sid")
	require.NotNil(t, c)
	require.False(t, c.HttpOnly)
	require.False(t, c.Secure)
	require.Equal(t, http.SameSiteStrictMode, c.SameSite)
	require.Equal(t, "/app", c.Path)
	require.Equal(t, "example.test", c.Domain)
	require.Greater(t, c.MaxAge, 0, "persistent")
	require.Contains(t, line, "Expires=")

	_, line = issue(func(cfg *httpsession.Config) { cfg.Cookie.SameSite = http.SameSiteDefaultMode })
	require.NotContains(t, line, "SameSite")
}

// The application's own Vary and Cache-Control survive, and Vary is not
// repeated.
func TestVaryAndCacheControlMerge(t *testing.T) {
	mw, _ := newMW(t, newCluster(t, "memory").node(t, testConfig()))
	h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Accept-Encoding, cookie")
		w.Header().Set("Cache-Control", "private")
		mw.Set(r, "k", 1)
	}))
	resp := serve(h, get())
	require.Equal(t, []string{"Accept-Encoding", "cookie"}, headerValues(resp.Header, "Vary"))
	require.Equal(t, []string{"private", `no-cache="Set-Cookie"`}, resp.Header.Values("Cache-Control"))
}

// Header transport with Authorization: Bearer. The new token goes back in
// X-Session-Token, never in a cookie.
func TestBearerTransport(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		mw, log := newMW(t, c.node(t, testConfig()), func(cfg *httpsession.Config) {
			cfg.Cookie.Disabled = true
			cfg.Header = "Authorization"
		})
		h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Has("login") {
				_, err := mw.LogIn(r, "ada")
				require.NoError(t, err)
			}
			if r.URL.Query().Has("set") {
				mw.Set(r, "n", r.URL.Query().Get("set"))
			}
			if r.URL.Query().Has("logout") {
				require.NoError(t, mw.LogOut(r))
			}
			if s := mw.Session(r); s != nil {
				w.Write([]byte(s.UserID() + ":" + pgsession.AttrOr(s, "n", "")))
			}
		}))
		call := func(query, auth string) *http.Response {
			r := get()
			r.URL.RawQuery = query
			if auth != "" {
				r.Header.Set("Authorization", auth)
			}
			return serve(h, r)
		}
		body := func(resp *http.Response) string {
			b, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			return string(b)
		}

		resp := call("login", "")
		tok := resp.Header.Get("X-Session-Token")
		require.NotEmpty(t, tok)
		require.Empty(t, resp.Cookies())
		require.Equal(t, []string{"Authorization"}, headerValues(resp.Header, "Vary"))
		require.Equal(t, []string{`no-cache="X-Session-Token"`}, resp.Header.Values("Cache-Control"))

		resp = call("set=1", "Bearer "+tok)
		require.Equal(t, "ada:", body(resp), "the handler saw the session")
		tok2 := resp.Header.Get("X-Session-Token")
		require.NotEmpty(t, tok2)
		require.NotEqual(t, tok, tok2, "a new version")

		require.Equal(t, "ada:1", body(call("", "bearer "+tok2)), "scheme in any case")
		require.Equal(t, "ada:1", body(call("", "BEARER   "+tok2)))
		require.Empty(t, body(call("", "Basic "+tok2)), "other schemes are not ours")
		require.Empty(t, body(call("", tok2)), "no scheme")
		require.Empty(t, body(call("", "Bearer "+tok2+"x")))

		resp = call("logout", "Bearer "+tok2)
		vals, ok := resp.Header["X-Session-Token"]
		require.True(t, ok)
		require.Equal(t, []string{""}, vals, "empty: drop your token")
		require.Empty(t, body(call("", "Bearer "+tok2)))
		log.requireNone(t)
	})
}

// A custom header carries the token as its whole value and answers in the
// same header; with the cookie on too, each client is answered its way.
func TestCustomHeaderAndCookie(t *testing.T) {
	mw, log := newMW(t, newCluster(t, "memory").node(t, testConfig()), func(cfg *httpsession.Config) {
		cfg.Header = "X-Session"
	})
	h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mw.Set(r, "n", r.URL.Query().Get("n"))
	}))
	call := func(n string, header string, cookie *http.Cookie) *http.Response {
		r := get(cookie)
		r.URL.RawQuery = "n=" + n
		if header != "" {
			r.Header.Set("X-Session", header)
		}
		return serve(h, r)
	}

	// No token: a new session goes out both ways.
	resp := call("1", "", nil)
	cookie := setCookie(resp, sessionCookie)
	require.NotNil(t, cookie)
	require.Equal(t, cookie.Value, resp.Header.Get("X-Session"))
	require.ElementsMatch(t, []string{"Cookie", "X-Session"}, headerValues(resp.Header, "Vary"))

	// A header client is answered in the header only.
	resp = call("2", cookie.Value, nil)
	require.Empty(t, resp.Cookies())
	tok := resp.Header.Get("X-Session")
	require.NotEmpty(t, tok)

	// A cookie client is answered with a cookie only.
	resp = call("3", "", &http.Cookie{Name: sessionCookie, Value: tok})
	require.Empty(t, resp.Header.Get("X-Session"))
	cookie = setCookie(resp, sessionCookie)
	require.NotNil(t, cookie)
	require.Equal(t, "3", pgsession.AttrOr(sessionOf(t, mw, cookie), "n", ""))

	// Both: the header is tried first; when it does not verify, the
	// cookie's session is used, and answered with a cookie.
	resp = call("4", "garbage", cookie)
	require.Empty(t, resp.Header.Get("X-Session"))
	next := setCookie(resp, sessionCookie)
	require.NotNil(t, next)
	claims, err := mw.Config().Keys.Decode(next.Value)
	require.NoError(t, err)
	old, err := mw.Config().Keys.Decode(cookie.Value)
	require.NoError(t, err)
	require.Equal(t, old.Secret, claims.Secret, "same session, found through the cookie")

	// A header that verifies wins over the cookie.
	other := start(t, mw, nil)
	resp = call("5", next.Value, other)
	require.Empty(t, resp.Cookies())
	require.Equal(t, "5", pgsession.AttrOr(sessionOf(t, mw, next), "n", ""), "header's session changed")
	require.False(t, sessionOf(t, mw, other).Has("n"))
	log.requireNone(t)
}

// Rotating the signing key: old tokens keep working (and are re-issued
// under the new key) until the old key is removed.
func TestKeyRotation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		m := c.node(t, testConfig())
		withKeys := func(ids ...string) *httpsession.Middleware {
			mw, _ := newMW(t, m, func(cfg *httpsession.Config) { cfg.Keys = ring(t, ids...) })
			return mw
		}
		before, during, after := withKeys("old"), withKeys("new", "old"), withKeys("new")
		oldCookie := start(t, before, map[string]any{"n": 1})

		var out seen
		resp := serve(reader(during, &out), get(oldCookie))
		require.NotNil(t, out.get(), "old key still verifies")
		reissued := setCookie(resp, sessionCookie)
		require.NotNil(t, reissued, "moved to the new key")
		claims, err := during.Config().Keys.Decode(reissued.Value)
		require.NoError(t, err)
		require.Equal(t, "new", claims.KeyID)
		require.Equal(t, out.get().Version(), claims.Version)

		// A token already under the new key is not re-issued.
		resp = serve(reader(during, &out), get(reissued))
		require.Empty(t, resp.Cookies())

		require.Nil(t, sessionOf(t, after, oldCookie), "old key removed: old token refused")
		require.NotNil(t, sessionOf(t, after, reissued))
	})
}

// DESIGN C3 through the middleware: two nodes that do not announce updates
// to each other. A client that wrote through node A and brings A's cookie
// to node B reads its write, although B holds an older copy in its cache.
func TestReadYourWritesAcrossNodes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		cfg := testConfig()
		cfg.SkipUpdateNotify = true
		nodeA, nodeB := c.node(t, cfg), c.node(t, cfg)
		mwA, logA := newMW(t, nodeA)
		mwB, logB := newMW(t, nodeB)
		write := func(mw *httpsession.Middleware, cookie *http.Cookie, n int) *http.Cookie {
			h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { mw.Set(r, "n", n) }))
			next := setCookie(serve(h, get(cookie)), sessionCookie)
			require.NotNil(t, next)
			return next
		}

		v1 := write(mwA, nil, 1)
		s := sessionOf(t, mwB, v1)
		require.Equal(t, 1, pgsession.AttrOr(s, "n", 0), "node B caches version 1")
		v2 := write(mwA, v1, 2)

		if c.kind == "postgres" {
			// The control: the old cookie asks for nothing newer, and B's
			// cache, never told of the update, answers with version 1.
			require.Equal(t, 1, pgsession.AttrOr(sessionOf(t, mwB, v1), "n", 0))
		}
		s = sessionOf(t, mwB, v2)
		require.Equal(t, 2, pgsession.AttrOr(s, "n", 0), "A's cookie makes B read A's write")
		claims, err := mwA.Config().Keys.Decode(v2.Value)
		require.NoError(t, err)
		require.Equal(t, claims.Version, s.Version())
		logA.requireNone(t)
		logB.requireNone(t)
	})
}
