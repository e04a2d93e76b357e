package frameworktest

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"

	ginsessions "github.com/gin-contrib/sessions"
	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/gorillastore"
	"github.com/pgsession/pgsession/gorillastore/ginstore"
	"github.com/pgsession/pgsession/pgsessiontest"
	"github.com/pgsession/pgsession/token"
)

func TestMain(m *testing.M) { pgsessiontest.Main(m) }

// env is one framework on one backend: a shared store (a fresh schema, or a
// MemoryStore) and the nodes a test starts on it.
type env struct {
	t      *testing.T
	fw     framework
	kind   string // "memory" or "postgres"
	schema string
	mem    *pgsession.MemoryStore
	keys   *token.Ring
}

// forEach runs test for every framework on both backends.
func forEach(t *testing.T, test func(t *testing.T, e *env)) {
	t.Parallel()
	for _, fw := range frameworks {
		for _, kind := range []string{"memory", "postgres"} {
			t.Run(fw.name+"/"+kind, func(t *testing.T) {
				t.Parallel()
				key, err := token.GenerateKey("k1")
				require.NoError(t, err)
				keys, err := token.NewRing(key)
				require.NoError(t, err)
				e := &env{t: t, fw: fw, kind: kind, keys: keys}
				if kind == "memory" {
					e.mem = pgsession.NewMemoryStore()
				} else {
					e.schema = pgsessiontest.Schema(t)
				}
				test(t, e)
			})
		}
	}
}

// manager starts a node, closed when the test ends.
func (e *env) manager() *pgsession.Manager {
	t := e.t
	t.Helper()
	cfg := pgsession.Config{TouchInterval: -1, SweepInterval: -1}
	var m *pgsession.Manager
	var err error
	if e.kind == "memory" {
		m, err = pgsession.NewMemory(e.mem, cfg)
	} else {
		cfg.Schema = e.schema
		m, err = pgsession.New(context.Background(), pgsessiontest.Pool(t, nil), cfg)
	}
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, m.Close(context.Background())) })
	return m
}

// serve starts the framework's application on m over TLS (the cookie is
// Secure) and returns its URL.
func (e *env) serve(m *pgsession.Manager, opts ...gorillastore.Option) string {
	e.t.Helper()
	store, err := gorillastore.New(m, e.keys, opts...)
	require.NoError(e.t, err)
	srv := httptest.NewTLSServer(e.fw.app(store))
	e.t.Cleanup(srv.Close)
	return srv.URL
}

// browser keeps cookies; the servers of a test share them (cookies do not
// depend on the port), as one browser visiting several nodes.
type browser struct {
	t      *testing.T
	client *http.Client
}

func newBrowser(t *testing.T) *browser {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	srv := httptest.NewTLSServer(http.NotFoundHandler()) // a client that trusts httptest's certificate
	client := srv.Client()
	srv.Close()
	client.Jar = jar
	return &browser{t: t, client: client}
}

func (b *browser) get(u string) (int, string) {
	b.t.Helper()
	resp, err := b.client.Get(u)
	require.NoError(b.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(b.t, err)
	return resp.StatusCode, string(body)
}

// ok gets u and requires a 200.
func (b *browser) ok(u string) string {
	b.t.Helper()
	code, body := b.get(u)
	require.Equal(b.t, http.StatusOK, code, body)
	return body
}

func (b *browser) cookie(u string) *http.Cookie {
	parsed, err := url.Parse(u)
	require.NoError(b.t, err)
	for _, c := range b.client.Jar.Cookies(parsed) {
		if c.Name == sessionName {
			return c
		}
	}
	return nil
}

func (b *browser) setCookie(u, value string) {
	parsed, err := url.Parse(u)
	require.NoError(b.t, err)
	b.client.Jar.SetCookies(parsed, []*http.Cookie{{Name: sessionName, Value: value, Path: "/"}})
}

func TestCounter(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		u := e.serve(e.manager())
		b := newBrowser(t)
		for i := 1; i <= 3; i++ {
			require.Equal(t, strconv.Itoa(i), b.ok(u+"/count"))
		}
		// Another browser has a session of its own.
		require.Equal(t, "1", newBrowser(t).ok(u+"/count"))
	})
}

func TestValuesRoundTrip(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		u := e.serve(e.manager())
		b := newBrowser(t)
		b.ok(u + "/put")
		want := "flashes=[hello]\n" +
			"bool=bool:true\n" +
			"float=float64:2\n" +
			"int=int:7\n" +
			"list=[]interface {}:[a 1 1.5]\n" +
			"obj=map[string]interface {}:map[k:v]\n" +
			"str=string:tea"
		require.Equal(t, want, b.ok(u+"/show"))
		// The flash was consumed and the removal saved.
		require.Contains(t, b.ok(u+"/show"), "flashes=[]\n")
	})
}

// Two nodes (two Managers on one database), one browser: every request
// sees the save of the one before, on the other node.
func TestTwoNodes(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		nodes := []string{e.serve(e.manager()), e.serve(e.manager())}
		b := newBrowser(t)
		for i := 1; i <= 6; i++ {
			require.Equal(t, strconv.Itoa(i), b.ok(nodes[i%2]+"/count"), "request %d", i)
		}
		b.ok(nodes[0] + "/logout")
		require.Equal(t, "1", b.ok(nodes[1]+"/count"))
	})
}

// MaxAge -1 (echo: sess.Options.MaxAge; gin: session.Options) ends the
// session in the database and expires the cookie.
func TestLogoutDeletes(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		m := e.manager()
		u := e.serve(m)
		b := newBrowser(t)
		b.ok(u + "/count")
		b.ok(u + "/count")
		old := b.cookie(u)
		require.NotNil(t, old)
		require.Equal(t, 1, live(t, m))

		require.Equal(t, "bye", b.ok(u+"/logout"))
		require.Nil(t, b.cookie(u))
		require.Zero(t, live(t, m))

		// The old cookie, replayed, brings a new session.
		b.setCookie(u, old.Value)
		require.Equal(t, "1", b.ok(u+"/count"))
	})
}

// A value JSON cannot encode: Save's error reaches the handler, nothing is
// written, and the session carries on as it was.
func TestBadValueIsAnError(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		u := e.serve(e.manager())
		b := newBrowser(t)
		b.ok(u + "/count")
		code, body := b.get(u + "/bad")
		require.Equal(t, http.StatusInternalServerError, code)
		require.Contains(t, body, `value "ch" (chan int)`)
		require.Contains(t, body, pgsession.ErrInvalidValue.Error())
		require.Equal(t, "2", b.ok(u+"/count"))
	})
}

// A tampered cookie is no session: the application starts a new one,
// without an error.
func TestTamperedCookie(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		u := e.serve(e.manager())
		b := newBrowser(t)
		b.ok(u + "/count")
		b.ok(u + "/count")
		good := b.cookie(u).Value
		v := []byte(good)
		v[len(v)/2] ^= 1
		b.setCookie(u, string(v))
		require.Equal(t, "1", b.ok(u+"/count"))
		b.setCookie(u, "junk")
		require.Equal(t, "1", b.ok(u+"/count"))
		b.setCookie(u, good)
		require.Equal(t, "3", b.ok(u+"/count"))
	})
}

// With WithUserKey, a log in through the framework binds the session to
// the user under a new token: ListUser sees it, DeleteUser ends it.
func TestUserKey(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		m := e.manager()
		u := e.serve(m, gorillastore.WithUserKey("uid"))
		b := newBrowser(t)
		b.ok(u + "/count")
		before := b.cookie(u).Value
		b.ok(u + "/login?user=ada")
		require.NotEqual(t, before, b.cookie(u).Value, "a log in changes the token")
		require.Equal(t, "2", b.ok(u+"/count"))
		require.Contains(t, b.ok(u+"/show"), "uid=string:ada")

		list, err := m.ListUser(ctx, "ada")
		require.NoError(t, err)
		require.Len(t, list, 1)
		n, err := m.DeleteUser(ctx, "ada")
		require.NoError(t, err)
		require.Equal(t, 1, n)
		require.Equal(t, "1", b.ok(u+"/count"))
	})
}

// gin-contrib's Store.Options sets the cookie options of new sessions.
func TestGinStoreOptions(t *testing.T) {
	t.Parallel()
	m, err := pgsession.NewMemory(nil, pgsession.Config{})
	require.NoError(t, err)
	defer m.Close(context.Background())
	key, err := token.GenerateKey("k1")
	require.NoError(t, err)
	keys, err := token.NewRing(key)
	require.NoError(t, err)
	gs, err := gorillastore.New(m, keys)
	require.NoError(t, err)
	store := ginstore.New(gs)
	store.Options(ginsessions.Options{Path: "/app", MaxAge: 60, Secure: true, SameSite: http.SameSiteStrictMode})

	h := ginApp(gs)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "https://example.com/count", nil))
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	cookies := w.Result().Cookies()
	require.Len(t, cookies, 1)
	c := cookies[0]
	require.Equal(t, "/app", c.Path)
	require.Equal(t, 60, c.MaxAge)
	require.True(t, c.Secure)
	require.False(t, c.HttpOnly)
	require.Equal(t, http.SameSiteStrictMode, c.SameSite)
}

// live counts the sessions m can see.
func live(t *testing.T, m *pgsession.Manager) int {
	t.Helper()
	n := 0
	for _, err := range m.All(context.Background(), 0) {
		require.NoError(t, err)
		n++
	}
	return n
}
