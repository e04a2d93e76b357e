package gorillastore_test

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/sessions"
	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/gorillastore"
	"github.com/pgsession/pgsession/pgsessiontest"
	"github.com/pgsession/pgsession/pgsessiontest/backends"
)

type profile struct {
	Name  string
	Langs []string
}

// Every kind of value a gorilla application commonly keeps comes back with
// the type it went in with: ints as int, floats as float64 (2.0 too),
// generic slices and maps, flashes, and registered types exactly.
func TestValuesRoundTrip(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		m := c.node(nil)
		store := c.store(m,
			gorillastore.WithType[*profile]("profile"),
			gorillastore.WithType[time.Time]("seen"),
			gorillastore.WithType[[]string]("tags"))
		want := map[any]any{
			"s":       "tea for two ☕",
			"n":       42,
			"neg":     -7,
			"max":     math.MaxInt64,
			"whole":   2.0,
			"half":    2.5,
			"tiny":    1e-9,
			"yes":     true,
			"nothing": nil,
			"list":    []any{"a", 1, 1.5, 3.0, true, nil, []any{2}},
			"obj":     map[string]any{"zz": 1, "a": 3.0, "m": map[string]any{"k": "v"}},
			"profile": &profile{Name: "Ada", Langs: []string{"en", "fr"}},
			"seen":    time.Date(2025, 3, 1, 12, 30, 0, 0, time.UTC),
			"tags":    []string{"x", "y"},
		}
		r := request(nil)
		sess, err := store.Get(r, "s")
		require.NoError(t, err)
		require.True(t, sess.IsNew)
		for k, v := range want {
			sess.Values[k] = v
		}
		sess.AddFlash("hello")
		cookie, err := saved(t, r, sess)
		require.NoError(t, err)
		require.NotEmpty(t, sess.ID)

		r = request(cookie)
		loaded, err := store.Get(r, "s")
		require.NoError(t, err)
		require.False(t, loaded.IsNew)
		require.Equal(t, sess.ID, loaded.ID)
		require.Equal(t, []any{"hello"}, loaded.Flashes())
		require.Equal(t, want, loaded.Values)

		// The flash is gone once read and saved; the attributes are plain
		// JSON that pgsession's own readers understand.
		cookie, err = saved(t, r, loaded)
		require.NoError(t, err)
		again, err := store.New(request(cookie), "s")
		require.NoError(t, err)
		require.NotContains(t, again.Values, "_flash")
		id, err := pgsession.ParseID(again.ID)
		require.NoError(t, err)
		ps, err := m.GetByID(ctx, id)
		require.NoError(t, err)
		require.Equal(t, 42, pgsession.AttrOr(ps, "n", 0))
		require.Equal(t, "Ada", pgsession.AttrOr(ps, "profile", profile{}).Name)
	})
}

// A counter served by gorilla/sessions' registry (Store.Get, Session.Save)
// counts across requests.
func TestCounterAcrossRequests(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		u := serve(t, counterApp(t, c.store(c.node(nil))))
		b := newBrowser(t)
		for i := 1; i <= 3; i++ {
			require.Equal(t, strconv.Itoa(i), b.get(u+"/count"))
		}
	})
}

// Two nodes (two Managers on one database) serve one browser in turn: each
// sees the other's saves at once, since the token carries the version the
// client last saw.
func TestTwoNodesSeeEachOthersSaves(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		a := serve(t, counterApp(t, c.store(c.node(nil))))
		b := serve(t, counterApp(t, c.store(c.node(nil))))
		br := newBrowser(t)
		for i := 1; i <= 8; i++ {
			node := a
			if i%2 == 0 {
				node = b
			}
			require.Equal(t, strconv.Itoa(i), br.get(node+"/count"), "request %d", i)
		}
		// A log out on one node ends the session for the other.
		br.get(b + "/logout")
		require.Nil(t, br.cookie(a, "app"))
		require.Equal(t, "1", br.get(a+"/count"))
	})
}

// Options.MaxAge < 0 or 0 on Save ends the session in the database and
// expires the cookie, as gorilla's FilesystemStore does.
func TestMaxAgeNotPositiveDeletes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		m := c.node(nil)
		store := c.store(m)
		for _, maxAge := range []int{-1, 0} {
			r := request(nil)
			sess, err := store.Get(r, "s")
			require.NoError(t, err)
			sess.Values["a"] = 1
			cookie, err := saved(t, r, sess)
			require.NoError(t, err)
			id, err := pgsession.ParseID(sess.ID)
			require.NoError(t, err)

			r = request(cookie)
			sess, err = store.Get(r, "s")
			require.NoError(t, err)
			sess.Options.MaxAge = maxAge
			expired, err := saved(t, r, sess)
			require.NoError(t, err)
			require.Less(t, expired.MaxAge, 0, "MaxAge %d: the cookie is expired", maxAge)
			require.Empty(t, expired.Value)
			require.Empty(t, sess.ID)
			_, err = m.GetByID(ctx, id, pgsession.ForceRefresh())
			require.ErrorIs(t, err, pgsession.ErrNotFound)

			// The old cookie now brings a new session.
			sess, err = store.New(request(cookie), "s")
			require.NoError(t, err)
			require.True(t, sess.IsNew)
		}
	})
}

// A key that is not a string, a value that does not encode as JSON, or a
// limit broken: Save returns an error naming the problem, writes nothing and
// sets no cookie; it never panics.
func TestBadValuesFailWhole(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		m := c.node(nil)
		store := c.store(m, gorillastore.WithUserKey("uid"))
		r := request(nil)
		sess, err := store.Get(r, "s")
		require.NoError(t, err)
		sess.Values["a"] = 1
		cookie, err := saved(t, r, sess)
		require.NoError(t, err)
		id, err := pgsession.ParseID(sess.ID)
		require.NoError(t, err)

		type key int
		cases := []struct {
			name string
			k, v any
			want error
			text string
		}{
			{"int key", 7, "x", pgsession.ErrInvalidKey, "int"},
			{"typed key", key(1), "x", pgsession.ErrInvalidKey, "gorillastore_test.key"},
			{"channel", "ch", make(chan int), pgsession.ErrInvalidValue, `"ch"`},
			{"function", "fn", func() {}, pgsession.ErrInvalidValue, `"fn"`},
			{"NaN", "nan", math.NaN(), pgsession.ErrInvalidValue, `"nan"`},
			{"nested NaN", "list", []any{1, math.Inf(1)}, pgsession.ErrInvalidValue, `"list"`},
			{"map with int keys of interfaces", "mm", map[any]any{1: 2}, pgsession.ErrInvalidValue, `"mm"`},
			{"too large", "big", strings.Repeat("x", 70_000), pgsession.ErrAttributeTooLarge, "big"},
			{"empty key", "", 1, pgsession.ErrInvalidKey, ""},
			{"user ID of a bad type", "uid", 1.5, pgsession.ErrInvalidUserID, "uid"},
		}
		for _, tc := range cases {
			for _, stored := range []bool{true, false} {
				var r *http.Request
				if stored {
					r = request(cookie)
				} else {
					r = request(nil)
				}
				sess, err := store.New(r, "s")
				require.NoError(t, err)
				sess.Values["a"] = 2 // a good change, refused with the bad one
				sess.Values[tc.k] = tc.v
				w := httptest.NewRecorder()
				var saveErr error
				require.NotPanics(t, func() { saveErr = sess.Save(r, w) }, tc.name)
				require.ErrorIs(t, saveErr, tc.want, tc.name)
				require.ErrorContains(t, saveErr, tc.text, tc.name)
				require.Empty(t, w.Result().Cookies(), tc.name)
			}
		}
		ps, err := m.GetByID(ctx, id, pgsession.ForceRefresh())
		require.NoError(t, err)
		require.Equal(t, 1, pgsession.AttrOr(ps, "a", 0))
		require.Equal(t, 1, liveSessions(t, m), "no session was created")
	})
}

// A cookie that was tampered with, signed with another ring, or is junk
// gives a new session and no error; the real session is untouched.
func TestTamperedTokenGivesNewSession(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		m := c.node(nil)
		store := c.store(m)
		r := request(nil)
		sess, err := store.Get(r, "s")
		require.NoError(t, err)
		sess.Values["secret"] = "mine"
		cookie, err := saved(t, r, sess)
		require.NoError(t, err)

		other, err := gorillastore.New(m, newRing(t, "k1")) // same key ID, other secret
		require.NoError(t, err)
		r = request(nil)
		foreign, err := other.Get(r, "s")
		require.NoError(t, err)
		foreign.Values["x"] = 1
		foreignCookie, err := saved(t, r, foreign)
		require.NoError(t, err)

		v := []byte(cookie.Value)
		mid := len(v) / 2
		v[mid] ^= 1 // still base64url for most characters; the MAC fails either way
		for name, value := range map[string]string{
			"flipped":      string(v),
			"truncated":    cookie.Value[:len(cookie.Value)-1],
			"other ring":   foreignCookie.Value,
			"junk":         "not a token",
			"empty":        "",
			"raw pgsessid": sess.ID,
		} {
			loaded, err := store.New(request(&http.Cookie{Name: "s", Value: value}), "s")
			require.NoError(t, err, name)
			require.True(t, loaded.IsNew, name)
			require.Empty(t, loaded.Values, name)
		}
		loaded, err := store.New(request(cookie), "s")
		require.NoError(t, err)
		require.Equal(t, "mine", loaded.Values["secret"])

		// A cookie of the same name planted ahead of the real one (by a
		// sibling subdomain, say) does not hide it.
		r = request(&http.Cookie{Name: "s", Value: "planted"})
		r.AddCookie(cookie)
		loaded, err = store.New(r, "s")
		require.NoError(t, err)
		require.Equal(t, "mine", loaded.Values["secret"])
	})
}

// WithUserKey binds sessions to users: a log in moves the session to a new
// token bound to the user (ListUser, DeleteUser work), a log out or another
// user ends the old session and starts a new one.
func TestUserKey(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		m := c.node(nil)
		store := c.store(m, gorillastore.WithUserKey("uid"))
		step := func(cookie *http.Cookie, change func(map[any]any)) (*sessions.Session, *http.Cookie) {
			t.Helper()
			r := request(cookie)
			sess, err := store.Get(r, "s")
			require.NoError(t, err)
			change(sess.Values)
			next, err := saved(t, r, sess)
			require.NoError(t, err)
			return sess, next
		}
		users := func(u string) []string {
			t.Helper()
			list, err := m.ListUser(ctx, u)
			require.NoError(t, err)
			var ids []string
			for _, s := range list {
				ids = append(ids, s.ID().String())
			}
			return ids
		}
		dead := func(cookie *http.Cookie) {
			t.Helper()
			sess, err := store.New(request(cookie), "s")
			require.NoError(t, err)
			require.True(t, sess.IsNew)
		}

		anon, c1 := step(nil, func(v map[any]any) { v["cart"] = "tea" })
		require.Empty(t, users("ada"))

		// Log in: new token, same data, bound to ada.
		ada, c2 := step(c1, func(v map[any]any) { v["uid"] = "ada" })
		require.NotEqual(t, anon.ID, ada.ID)
		require.Equal(t, []string{ada.ID}, users("ada"))
		dead(c1)
		got, _ := step(c2, func(map[any]any) {})
		require.Equal(t, map[any]any{"cart": "tea", "uid": "ada"}, got.Values)

		// An integer user ID is stored in decimal.
		n, _ := step(nil, func(v map[any]any) { v["uid"] = 42 })
		require.Equal(t, []string{n.ID}, users("42"))

		// Log out by removing the key: the user's session ends, the data
		// moves to a new anonymous session.
		out, c3 := step(c2, func(v map[any]any) { delete(v, "uid") })
		require.Empty(t, users("ada"))
		dead(c2)
		got, _ = step(c3, func(map[any]any) {})
		require.Equal(t, map[any]any{"cart": "tea"}, got.Values)
		require.Equal(t, out.ID, got.ID)

		// Another user: the first one's session ends, nothing is shared
		// with it but what Values hold.
		_, c4 := step(c3, func(v map[any]any) { v["uid"] = "ada" })
		bob, c5 := step(c4, func(v map[any]any) { v["uid"] = "bob" })
		require.Empty(t, users("ada"))
		require.Equal(t, []string{bob.ID}, users("bob"))
		dead(c4)

		// Log out everywhere: every device of bob's gets a new session.
		_, other := step(nil, func(v map[any]any) { v["uid"] = "bob" })
		require.Len(t, users("bob"), 2)
		ended, err := m.DeleteUser(ctx, "bob")
		require.NoError(t, err)
		require.Equal(t, 2, ended)
		dead(c5)
		dead(other)
	})
}

// The cookie carries every option of the session; MaxAge also sets how long
// the session lives in the database, from each Save.
func TestOptions(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		m := c.node(nil)
		store := c.store(m)
		store.Options = &sessions.Options{Path: "/app", Domain: "example.com", MaxAge: 3600,
			Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode, Partitioned: true}
		lifetime := func(s *sessions.Session) time.Duration {
			t.Helper()
			id, err := pgsession.ParseID(s.ID)
			require.NoError(t, err)
			ps, err := m.GetByID(ctx, id, pgsession.ForceRefresh())
			require.NoError(t, err)
			return ps.ExpiresAt().Sub(ps.UpdatedAt())
		}

		r := request(nil)
		sess, err := store.Get(r, "s")
		require.NoError(t, err)
		sess.Values["a"] = 1
		cookie, err := saved(t, r, sess)
		require.NoError(t, err)
		require.Equal(t, "/app", cookie.Path)
		require.Equal(t, "example.com", cookie.Domain)
		require.Equal(t, 3600, cookie.MaxAge)
		require.WithinDuration(t, time.Now().Add(time.Hour), cookie.Expires, 5*time.Second)
		require.True(t, cookie.Secure)
		require.True(t, cookie.HttpOnly)
		require.True(t, cookie.Partitioned)
		require.Equal(t, http.SameSiteStrictMode, cookie.SameSite)
		require.InDelta(t, time.Hour.Seconds(), lifetime(sess).Seconds(), 2)

		// A session's own options win, and every Save moves the end.
		r = request(cookie)
		sess, err = store.Get(r, "s")
		require.NoError(t, err)
		sess.Options.MaxAge = 7200
		sess.Options.HttpOnly = false
		sess.Options.SameSite = http.SameSiteLaxMode
		cookie, err = saved(t, r, sess)
		require.NoError(t, err)
		require.Equal(t, 7200, cookie.MaxAge)
		require.False(t, cookie.HttpOnly)
		require.Equal(t, http.SameSiteLaxMode, cookie.SameSite)
		require.InDelta(t, (2 * time.Hour).Seconds(), lifetime(sess).Seconds(), 2)

		// The longest MaxAge a gorilla application may set is accepted.
		r = request(cookie)
		sess, err = store.Get(r, "s")
		require.NoError(t, err)
		sess.Options.MaxAge = math.MaxInt32
		cookie, err = saved(t, r, sess)
		require.NoError(t, err)
		require.Equal(t, math.MaxInt32, cookie.MaxAge)
		require.InDelta(t, float64(math.MaxInt32), lifetime(sess).Seconds(), 2)

		// The store's defaults are untouched by the session's changes.
		require.Equal(t, 3600, store.Options.MaxAge)

		// Browser-session cookies: no Max-Age, the server still uses MaxAge.
		bs := c.store(m, gorillastore.WithBrowserSessionCookies())
		bs.MaxAge(600)
		r = request(nil)
		sess, err = bs.Get(r, "s")
		require.NoError(t, err)
		cookie, err = saved(t, r, sess)
		require.NoError(t, err)
		require.Zero(t, cookie.MaxAge)
		require.True(t, cookie.Expires.IsZero())
		require.InDelta(t, (10 * time.Minute).Seconds(), lifetime(sess).Seconds(), 2)
	})
}

// Save writes only the keys that changed since the load: two requests of
// one session that change different keys both survive, and a value read
// back unchanged (an object PostgreSQL stored with its keys reordered) is
// not written back over a newer one.
func TestConcurrentSavesKeepEachOthersKeys(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		store := c.store(c.node(nil))
		r := request(nil)
		sess, err := store.Get(r, "s")
		require.NoError(t, err)
		sess.Values["a"] = 1
		sess.Values["b"] = 1
		sess.Values["obj"] = map[string]any{"zz": 1, "b": 2, "aaa": []any{1.5, "x"}}
		sess.Values["gone"] = true
		cookie, err := saved(t, r, sess)
		require.NoError(t, err)

		r1, r2 := request(cookie), request(cookie)
		s1, err := store.Get(r1, "s")
		require.NoError(t, err)
		s2, err := store.Get(r2, "s")
		require.NoError(t, err)

		s1.Values["a"] = 2
		s1.Values["obj"] = map[string]any{"zz": 2}
		_, err = saved(t, r1, s1)
		require.NoError(t, err)

		s2.Values["b"] = 2
		delete(s2.Values, "gone")
		c2, err := saved(t, r2, s2)
		require.NoError(t, err)

		final, err := store.New(request(c2), "s")
		require.NoError(t, err)
		require.Equal(t, map[any]any{"a": 2, "b": 2, "obj": map[string]any{"zz": 2}}, final.Values)
	})
}

// Each Save is one round trip (two for a log in); a load from the cache is
// none.
func TestRoundTrips(t *testing.T) {
	t.Parallel()
	c := &cluster{t: t, b: backends.New(t, "postgres"), kind: "postgres", keys: newRing(t, "k1")}
	rt := &pgsessiontest.RoundTrips{}
	m := c.node(rt)
	store := c.store(m, gorillastore.WithUserKey("uid"))
	count := func(what string, want int, f func()) {
		t.Helper()
		rt.Reset()
		f()
		require.Equal(t, want, rt.Count(), "%s: %q", what, rt.Statements())
	}

	var cookie *http.Cookie
	count("create", 1, func() {
		r := request(nil)
		sess, err := store.Get(r, "s")
		require.NoError(t, err)
		sess.Values["n"] = 1
		cookie, err = saved(t, r, sess)
		require.NoError(t, err)
	})
	// A PostgreSQL node serves from its cache once its listener is up.
	require.Eventually(t, func() bool {
		before := m.Stats().CacheHits
		_, err := store.New(request(cookie), "s")
		require.NoError(t, err)
		return m.Stats().CacheHits > before
	}, 10*time.Second, 10*time.Millisecond)

	var sess *sessions.Session
	var r *http.Request
	count("load, cache hit", 0, func() {
		var err error
		r = request(cookie)
		sess, err = store.Get(r, "s")
		require.NoError(t, err)
	})
	count("save", 1, func() {
		sess.Values["n"] = 2
		sess.Values["m"] = "x"
		var err error
		cookie, err = saved(t, r, sess)
		require.NoError(t, err)
	})
	count("save again in the same request, nothing changed", 1, func() {
		var err error
		cookie, err = saved(t, r, sess)
		require.NoError(t, err)
	})
	count("log in", 2, func() {
		r = request(cookie)
		sess, err := store.Get(r, "s")
		require.NoError(t, err)
		sess.Values["uid"] = "ada"
		cookie, err = saved(t, r, sess)
		require.NoError(t, err)
	})
	count("delete", 1, func() {
		r = request(cookie)
		sess, err := store.Get(r, "s")
		require.NoError(t, err)
		sess.Options.MaxAge = -1
		_, err = saved(t, r, sess)
		require.NoError(t, err)
	})
}

// A fault while loading gives an error and a new session, which Save
// refuses to write: a passing database outage must not replace the session
// the client holds.
func TestLoadFaultIsNotSavedOver(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		m := c.node(nil)
		store := c.store(m)
		r := request(nil)
		sess, err := store.Get(r, "s")
		require.NoError(t, err)
		cookie, err := saved(t, r, sess)
		require.NoError(t, err)

		require.NoError(t, m.Close(ctx))
		r = request(cookie)
		sess, err = store.Get(r, "s")
		require.ErrorIs(t, err, pgsession.ErrClosed)
		require.NotNil(t, sess)
		require.True(t, sess.IsNew)
		sess.Values["x"] = 1
		w := httptest.NewRecorder()
		err = sess.Save(r, w)
		require.ErrorIs(t, err, pgsession.ErrClosed)
		require.ErrorContains(t, err, "not written")
		require.Empty(t, w.Result().Cookies())
	})
}

// A session ended while a request held it (a log out elsewhere) stays ended:
// Save expires the cookie, creates nothing and says why.
func TestSaveAfterSessionEndedElsewhere(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		a, b := c.node(nil), c.node(nil)
		store := c.store(a)
		r := request(nil)
		sess, err := store.Get(r, "s")
		require.NoError(t, err)
		sess.Values["n"] = 1
		cookie, err := saved(t, r, sess)
		require.NoError(t, err)

		r = request(cookie)
		sess, err = store.Get(r, "s")
		require.NoError(t, err)
		id, err := pgsession.ParseID(sess.ID)
		require.NoError(t, err)
		require.NoError(t, b.Delete(ctx, id))

		sess.Values["n"] = 2
		expired, err := saved(t, r, sess)
		require.ErrorIs(t, err, pgsession.ErrNotFound)
		require.Less(t, expired.MaxAge, 0)
		require.Zero(t, liveSessions(t, a))
	})
}

// A stored value that does not decode into its registered type is reported
// and left out of Values; the rest of the session loads, and Save leaves
// that value as it is.
func TestUndecodableValueIsKept(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		m := c.node(nil)
		plain := c.store(m)
		typed := c.store(m, gorillastore.WithType[*profile]("profile"))
		r := request(nil)
		sess, err := plain.Get(r, "s")
		require.NoError(t, err)
		sess.Values["profile"] = "not an object"
		sess.Values["n"] = 1
		cookie, err := saved(t, r, sess)
		require.NoError(t, err)

		r = request(cookie)
		sess, err = typed.Get(r, "s")
		require.ErrorContains(t, err, `"profile"`)
		require.False(t, sess.IsNew)
		require.Equal(t, map[any]any{"n": 1}, sess.Values)
		sess.Values["n"] = 2
		_, err = saved(t, r, sess)
		require.NoError(t, err)

		id, err := pgsession.ParseID(sess.ID)
		require.NoError(t, err)
		ps, err := m.GetByID(ctx, id, pgsession.ForceRefresh())
		require.NoError(t, err)
		require.Equal(t, "not an object", pgsession.AttrOr(ps, "profile", ""))
		require.Equal(t, 2, pgsession.AttrOr(ps, "n", 0))
	})
}

func TestNewChecksArguments(t *testing.T) {
	t.Parallel()
	m, err := pgsession.NewMemory(nil, pgsession.Config{})
	require.NoError(t, err)
	defer m.Close(context.Background())
	keys := newRing(t, "k1")
	_, err = gorillastore.New(nil, keys)
	require.ErrorIs(t, err, pgsession.ErrInvalidConfig)
	_, err = gorillastore.New(m, nil)
	require.ErrorIs(t, err, pgsession.ErrInvalidConfig)
	for name, opt := range map[string]gorillastore.Option{
		"empty user key":   gorillastore.WithUserKey(""),
		"empty type key":   gorillastore.WithType[int](""),
		"zero timeout":     gorillastore.WithWriteTimeout(0),
		"negative timeout": gorillastore.WithWriteTimeout(-time.Second),
	} {
		_, err := gorillastore.New(m, keys, opt)
		require.ErrorIs(t, err, pgsession.ErrInvalidConfig, name)
	}
}

// liveSessions counts the sessions m can see.
func liveSessions(t *testing.T, m *pgsession.Manager) int {
	t.Helper()
	n := 0
	for _, err := range m.All(context.Background(), 0) {
		require.NoError(t, err)
		n++
	}
	return n
}
