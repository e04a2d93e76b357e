package gorillastore_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/sessions"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/gorillastore"
	"github.com/pgsession/pgsession/pgsessiontest"
	"github.com/pgsession/pgsession/pgsessiontest/backends"
	"github.com/pgsession/pgsession/token"
)

// cluster is one shared store (pgsessiontest's Backend) and the pgsession
// nodes a test starts on it.
type cluster struct {
	t    *testing.T
	b    *backends.Backend
	kind string      // "memory" or "postgres"
	keys *token.Ring // every node signs with the same ring
}

// forEachBackend runs the same test on the memory backend and on PostgreSQL.
func forEachBackend(t *testing.T, test func(t *testing.T, c *cluster)) {
	backends.ForEach(t, func(t *testing.T, b *backends.Backend) {
		test(t, &cluster{t: t, b: b, kind: b.Kind, keys: newRing(t, "k1")})
	})
}

func newRing(t testing.TB, id string) *token.Ring {
	key, err := token.GenerateKey(id)
	require.NoError(t, err)
	ring, err := token.NewRing(key)
	require.NoError(t, err)
	return ring
}

// node starts a pgsession Manager on the cluster's store, closed when the
// test ends. Background touches and sweeps are off; a non-nil rt counts the
// round trips of a PostgreSQL node's pool (background work left out).
func (c *cluster) node(rt *pgsessiontest.RoundTrips) *pgsession.Manager {
	c.t.Helper()
	cfg := pgsession.Config{TouchInterval: -1, SweepInterval: -1}
	var tracer pgx.QueryTracer // a nil *RoundTrips would not be a nil tracer
	if rt != nil && c.kind == "postgres" {
		cfg.ChangePollInterval = -1 // no background reads to count
		rt.Skip = func(sql string) bool { return strings.HasPrefix(sql, "SELECT pg_notify(") }
		tracer = rt
	}
	return c.b.Node(c.t, cfg, tracer)
}

// store returns a Store on m with the cluster's keys.
func (c *cluster) store(m *pgsession.Manager, opts ...gorillastore.Option) *gorillastore.Store {
	c.t.Helper()
	s, err := gorillastore.New(m, c.keys, opts...)
	require.NoError(c.t, err)
	return s
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// counterApp is a gorilla/sessions application: /count adds one to "n" and
// prints it; /get prints a value; /logout deletes the session.
func counterApp(t testing.TB, store sessions.Store) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/count", func(w http.ResponseWriter, r *http.Request) {
		sess, err := store.Get(r, "app")
		if err != nil {
			t.Errorf("get: %v", err)
		}
		n, _ := sess.Values["n"].(int)
		sess.Values["n"] = n + 1
		if err := sess.Save(r, w); err != nil {
			t.Errorf("save: %v", err)
		}
		fmt.Fprint(w, n+1)
	})
	mux.HandleFunc("/logout", func(w http.ResponseWriter, r *http.Request) {
		sess, _ := store.Get(r, "app")
		sess.Options.MaxAge = -1
		if err := sess.Save(r, w); err != nil {
			t.Errorf("save: %v", err)
		}
	})
	return mux
}

// browser is an HTTP client that keeps cookies, over TLS since the Store's
// cookies are Secure. The servers of one test share its jar (cookies do not
// depend on the port), as one browser visiting several nodes.
type browser struct {
	t      testing.TB
	client *http.Client
}

func newBrowser(t testing.TB) *browser {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	srv := httptest.NewTLSServer(http.NotFoundHandler()) // for a client that trusts httptest's certificate
	client := srv.Client()
	srv.Close()
	client.Jar = jar
	return &browser{t: t, client: client}
}

func (b *browser) get(u string) string {
	b.t.Helper()
	resp, err := b.client.Get(u)
	require.NoError(b.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(b.t, err)
	require.Equal(b.t, http.StatusOK, resp.StatusCode, string(body))
	return string(body)
}

// cookie returns the browser's cookie of that name for u, or nil.
func (b *browser) cookie(u, name string) *http.Cookie {
	parsed, err := url.Parse(u)
	require.NoError(b.t, err)
	for _, c := range b.client.Jar.Cookies(parsed) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func serve(t testing.TB, h http.Handler) string {
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// request is a request that carries cookie (if not nil), for driving a
// Store directly.
func request(cookie *http.Cookie) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "https://example.com/", nil)
	if cookie != nil {
		r.AddCookie(cookie)
	}
	return r
}

// saved saves sess and returns the cookie Save set.
func saved(t testing.TB, r *http.Request, sess *sessions.Session) (*http.Cookie, error) {
	t.Helper()
	w := httptest.NewRecorder()
	err := sess.Save(r, w)
	cookies := w.Result().Cookies()
	if len(cookies) == 0 {
		return nil, err
	}
	require.Len(t, cookies, 1)
	return cookies[0], err
}
