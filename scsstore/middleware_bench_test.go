package scsstore_test

import (
	"context"
	"crypto/sha256"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/alexedwards/scs/pgxstore"
	"github.com/alexedwards/scs/v2"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/httpsession"
	"github.com/pgsession/pgsession/pgsessiontest"
	"github.com/pgsession/pgsession/scsstore"
	"github.com/pgsession/pgsession/token"
)

const (
	readPathRounds = 2000 // minimum timed requests per variant, whatever b.N
	readPathWarmup = 200  // untimed requests per variant first
	readPathAllocs = 500  // requests per variant in the allocation pass
)

// readPathValue is the session value every handler writes back as its body.
const readPathValue = "ada"

// readPathVariant serves one GET with a session cookie through one stack.
type readPathVariant struct {
	name  string
	h     http.Handler
	req   *http.Request
	stmts *pgsessiontest.RoundTrips // nil for the bare handler
	m     *pgsession.Manager        // for checking the read was a cache hit; nil if none
}

// serve runs one request on a fresh recorder and returns it.
func (v *readPathVariant) serve() *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	v.h.ServeHTTP(rec, v.req)
	return rec
}

// writeName is the body every variant's handler writes.
func writeName(w http.ResponseWriter, name string) {
	w.Header().Set("Content-Type", "text/plain")
	io.WriteString(w, name)
}

// readPathCookie serves a GET through h (a handler that starts a session)
// and returns a GET carrying the session cookie it set.
func readPathCookie(tb testing.TB, h http.Handler, name string) *http.Request {
	tb.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/login", nil))
	if rec.Code != http.StatusOK {
		tb.Fatalf("%s: log in: status %d: %s", name, rec.Code, rec.Body)
	}
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	for _, c := range rec.Result().Cookies() {
		req.AddCookie(c)
	}
	if len(req.Cookies()) == 0 {
		tb.Fatalf("%s: log in set no cookie", name)
	}
	return req
}

// readPathManager starts a pgsession Manager on PostgreSQL (a fresh schema,
// a pool of its own whose statements rt counts), with the default
// background work (touches, sweeps) as in production.
func readPathManager(tb testing.TB, rt *pgsessiontest.RoundTrips) *pgsession.Manager {
	tb.Helper()
	m, err := pgsession.New(context.Background(), pgsessiontest.Pool(tb, rt),
		pgsession.Config{Schema: pgsessiontest.Schema(tb)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := m.Close(context.Background()); err != nil {
			tb.Error(err)
		}
	})
	return m
}

// readPathPgsession is the handler behind httpsession's middleware.
func readPathPgsession(tb testing.TB) *readPathVariant {
	rt := &pgsessiontest.RoundTrips{}
	m := readPathManager(tb, rt)
	secret := sha256.Sum256([]byte("scsstore read path benchmark key"))
	keys, err := token.NewRing(token.Key{ID: "bench", Secret: secret[:]})
	if err != nil {
		tb.Fatal(err)
	}
	mw, err := httpsession.New(httpsession.Config{
		Manager: m,
		Keys:    keys,
		OnError: func(r *http.Request, err error) { tb.Errorf("pgsession: %s: %v", r.URL.Path, err) },
	})
	if err != nil {
		tb.Fatal(err)
	}
	login := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := mw.LogIn(r, "user-1"); err != nil {
			tb.Errorf("pgsession: log in: %v", err)
		}
		mw.Set(r, "name", readPathValue)
	}))
	read := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var name string
		if s := mw.Session(r); s != nil {
			s.Decode("name", &name)
		}
		writeName(w, name)
	}))
	return &readPathVariant{name: "pgsession", h: read, req: readPathCookie(tb, login, "pgsession"), stmts: rt, m: m}
}

// readPathSCS is the handler behind scs's LoadAndSave on store.
func readPathSCS(tb testing.TB, name string, store scs.Store, rt *pgsessiontest.RoundTrips, m *pgsession.Manager) *readPathVariant {
	sm := scs.New()
	sm.Store = store
	sm.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
		tb.Errorf("%s: %s: %v", name, r.URL.Path, err)
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
	login := sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := sm.RenewToken(r.Context()); err != nil {
			tb.Errorf("%s: renew token: %v", name, err)
		}
		sm.Put(r.Context(), "name", readPathValue)
	}))
	read := sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeName(w, sm.GetString(r.Context(), "name"))
	}))
	return &readPathVariant{name: name, h: read, req: readPathCookie(tb, login, name), stmts: rt, m: m}
}

// readPathPgxstore is scs on its own PostgreSQL store, pgxstore, in a fresh
// schema of its own (pgxstore names its table "sessions", unqualified, so
// the pool's search_path points at the schema).
func readPathPgxstore(tb testing.TB) *readPathVariant {
	tb.Helper()
	schema := pgsessiontest.Schema(tb)
	rt := &pgsessiontest.RoundTrips{}
	pool := pgsessiontest.PoolWith(tb, func(cfg *pgxpool.Config) {
		cfg.ConnConfig.RuntimeParams["search_path"] = schema
		cfg.ConnConfig.Tracer = rt
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The table pgxstore's documentation asks for.
	if _, err := pool.Exec(ctx, `CREATE TABLE sessions (
		token TEXT PRIMARY KEY,
		data BYTEA NOT NULL,
		expiry TIMESTAMPTZ NOT NULL)`); err != nil {
		tb.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `CREATE INDEX sessions_expiry_idx ON sessions (expiry)`); err != nil {
		tb.Fatal(err)
	}
	// No cleanup goroutine (it would run every 5 minutes, never during the
	// benchmark): pgxstore's StopCleanup reads a channel its goroutine
	// assigns without synchronization, so stopping it is racy.
	store := pgxstore.NewWithCleanupInterval(pool, 0)
	return readPathSCS(tb, "scs-pgxstore", store, rt, nil)
}

// readPathScsstore is scs on this package's Store over a pgsession Manager.
func readPathScsstore(tb testing.TB) *readPathVariant {
	rt := &pgsessiontest.RoundTrips{}
	m := readPathManager(tb, rt)
	return readPathSCS(tb, "scs-scsstore", scsstore.New(m), rt, m)
}

// waitCacheHit serves v's request until its Manager answers it from the
// cache (a PostgreSQL node caches once its listener is up).
func waitCacheHit(tb testing.TB, v *readPathVariant) {
	tb.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; {
		before := v.m.Stats().CacheHits
		v.serve()
		if v.m.Stats().CacheHits > before {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s: no cache hit within 10s", v.name)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// BenchmarkHTTPReadPath serves a GET with a session cookie that reads one
// session value, through httptest with no sockets, on four stacks: the bare
// handler (which writes the value as a constant), httpsession's middleware
// on a cache hit, scs with pgxstore, and scs with this package's Store on a
// cache hit. Every stack with a database has a PostgreSQL schema and pool
// of its own.
//
// Each round serves one request on each stack, in alternating order, each
// timed on its own; a run does at least readPathRounds rounds (so
// -benchtime 1x is meaningful). It reports each stack's time per request
// (<name>-ns/req; ns/op is pgsession's), what each adds to the bare handler
// (<name>-added-ns/req), the ratios of scs-pgxstore to the pgsession stacks,
// allocations per request from an untimed pass (<name>-allocs/req,
// <name>-added-allocs/req), and the statements each stack's pool sent per
// 1000 timed requests (<name>-stmts-per-1000; background work included).
//
//	go test -run '^$' -bench HTTPReadPath -benchtime 1x .
func BenchmarkHTTPReadPath(b *testing.B) {
	bare := &readPathVariant{
		name: "bare",
		h:    http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { writeName(w, readPathValue) }),
		req:  httptest.NewRequest(http.MethodGet, "/", nil),
	}
	vs := []*readPathVariant{bare, readPathPgsession(b), readPathPgxstore(b), readPathScsstore(b)}
	for _, v := range vs {
		if v.m != nil {
			waitCacheHit(b, v)
		}
		for range readPathWarmup {
			v.serve()
		}
		rec := v.serve()
		if rec.Code != http.StatusOK || rec.Body.String() != readPathValue {
			b.Fatalf("%s: status %d, body %q; want 200, %q", v.name, rec.Code, rec.Body, readPathValue)
		}
		if v.stmts != nil {
			v.stmts.Reset()
		}
	}
	before := make([]pgsession.Stats, len(vs))
	for i, v := range vs {
		if v.m != nil {
			before[i] = v.m.Stats()
		}
	}

	n := max(b.N, readPathRounds)
	elapsed := make([]time.Duration, len(vs))
	b.ResetTimer()
	for r := range n {
		for j := range vs {
			i := j
			if r%2 == 1 {
				i = len(vs) - 1 - j
			}
			v := vs[i]
			t0 := time.Now()
			v.h.ServeHTTP(httptest.NewRecorder(), v.req)
			elapsed[i] += time.Since(t0)
		}
	}
	b.StopTimer()
	if b.Failed() {
		return
	}

	stmts := make([]int, len(vs))
	for i, v := range vs {
		if v.stmts != nil {
			stmts[i] = v.stmts.Count()
		}
		if v.m != nil {
			after := v.m.Stats()
			if misses := after.CacheMisses - before[i].CacheMisses; misses > 0 {
				b.Logf("%s: %d cache misses in the timed pass", v.name, misses)
			}
		}
	}
	ns := make([]float64, len(vs))
	allocs := make([]float64, len(vs))
	for i, v := range vs {
		ns[i] = float64(elapsed[i].Nanoseconds()) / float64(n)
		allocs[i] = testing.AllocsPerRun(readPathAllocs, func() { v.serve() })
	}

	const pgs, pgx, scsst = 1, 2, 3 // indexes in vs
	b.ReportMetric(ns[pgs], "ns/op")
	for i, v := range vs {
		b.ReportMetric(ns[i], v.name+"-ns/req")
		b.ReportMetric(allocs[i], v.name+"-allocs/req")
		if i == 0 {
			continue
		}
		b.ReportMetric(ns[i]-ns[0], v.name+"-added-ns/req")
		b.ReportMetric(allocs[i]-allocs[0], v.name+"-added-allocs/req")
		b.ReportMetric(float64(stmts[i])*1000/float64(n), v.name+"-stmts-per-1000")
	}
	b.ReportMetric(ns[pgx]/ns[pgs], "scs-pgxstore/pgsession")
	b.ReportMetric((ns[pgx]-ns[0])/(ns[pgs]-ns[0]), "scs-pgxstore/pgsession-added")
	b.ReportMetric(ns[pgx]/ns[scsst], "scs-pgxstore/scs-scsstore")
}
