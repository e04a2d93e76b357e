package httpsession_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/httpsession"
	"github.com/pgsession/pgsession/token"
)

func TestNoTokenNoSession(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		mw, log := newMW(t, c.node(t, testConfig()))
		var out seen
		resp := serve(reader(mw, &out), get())
		require.Nil(t, out.get())
		require.Empty(t, resp.Cookies(), "no session, no cookie")
		require.Equal(t, []string{"Cookie"}, headerValues(resp.Header, "Vary"))
		require.Empty(t, resp.Header.Values("Cache-Control"))
		log.requireNone(t)
	})
}

// DESIGN T2: a token the server did not issue never becomes a session.
// Whatever the client offers, the handler sees no session, and the session
// the application then starts has a token of the server's making.
func TestUnissuedTokenNeverBecomesSession(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		m := c.node(t, testConfig())
		mw, log := newMW(t, m)

		// A real session, whose raw secret the attacker somehow learned.
		victim, err := m.Create(ctx, "victim", map[string]any{"role": "admin"})
		require.NoError(t, err)
		valid := start(t, mw, nil)
		otherKey, err := ring(t, "k1-other").Encode(token.Claims{Secret: victim.Token(), Version: victim.Version()})
		require.NoError(t, err)
		var zero [32]byte
		unknown, err := ring(t, "k1").Encode(token.Claims{Secret: base64.RawURLEncoding.EncodeToString(zero[:])})
		require.NoError(t, err)

		for name, value := range map[string]string{
			"attacker-chosen value":        "fixated-session-id",
			"raw, unsigned session secret": victim.Token(),
			"signed with a foreign key":    otherKey,
			"tampered":                     valid.Value[:len(valid.Value)-3] + "AAA",
			"signed, never-issued secret":  unknown,
			"empty":                        "",
			"oversized":                    strings.Repeat("A", 5000),
		} {
			var saw *pgsession.Session
			h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				saw = mw.Session(r)
				_, err := mw.Ensure(r)
				require.NoError(t, err)
			}))
			resp := serve(h, get(&http.Cookie{Name: sessionCookie, Value: value}))
			require.Nil(t, saw, name)
			issued := setCookie(resp, sessionCookie)
			require.NotNil(t, issued, name)
			require.NotEqual(t, value, issued.Value, name)
			claims, err := mw.Config().Keys.Decode(issued.Value)
			require.NoError(t, err, name)
			require.NotEqual(t, victim.Token(), claims.Secret, name)
			require.NotEqual(t, base64.RawURLEncoding.EncodeToString(zero[:]), claims.Secret, name)
			s := sessionOf(t, mw, issued)
			require.NotNil(t, s, name)
			require.Empty(t, s.UserID(), name)
			require.False(t, s.Has("role"), name)
		}
		log.requireNone(t) // bad tokens are "no session", not errors

		still, err := m.Get(ctx, victim.Token())
		require.NoError(t, err, "the real session is untouched")
		require.Equal(t, "victim", still.UserID())
	})
}

// Set on a request without a session starts one (the first item in a cart).
func TestSetStartsSession(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		mw, log := newMW(t, c.node(t, testConfig()))
		h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			require.Nil(t, mw.Session(r))
			mw.Set(r, "cart", []string{"tea"})
			w.Write([]byte("added"))
		}))
		cookie := setCookie(serve(h, get()), sessionCookie)
		require.NotNil(t, cookie)
		s := sessionOf(t, mw, cookie)
		require.NotNil(t, s)
		require.Equal(t, []string{"tea"}, pgsession.AttrOr[[]string](s, "cart", nil))
		log.requireNone(t)
	})
}

// The patch is saved, and the Set-Cookie with the new version set, before
// the first byte of the body, whichever way the handler starts its response.
func TestSavedBeforeFirstWrite(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		m := c.node(t, testConfig())
		mw, log := newMW(t, m)
		cookie := start(t, mw, map[string]any{"n": 0})
		before := sessionOf(t, mw, cookie)

		for name, respond := range map[string]func(w http.ResponseWriter){
			"Write":       func(w http.ResponseWriter) { w.Write([]byte("body")) },
			"WriteHeader": func(w http.ResponseWriter) { w.WriteHeader(http.StatusCreated) },
			"nothing":     func(w http.ResponseWriter) {},
			"Flush": func(w http.ResponseWriter) {
				require.NoError(t, http.NewResponseController(w).Flush())
			},
			"ReadFrom": func(w http.ResponseWriter) {
				_, ok := w.(io.ReaderFrom)
				require.True(t, ok)
				// A LimitedReader has no WriteTo, so io.Copy calls ReadFrom.
				n, err := io.Copy(w, io.LimitReader(strings.NewReader("body"), 10))
				require.NoError(t, err)
				require.EqualValues(t, 4, n)
			},
		} {
			h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mw.Set(r, "n", name)
				respond(w)
			}))
			resp := serve(h, get(cookie))
			fresh := setCookie(resp, sessionCookie)
			require.NotNil(t, fresh, name)
			require.Contains(t, resp.Header.Values("Cache-Control"), `no-cache="Set-Cookie"`, name)
			claims, err := mw.Config().Keys.Decode(fresh.Value)
			require.NoError(t, err)
			require.Greater(t, claims.Version, before.Version(), name)
			s := sessionOf(t, mw, fresh)
			require.Equal(t, name, pgsession.AttrOr(s, "n", ""), name)
			require.Equal(t, claims.Version, s.Version(), name)
			cookie = fresh
		}
		log.requireNone(t)
	})
}

// Unwrap lets http.ResponseController reach the server's writer (deadlines),
// and Flush through it saves the session first. Checked on a real server.
func TestResponseController(t *testing.T) {
	mw, log := newMW(t, newCluster(t, "memory").node(t, testConfig()))
	flushed := make(chan struct{})
	srv := httptest.NewServer(mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		require.NoError(t, rc.SetWriteDeadline(time.Now().Add(10*time.Second)), "reached through Unwrap")
		require.NoError(t, rc.EnableFullDuplex())
		mw.Set(r, "streaming", true)
		require.NoError(t, rc.Flush())
		<-flushed // the client has the headers before the handler returns
		w.Write([]byte("done"))
		_, ok := w.(http.Flusher)
		require.True(t, ok)
		_, ok = w.(interface{ Unwrap() http.ResponseWriter })
		require.True(t, ok)
	})))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	require.NoError(t, err)
	close(flushed)
	defer resp.Body.Close()
	cookie := setCookie(resp, sessionCookie)
	require.NotNil(t, cookie, "Set-Cookie went out with the flushed headers")
	require.True(t, pgsession.AttrOr(sessionOf(t, mw, cookie), "streaming", false))
	log.requireNone(t)
}

// 103 Early Hints go out before the final response; the session is saved
// with the final one.
func TestInformationalHeadersPassThrough(t *testing.T) {
	mw, log := newMW(t, newCluster(t, "memory").node(t, testConfig()))
	srv := httptest.NewServer(mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</app.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		mw.Set(r, "hinted", true)
		w.Write([]byte("body"))
	})))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	cookie := setCookie(resp, sessionCookie)
	require.NotNil(t, cookie)
	require.True(t, pgsession.AttrOr(sessionOf(t, mw, cookie), "hinted", false))
	log.requireNone(t)
}

// A change after the response was written is saved, never dropped, and
// reported: the client's token could not carry the new version.
func TestChangeAfterWriteIsReported(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		mw, log := newMW(t, c.node(t, testConfig()))
		cookie := start(t, mw, nil)
		var loginErr, ensureErr error
		h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("body"))
			mw.Set(r, "late", true)
			_, loginErr = mw.LogIn(r, "ada")
			_, ensureErr = mw.Ensure(r) // there is a session: no error
		}))
		resp := serve(h, get(cookie))
		require.Nil(t, setCookie(resp, sessionCookie))
		require.ErrorIs(t, loginErr, httpsession.ErrResponseWritten)
		require.NoError(t, ensureErr)
		log.requireOne(t, httpsession.ErrResponseWritten)

		s := sessionOf(t, mw, cookie)
		require.True(t, pgsession.AttrOr(s, "late", false), "saved anyway")
		require.Empty(t, s.UserID(), "the refused log in did not happen")

		// Without a session, a late Set cannot start one (its token could
		// not be sent): reported, not saved.
		h = mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNoContent)
			mw.Set(r, "late", true)
			_, ensureErr = mw.Ensure(r)
		}))
		resp = serve(h, get())
		require.Empty(t, resp.Cookies())
		require.ErrorIs(t, ensureErr, httpsession.ErrResponseWritten)
		log.requireOne(t, httpsession.ErrResponseWritten)
	})
}

// A value that cannot be saved is reported, and nothing of the patch is
// written.
func TestInvalidValueReported(t *testing.T) {
	mw, log := newMW(t, newCluster(t, "memory").node(t, testConfig()))
	cookie := start(t, mw, nil)
	h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mw.Set(r, "ok", 1)
		mw.Set(r, "bad", make(chan int))
	}))
	resp := serve(h, get(cookie))
	require.Nil(t, setCookie(resp, sessionCookie))
	log.requireOne(t, pgsession.ErrInvalidValue)
	s := sessionOf(t, mw, cookie)
	require.False(t, s.Has("ok"))
}

func TestDelete(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		mw, log := newMW(t, c.node(t, testConfig()))
		cookie := start(t, mw, map[string]any{"a": 1, "b": 2})
		h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mw.Delete(r, "a")
			s, err := mw.Save(r)
			require.NoError(t, err)
			require.Equal(t, []string{"b"}, s.Keys())
			require.Same(t, s, mw.Session(r))
		}))
		cookie = setCookie(serve(h, get(cookie)), sessionCookie)
		require.Equal(t, []string{"b"}, sessionOf(t, mw, cookie).Keys())
		log.requireNone(t)
	})
}

func TestSetTTL(t *testing.T) {
	mw, _ := newMW(t, newCluster(t, "memory").node(t, testConfig()))
	h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mw.SetTTL(r, "flash", "saved", time.Hour)
	}))
	cookie := setCookie(serve(h, get()), sessionCookie)
	s := sessionOf(t, mw, cookie)
	exp, ok := s.AttrExpiresAt("flash")
	require.True(t, ok)
	require.WithinDuration(t, time.Now().Add(time.Hour), exp, time.Minute)
}

// Two Middlewares on one request (a site session and an admin session)
// keep separate state, cookies and sessions.
func TestTwoMiddlewaresOneRequest(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		m := c.node(t, testConfig())
		site, siteLog := newMW(t, m, func(cfg *httpsession.Config) { cfg.Cookie.Name = "site" })
		admin, adminLog := newMW(t, m, func(cfg *httpsession.Config) {
			cfg.Cookie.Name = "admin"
			cfg.Cookie.Path = "/"
			cfg.Keys = ring(t, "admin-key")
		})
		var siteSaw, adminSaw *pgsession.Session
		h := site.Handler(admin.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			siteSaw, adminSaw = site.Session(r), admin.Session(r)
			site.Set(r, "who", "site")
			admin.Set(r, "who", "admin")
			w.Write([]byte("ok"))
		})))
		resp := serve(h, get())
		siteC, adminC := setCookie(resp, "__Host-site"), setCookie(resp, "__Host-admin")
		require.NotNil(t, siteC)
		require.NotNil(t, adminC)
		require.Equal(t, []string{"Cookie"}, headerValues(resp.Header, "Vary"), "listed once")

		resp = serve(h, get(siteC, adminC))
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.NotNil(t, siteSaw)
		require.NotNil(t, adminSaw)
		require.NotEqual(t, siteSaw.ID(), adminSaw.ID())
		require.Equal(t, "site", pgsession.AttrOr(siteSaw, "who", ""))
		require.Equal(t, "admin", pgsession.AttrOr(adminSaw, "who", ""))

		// Each reads only its own cookie.
		require.Nil(t, sessionOf(t, site, &http.Cookie{Name: "__Host-site", Value: adminC.Value}))
		siteLog.requireNone(t)
		adminLog.requireNone(t)
	})
}

// A Middleware wrapped around a handler twice loads and saves once.
func TestWrappedTwice(t *testing.T) {
	mw, log := newMW(t, newCluster(t, "memory").node(t, testConfig()))
	h := mw.Handler(mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mw.Set(r, "n", 1)
	})))
	resp := serve(h, get())
	require.Len(t, resp.Header.Values("Set-Cookie"), 1)
	log.requireNone(t)
}

// The request's context carries the middleware's state and is otherwise
// the incoming one: its values, deadline and cancellation reach the handler
// and what the handler derives from it. Printing it, in any form, shows
// none of the state.
func TestRequestContext(t *testing.T) {
	mw, log := newMW(t, newCluster(t, "memory").node(t, testConfig()))
	cookie := start(t, mw, nil)
	claims, ok := httpsession.ReadToken(mw, get(cookie))
	require.True(t, ok)
	secret, err := base64.RawURLEncoding.DecodeString(claims.Secret)
	require.NoError(t, err)

	type key struct{}
	parent, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "outer"))
	defer cancel()
	deadline := time.Now().Add(time.Hour)
	parent, cancelDeadline := context.WithDeadline(parent, deadline)
	defer cancelDeadline()

	var derived context.Context
	var printed []string
	h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		require.NotNil(t, mw.Session(r))
		require.Equal(t, "outer", ctx.Value(key{}))
		d, ok := ctx.Deadline()
		require.True(t, ok)
		require.True(t, d.Equal(deadline))
		var stop context.CancelFunc
		derived, stop = context.WithCancel(ctx)
		t.Cleanup(stop)
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%q"} {
			printed = append(printed, fmt.Sprintf(verb, ctx))
		}
	}))
	serve(h, get(cookie).WithContext(parent))
	require.NoError(t, derived.Err())
	cancel()
	select {
	case <-derived.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("cancelling the incoming context did not reach one derived from the request's")
	}
	for _, p := range printed {
		require.NotContains(t, p, "secret:")
		require.NotContains(t, p, "state{")
		require.NotContains(t, p, strings.Trim(fmt.Sprint(secret[:8]), "[]"))
		require.NotContains(t, p, fmt.Sprintf("%x", secret[:8]))
		require.NotContains(t, p, claims.Secret[:12])
	}
	log.requireNone(t)
}

func TestRequestWithoutMiddleware(t *testing.T) {
	mw, log := newMW(t, newCluster(t, "memory").node(t, testConfig()))
	r := get()
	require.Nil(t, mw.Session(r))
	mw.Set(r, "k", 1)
	log.requireOne(t, httpsession.ErrNoMiddleware)
	_, err := mw.Ensure(r)
	require.ErrorIs(t, err, httpsession.ErrNoMiddleware)
	_, err = mw.Save(r)
	require.ErrorIs(t, err, httpsession.ErrNoMiddleware)
	_, err = mw.LogIn(r, "ada")
	require.ErrorIs(t, err, httpsession.ErrNoMiddleware)
	require.ErrorIs(t, mw.LogOut(r), httpsession.ErrNoMiddleware)
}

// When the store cannot say whether the session exists, the request has
// none, the error is reported, and nothing replaces the session the client
// may still have.
func TestLoadErrorNeverReplacesSession(t *testing.T) {
	c := newCluster(t, "memory")
	good, _ := newMW(t, c.node(t, testConfig()))
	cookie := start(t, good, map[string]any{"keep": true})

	broken := c.node(t, testConfig())
	require.NoError(t, broken.Close(context.Background()))
	mw, log := newMW(t, broken)
	var ensureErr error
	var saw *pgsession.Session
	h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		saw = mw.Session(r)
		_, ensureErr = mw.Ensure(r)
		mw.Set(r, "keep", false)
	}))
	resp := serve(h, get(cookie))
	require.Nil(t, saw)
	require.ErrorIs(t, ensureErr, pgsession.ErrClosed)
	require.Empty(t, resp.Cookies(), "the client keeps its token")
	errs := log.all()
	require.Len(t, errs, 2, "the load and the unsaved change: %v", errs)
	for _, err := range errs {
		require.ErrorIs(t, err, pgsession.ErrClosed)
	}
	require.True(t, pgsession.AttrOr(sessionOf(t, good, cookie), "keep", false))
}

func TestConfigValidation(t *testing.T) {
	m := newCluster(t, "memory").node(t, testConfig())
	keys := ring(t, "k1")
	for name, cfg := range map[string]httpsession.Config{
		"no manager":              {Keys: keys},
		"no keys":                 {Manager: m},
		"no transport":            {Manager: m, Keys: keys, Cookie: httpsession.CookieConfig{Disabled: true}},
		"bad cookie name":         {Manager: m, Keys: keys, Cookie: httpsession.CookieConfig{Name: "a b"}},
		"prefix only":             {Manager: m, Keys: keys, Cookie: httpsession.CookieConfig{Name: "__Host-"}},
		"host prefix, insecure":   {Manager: m, Keys: keys, Cookie: httpsession.CookieConfig{HostPrefix: true, Insecure: true}},
		"host prefix, domain":     {Manager: m, Keys: keys, Cookie: httpsession.CookieConfig{HostPrefix: true, Domain: "example.test"}},
		"host prefix, path":       {Manager: m, Keys: keys, Cookie: httpsession.CookieConfig{HostPrefix: true, Path: "/app"}},
		"__Host- name, path":      {Manager: m, Keys: keys, Cookie: httpsession.CookieConfig{Name: "__Host-s", Path: "/app"}},
		"__Secure- name insecure": {Manager: m, Keys: keys, Cookie: httpsession.CookieConfig{Name: "__Secure-s", Insecure: true}},
		"SameSite=None insecure":  {Manager: m, Keys: keys, Cookie: httpsession.CookieConfig{SameSite: http.SameSiteNoneMode, Insecure: true}},
		"SameSite out of range":   {Manager: m, Keys: keys, Cookie: httpsession.CookieConfig{SameSite: 9}},
		"path with ;":             {Manager: m, Keys: keys, Cookie: httpsession.CookieConfig{Path: "/;x"}},
		"bad header":              {Manager: m, Keys: keys, Header: "X Session"},
		"header is Cookie":        {Manager: m, Keys: keys, Header: "cookie"},
		"bad response header":     {Manager: m, Keys: keys, Header: "X-S", ResponseHeader: "a:b"},
		"response Authorization":  {Manager: m, Keys: keys, Header: "X-S", ResponseHeader: "authorization"},
		"negative timeout":        {Manager: m, Keys: keys, WriteTimeout: -1},
		"negative remember":       {Manager: m, Keys: keys, RememberLifetime: -time.Hour},
		"negative remember idle":  {Manager: m, Keys: keys, RememberIdleTimeout: -time.Hour},
		"bad trusted origin":      {Manager: m, Keys: keys, CrossOrigin: httpsession.CrossOriginConfig{TrustedOrigins: []string{"example.test"}}},
	} {
		_, err := httpsession.New(cfg)
		require.ErrorIs(t, err, pgsession.ErrInvalidConfig, name)
	}

	mw, err := httpsession.New(httpsession.Config{Manager: m, Keys: keys})
	require.NoError(t, err)
	got := mw.Config()
	require.Equal(t, "session", got.Cookie.Name)
	require.True(t, got.Cookie.HostPrefix, "sent as __Host-session")
	require.Equal(t, "/", got.Cookie.Path)
	require.Equal(t, http.SameSiteLaxMode, got.Cookie.SameSite)
	require.Equal(t, 30*24*time.Hour, got.RememberLifetime)
	require.Equal(t, 30*24*time.Hour, got.RememberIdleTimeout)
	require.False(t, got.CrossOrigin.Disabled)
	require.NotNil(t, got.CrossOrigin.Deny)
	require.NotNil(t, got.OnReauth)
	require.Equal(t, 5*time.Second, got.WriteTimeout)
	require.NotNil(t, got.OnError)
	require.NotNil(t, got.ClientInfo)

	mw, err = httpsession.New(httpsession.Config{Manager: m, Keys: keys, Header: "authorization"})
	require.NoError(t, err)
	require.Equal(t, "Authorization", mw.Config().Header)
	require.Equal(t, "X-Session-Token", mw.Config().ResponseHeader)
	mw, err = httpsession.New(httpsession.Config{Manager: m, Keys: keys, Header: "x-api-session"})
	require.NoError(t, err)
	require.Equal(t, "X-Api-Session", mw.Config().ResponseHeader)
}

// Hijacking the connection saves the session first; later changes are
// saved when the handler returns and reported, as no token can be sent.
func TestHijackSavesFirst(t *testing.T) {
	mw, log := newMW(t, newCluster(t, "memory").node(t, testConfig()))
	cookie := start(t, mw, nil)
	inner := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mw.Set(r, "before", true)
		conn, buf, err := http.NewResponseController(w).Hijack()
		require.NoError(t, err)
		mw.Set(r, "after", true)
		buf.WriteString("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
		buf.Flush()
		conn.Close()
	}))
	// The server does not wait for handlers of hijacked connections, so the
	// test waits for the middleware itself to finish.
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		inner.ServeHTTP(w, r)
	}))
	defer srv.Close()
	req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
	require.NoError(t, err)
	req.AddCookie(cookie)
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	<-done // the middleware has returned

	log.requireOne(t, httpsession.ErrResponseWritten)
	s := sessionOf(t, mw, cookie)
	require.True(t, s.Has("before"))
	require.True(t, s.Has("after"))
}

// A change from a goroutine that outlives the handler is reported, not
// saved.
func TestChangeAfterHandlerReturned(t *testing.T) {
	mw, log := newMW(t, newCluster(t, "memory").node(t, testConfig()))
	var kept *http.Request
	h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { kept = r }))
	serve(h, get())
	mw.Set(kept, "k", 1)
	log.requireOne(t, httpsession.ErrResponseWritten)
}
