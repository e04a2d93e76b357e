package httpsession_test

import (
	"context"
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/httpsession"
	"github.com/pgsession/pgsession/pgsessiontest"
	"github.com/pgsession/pgsession/pgsessiontest/backends"
	"github.com/pgsession/pgsession/token"
)

// cluster is one shared store (a MemoryStore, or a fresh schema) and the
// nodes a test starts on it: pgsessiontest's Backend, with the names these
// tests use.
type cluster struct {
	b      *backends.Backend
	kind   string // "memory" or "postgres"
	mem    *pgsession.MemoryStore
	schema string
}

// forEachBackend runs test on the memory backend and on PostgreSQL.
func forEachBackend(t *testing.T, test func(t *testing.T, c *cluster)) {
	backends.ForEach(t, func(t *testing.T, b *backends.Backend) { test(t, clusterOn(b)) })
}

func newCluster(tb testing.TB, kind string) *cluster {
	return clusterOn(backends.New(tb, kind))
}

func clusterOn(b *backends.Backend) *cluster {
	return &cluster{b: b, kind: b.Kind, mem: b.Memory, schema: b.Schema}
}

// testConfig turns background work off, so tests decide what happens when.
func testConfig() pgsession.Config {
	return pgsession.Config{TouchInterval: -1, SweepInterval: -1}
}

// node starts a Manager on the cluster's store, closed when the test ends.
func (c *cluster) node(tb testing.TB, cfg pgsession.Config) *pgsession.Manager {
	tb.Helper()
	return c.b.Node(tb, cfg, nil)
}

// rowCount counts stored sessions, live or not.
func (c *cluster) rowCount(t *testing.T) int {
	if c.kind == "memory" {
		return c.mem.Len()
	}
	var n int
	table := pgx.Identifier{c.schema, "pgsession_sessions"}.Sanitize()
	require.NoError(t, pgsessiontest.AdminPool(t).QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n))
	return n
}

// testKey derives a key from its ID, so tests are reproducible.
func testKey(id string) token.Key {
	s := sha256.Sum256([]byte("httpsession test key " + id))
	return token.Key{ID: id, Secret: s[:]}
}

func ring(tb testing.TB, ids ...string) *token.Ring {
	tb.Helper()
	keys := make([]token.Key, len(ids))
	for i, id := range ids {
		keys[i] = testKey(id)
	}
	r, err := token.NewRing(keys...)
	require.NoError(tb, err)
	return r
}

// errLog collects what a Middleware reports to OnError.
type errLog struct {
	mu   sync.Mutex
	errs []error
}

func (l *errLog) hook(r *http.Request, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errs = append(l.errs, err)
}

func (l *errLog) all() []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]error(nil), l.errs...)
}

// requireOne checks that exactly one error was reported, matching target,
// and clears the log.
func (l *errLog) requireOne(t *testing.T, target error) error {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	require.Len(t, l.errs, 1, "reported: %v", l.errs)
	err := l.errs[0]
	require.ErrorIs(t, err, target)
	l.errs = nil
	return err
}

func (l *errLog) requireNone(t *testing.T) {
	t.Helper()
	require.Empty(t, l.all())
}

// newMW builds a Middleware on m with the test ring (key "k1") and an error
// log; edit adjusts the Config first.
func newMW(t testing.TB, m *pgsession.Manager, edit ...func(*httpsession.Config)) (*httpsession.Middleware, *errLog) {
	t.Helper()
	log := &errLog{}
	cfg := httpsession.Config{Manager: m, Keys: ring(t, "k1"), OnError: log.hook}
	for _, f := range edit {
		f(&cfg)
	}
	mw, err := httpsession.New(cfg)
	require.NoError(t, err)
	return mw, log
}

// serve runs one request through h and returns the response as a client
// would see it (headers as they were when the response was first written).
func serve(h http.Handler, r *http.Request) *http.Response {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	resp := rec.Result()
	resp.Request = r
	return resp
}

// get builds a request carrying the given cookies.
func get(cookies ...*http.Cookie) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "https://example.test/", nil)
	for _, c := range cookies {
		if c != nil {
			r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
		}
	}
	return r
}

// sessionCookie is the session cookie's name under the default config.
const sessionCookie = "__Host-session"

// cookieName is the name mw's cookie is sent under, prefix included.
func cookieName(mw *httpsession.Middleware) string {
	c := mw.Config().Cookie
	if c.HostPrefix {
		return "__Host-" + c.Name
	}
	return c.Name
}

// setCookie returns the response's Set-Cookie for name, or nil.
func setCookie(resp *http.Response, name string) *http.Cookie {
	var found *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == name {
			if found != nil {
				panic("two Set-Cookie headers for " + name)
			}
			found = c
		}
	}
	return found
}

// seen records what a handler saw, for the test to check after the fact.
type seen struct {
	mu   sync.Mutex
	sess *pgsession.Session
}

func (s *seen) set(v *pgsession.Session) { s.mu.Lock(); s.sess = v; s.mu.Unlock() }
func (s *seen) get() *pgsession.Session  { s.mu.Lock(); defer s.mu.Unlock(); return s.sess }

// reader is a handler that records the session it sees.
func reader(mw *httpsession.Middleware, out *seen) http.Handler {
	return mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out.set(mw.Session(r))
		w.Write([]byte("ok"))
	}))
}

// sessionOf returns the session a cookie gives a fresh request, or nil.
func sessionOf(t *testing.T, mw *httpsession.Middleware, c *http.Cookie) *pgsession.Session {
	t.Helper()
	var out seen
	resp := serve(reader(mw, &out), get(c))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	return out.get()
}

// start runs a request that starts an anonymous session (with attrs) and
// returns its cookie.
func start(t *testing.T, mw *httpsession.Middleware, attrs map[string]any) *http.Cookie {
	t.Helper()
	h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := mw.Ensure(r)
		require.NoError(t, err)
		for k, v := range attrs {
			mw.Set(r, k, v)
		}
	}))
	c := setCookie(serve(h, get()), cookieName(mw))
	require.NotNil(t, c)
	return c
}

// login runs a request that logs userID in and returns its cookie.
func login(t *testing.T, mw *httpsession.Middleware, userID string, from *http.Cookie, opts ...httpsession.LoginOption) *http.Cookie {
	t.Helper()
	h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := mw.LogIn(r, userID, opts...)
		require.NoError(t, err)
	}))
	c := setCookie(serve(h, get(from)), cookieName(mw))
	require.NotNil(t, c)
	return c
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// headerValues returns every value of a response header, split on commas.
func headerValues(h http.Header, name string) []string {
	var out []string
	for _, line := range h.Values(name) {
		for v := range strings.SplitSeq(line, ",") {
			out = append(out, strings.TrimSpace(v))
		}
	}
	return out
}
