package httpsession_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/httpsession"
)

// Changes made in the log-in request land in the renewed session.
func TestLogInKeepsPendingChanges(t *testing.T) {
	mw, log := newMW(t, newCluster(t, "memory").node(t, testConfig()))
	cookie := start(t, mw, nil)
	h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mw.Set(r, "before", true)
		s, err := mw.LogIn(r, "ada")
		require.NoError(t, err)
		require.Same(t, s, mw.Session(r))
		mw.Set(r, "after", true)
		w.Write([]byte("welcome"))
	}))
	cookie = setCookie(serve(h, get(cookie)), sessionCookie)
	s := sessionOf(t, mw, cookie)
	require.Equal(t, []string{httpsession.AuthTimeKey, "after", "before"}, s.Keys())
	require.Equal(t, "ada", s.UserID())
	log.requireNone(t)
}

// A token from before log out, replayed, is no session.
func TestLogOutTokenReplay(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		mw, log := newMW(t, c.node(t, testConfig()))
		cookie := login(t, mw, "ada", nil)
		h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			require.NotNil(t, mw.Session(r))
			mw.Set(r, "dropped", true) // unsaved changes go with the session
			require.NoError(t, mw.LogOut(r))
			require.Nil(t, mw.Session(r))
			w.Write([]byte("bye"))
		}))
		resp := serve(h, get(cookie))
		cleared := setCookie(resp, sessionCookie)
		require.NotNil(t, cleared)
		require.Empty(t, cleared.Value)
		require.Equal(t, -1, cleared.MaxAge, "Max-Age=0")
		require.Contains(t, resp.Header.Values("Cache-Control"), `no-cache="Set-Cookie"`)

		require.Nil(t, sessionOf(t, mw, cookie), "replayed token is rejected")
		require.Zero(t, c.rowCount(t))
		log.requireNone(t)
	})
}

// A request that loaded the session before a log out and writes after it
// must not bring the session back: its save fails with ErrNotFound (to the
// hook), nothing is created in its place, and its response hands out no
// token.
func TestLogOutRacingSlowRequest(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		mw, log := newMW(t, c.node(t, testConfig()))
		cookie := login(t, mw, "ada", nil)

		loaded, proceed := make(chan struct{}), make(chan struct{})
		slow := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			require.NotNil(t, mw.Session(r))
			close(loaded)
			<-proceed
			mw.Set(r, "cart", []string{"tea"})
			w.Write([]byte("added"))
		}))
		var slowResp *http.Response
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			slowResp = serve(slow, get(cookie))
		}()
		<-loaded

		logout := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			require.NoError(t, mw.LogOut(r))
		}))
		serve(logout, get(cookie))
		close(proceed)
		wg.Wait()

		require.Empty(t, slowResp.Cookies(), "no token handed out")
		log.requireOne(t, pgsession.ErrNotFound)
		require.Zero(t, c.rowCount(t), "nothing resurrected, nothing created")
		require.Nil(t, sessionOf(t, mw, cookie))
	})
}

func TestLogOutEverywhere(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		m := c.node(t, testConfig())
		mw, log := newMW(t, m)
		phone, laptop := login(t, mw, "ada", nil), login(t, mw, "ada", nil)
		other := login(t, mw, "bob", nil)
		var n int
		h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var err error
			n, err = mw.LogOutEverywhere(r)
			require.NoError(t, err)
		}))
		resp := serve(h, get(phone))
		require.Equal(t, 2, n)
		require.Equal(t, -1, setCookie(resp, sessionCookie).MaxAge)
		require.Nil(t, sessionOf(t, mw, phone))
		require.Nil(t, sessionOf(t, mw, laptop))
		require.NotNil(t, sessionOf(t, mw, other))

		// Anonymous: just this session.
		anon := start(t, mw, nil)
		serve(h, get(anon))
		require.Equal(t, 1, n)
		require.Nil(t, sessionOf(t, mw, anon))
		log.requireNone(t)
	})
}

func TestLogOutOtherDevices(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		mw, log := newMW(t, c.node(t, testConfig()))
		phone, laptop, tablet := login(t, mw, "ada", nil), login(t, mw, "ada", nil), login(t, mw, "ada", nil)
		var n int
		h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var err error
			n, err = mw.LogOutOtherDevices(r)
			require.NoError(t, err)
		}))
		resp := serve(h, get(phone))
		require.Equal(t, 2, n)
		require.Empty(t, resp.Cookies(), "this device keeps its token")
		require.NotNil(t, sessionOf(t, mw, phone))
		require.Nil(t, sessionOf(t, mw, laptop))
		require.Nil(t, sessionOf(t, mw, tablet))

		serve(h, get(start(t, mw, nil)))
		require.Zero(t, n, "anonymous sessions have no other devices")
		log.requireNone(t)
	})
}

// After a log out the request may start a fresh session (a flash message
// saying goodbye): new token, nothing of the old session.
func TestLogOutThenNewSession(t *testing.T) {
	mw, log := newMW(t, newCluster(t, "memory").node(t, testConfig()))
	cookie := login(t, mw, "ada", nil)
	h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, mw.LogOut(r))
		mw.Set(r, "flash", "goodbye")
	}))
	fresh := setCookie(serve(h, get(cookie)), sessionCookie)
	require.NotEmpty(t, fresh.Value)
	require.Nil(t, sessionOf(t, mw, cookie))
	s := sessionOf(t, mw, fresh)
	require.Empty(t, s.UserID())
	require.Equal(t, "goodbye", pgsession.AttrOr(s, "flash", ""))
	log.requireNone(t)
}

// A log out after the response was written still ends the session, and
// says the cookie could not be cleared.
func TestLateLogOut(t *testing.T) {
	mw, log := newMW(t, newCluster(t, "memory").node(t, testConfig()))
	cookie := login(t, mw, "ada", nil)
	h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("body"))
		require.NoError(t, mw.LogOut(r))
	}))
	resp := serve(h, get(cookie))
	require.Empty(t, resp.Cookies())
	log.requireOne(t, httpsession.ErrResponseWritten)
	require.Nil(t, sessionOf(t, mw, cookie))
}

// Remember me: a persistent cookie (Max-Age, Expires) and the longer
// lifetime, kept when later requests refresh the cookie; without it a
// browser-session cookie.
func TestRememberMe(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		mw, log := newMW(t, c.node(t, testConfig()), func(cfg *httpsession.Config) {
			cfg.RememberLifetime = 7 * 24 * time.Hour
		})
		remembered := login(t, mw, "ada", nil, httpsession.RememberMe(true))
		week := int((7 * 24 * time.Hour).Seconds())
		require.InDelta(t, week, remembered.MaxAge, 60)
		require.WithinDuration(t, time.Now().Add(7*24*time.Hour), remembered.Expires, time.Minute)
		s := sessionOf(t, mw, remembered)
		require.WithinDuration(t, time.Now().Add(7*24*time.Hour), s.ExpiresAt(), time.Minute)

		// A later write refreshes the cookie; it stays persistent.
		h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { mw.Set(r, "n", 1) }))
		refreshed := setCookie(serve(h, get(remembered)), sessionCookie)
		require.InDelta(t, week, refreshed.MaxAge, 60)

		plain := login(t, mw, "ada", nil, httpsession.RememberMe(false))
		require.Zero(t, plain.MaxAge)
		require.True(t, plain.Expires.IsZero())
		refreshed = setCookie(serve(h, get(plain)), sessionCookie)
		require.Zero(t, refreshed.MaxAge)

		// A remembered session logging in again without remember me
		// becomes a browser-session one.
		again := login(t, mw, "ada", remembered, httpsession.RememberMe(false))
		require.Zero(t, again.MaxAge)
		log.requireNone(t)
	})
}

// LogIn passes session options through and records the client.
func TestLogInOptions(t *testing.T) {
	mw, _ := newMW(t, newCluster(t, "memory").node(t, testConfig()), func(cfg *httpsession.Config) {
		cfg.ClientInfo = func(r *http.Request) (string, string) { return "TestBrowser/1", "203.0.113.7" }
	})
	cookie := login(t, mw, "ada", nil, httpsession.WithSessionOptions(pgsession.WithLifetime(time.Hour)))
	s := sessionOf(t, mw, cookie)
	require.WithinDuration(t, time.Now().Add(time.Hour), s.ExpiresAt(), time.Minute)
	require.Equal(t, "TestBrowser/1", s.UserAgent())
	require.Equal(t, "203.0.113.7", s.IP())
}

func TestRenewToken(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		mw, log := newMW(t, c.node(t, testConfig()))
		cookie := login(t, mw, "ada", nil)
		h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, err := mw.RenewToken(r)
			require.NoError(t, err)
		}))
		renewed := setCookie(serve(h, get(cookie)), sessionCookie)
		require.NotEqual(t, cookie.Value, renewed.Value)
		require.Nil(t, sessionOf(t, mw, cookie))
		require.Equal(t, "ada", sessionOf(t, mw, renewed).UserID())

		var err error
		h = mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, err = mw.RenewToken(r) }))
		serve(h, get())
		require.ErrorIs(t, err, pgsession.ErrNotFound)
		log.requireNone(t)
	})
}

// Strict mode: a save from a request that read an older version is refused
// whole, and the refusal reaches the hook (or Save's caller).
func TestStrictVersionConflict(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		mw, log := newMW(t, c.node(t, testConfig()), func(cfg *httpsession.Config) { cfg.Strict = true })
		cookie := start(t, mw, map[string]any{"n": 0})

		loaded, proceed := make(chan struct{}), make(chan struct{})
		var saveErr error
		slow := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			close(loaded)
			<-proceed
			mw.Set(r, "slow", true)
			if r.URL.Query().Has("save") {
				_, saveErr = mw.Save(r)
			}
		}))
		fast := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { mw.Set(r, "n", 1) }))

		for _, viaSave := range []bool{false, true} {
			loaded, proceed = make(chan struct{}), make(chan struct{})
			r := get(cookie)
			if viaSave {
				r.URL.RawQuery = "save"
			}
			var slowResp *http.Response
			done := make(chan struct{})
			go func() { defer close(done); slowResp = serve(slow, r) }()
			<-loaded
			cookie = setCookie(serve(fast, get(cookie)), sessionCookie)
			close(proceed)
			<-done

			require.Empty(t, slowResp.Cookies())
			if viaSave {
				require.ErrorIs(t, saveErr, pgsession.ErrVersionConflict)
				log.requireNone(t)
			} else {
				log.requireOne(t, pgsession.ErrVersionConflict)
			}
			s := sessionOf(t, mw, cookie)
			require.False(t, s.Has("slow"))
			require.Equal(t, 1, pgsession.AttrOr(s, "n", 0))
		}
	})
}

// Without Strict, concurrent requests changing different keys both land.
func TestConcurrentRequestsMerge(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		mw, log := newMW(t, c.node(t, testConfig()))
		cookie := start(t, mw, nil)
		var wg sync.WaitGroup
		for _, key := range []string{"a", "b", "c", "d"} {
			wg.Go(func() {
				h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { mw.Set(r, key, true) }))
				serve(h, get(cookie))
			})
		}
		wg.Wait()
		require.Equal(t, []string{"a", "b", "c", "d"}, sessionOf(t, mw, cookie).Keys())
		log.requireNone(t)
	})
}

// A remembered session gets an idle timeout as long as the cookie it gets
// (RememberIdleTimeout, by default RememberLifetime), so the user is not
// logged out after the Manager's idle timeout; a session that is not
// remembered, the control, is. Both go through Renew (log in from an
// anonymous session), which keeps a session's idle timeout unless told.
func TestRememberedSessionOutlivesIdleTimeout(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		const idle = 500 * time.Millisecond
		cfg := testConfig() // no touches: idle time counts from the log in
		cfg.IdleTimeout = idle
		mw, log := newMW(t, c.node(t, cfg), func(cfg *httpsession.Config) { cfg.RememberLifetime = time.Hour })

		remembered := login(t, mw, "ada", start(t, mw, nil), httpsession.RememberMe(true))
		plain := login(t, mw, "bob", start(t, mw, nil))
		idleOf := func(c *http.Cookie) time.Duration {
			s := sessionOf(t, mw, c)
			require.NotNil(t, s)
			return s.IdleTimeout()
		}
		require.Equal(t, time.Hour, idleOf(remembered))
		require.Equal(t, idle, idleOf(plain))

		// Logging in again without remember me goes back to the Manager's.
		again := login(t, mw, "ada", login(t, mw, "ada", nil, httpsession.RememberMe(true)))
		require.Equal(t, idle, idleOf(again))

		time.Sleep(2 * idle)
		require.Nil(t, sessionOf(t, mw, plain), "the control: idle past the Manager's timeout")
		s := sessionOf(t, mw, remembered)
		require.NotNil(t, s, "remembered: still logged in")
		require.Equal(t, "ada", s.UserID())

		require.Equal(t, time.Hour, mw.Config().RememberIdleTimeout, "the default: RememberLifetime")
		mw, _ = newMW(t, c.node(t, cfg), func(cfg *httpsession.Config) { cfg.RememberIdleTimeout = 3 * time.Hour })
		remembered = login(t, mw, "ada", nil, httpsession.RememberMe(true))
		require.Equal(t, 3*time.Hour, idleOf(remembered))
		log.requireNone(t)
	})
}
