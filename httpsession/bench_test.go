package httpsession_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/httpsession"
	"github.com/pgsession/pgsession/token"
)

// discardWriter is the cheapest ResponseWriter, so the benchmarks measure
// the handler and the middleware, not the recorder.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}

var hello = []byte("hello")

// bareHandler is what an application handler might do without sessions.
func bareHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write(hello)
	})
}

// sessionHandler is the same handler reading the session.
func sessionHandler(mw *httpsession.Middleware) http.Handler {
	return mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := mw.Session(r)
		if s == nil {
			panic("no session")
		}
		w.Header().Set("Content-Type", "text/plain")
		w.Write(hello)
	}))
}

// benchSetup returns a Middleware on a node of the given kind and a request
// whose cookie names a session already in the node's cache.
func benchSetup(tb testing.TB, kind string) (*httpsession.Middleware, *http.Request) {
	c := newCluster(tb, kind)
	m := c.node(tb, pgsession.Config{}) // defaults: touches and sweeps on, as in production
	mw, _ := newMW(tb, m)
	h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mw.Set(r, "user", "ada")
	}))
	rec := &discardWriter{h: http.Header{}}
	h.ServeHTTP(rec, get())
	resp := http.Response{Header: rec.h}
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		cookie = c
	}
	require.NotNil(tb, cookie)
	r := get(cookie)
	sessionHandler(mw).ServeHTTP(&discardWriter{h: http.Header{}}, r) // warm the cache
	return mw, r
}

func serveLoop(b *testing.B, h http.Handler, r *http.Request) {
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, r)
	}
}

// BenchmarkMiddleware: a handler behind the middleware on a cache hit,
// beside the bare handler. The hit sub-benchmarks also report what the
// middleware adds per request (added-ns/op against the bare handler timed
// right after, added-allocs/op).
func BenchmarkMiddleware(b *testing.B) {
	bare := bareHandler()
	r0 := get()
	b.Run("bare", func(b *testing.B) { serveLoop(b, bare, r0) })
	for _, kind := range []string{"memory", "postgres"} {
		b.Run(kind+"/hit", func(b *testing.B) {
			mw, r := benchSetup(b, kind)
			h := sessionHandler(mw)
			serveLoop(b, h, r)
			with := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			// The bare handler, as many times, outside the benchmark's timer
			// (testing.Benchmark cannot run inside a benchmark).
			w := &discardWriter{h: http.Header{}}
			t0 := time.Now()
			for range b.N {
				clear(w.h)
				bare.ServeHTTP(w, r0)
			}
			without := float64(time.Since(t0).Nanoseconds()) / float64(b.N)
			b.ReportMetric(with-without, "added-ns/op")
			b.ReportMetric(addedAllocs(h, r, bare, r0), "added-allocs/op")
		})
	}
	b.Run("memory/write", func(b *testing.B) {
		mw, r := benchSetup(b, "memory")
		n := 0
		h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n++
			mw.Set(r, "n", n)
			w.Write(hello)
		}))
		serveLoop(b, h, r)
	})
	b.Run("memory/no-session", func(b *testing.B) {
		mw, _ := benchSetup(b, "memory")
		h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(hello) }))
		serveLoop(b, h, r0)
	})
}

// addedAllocs is how many more allocations h makes serving r than bare
// makes serving r0.
func addedAllocs(h http.Handler, r *http.Request, bare http.Handler, r0 *http.Request) float64 {
	w := &discardWriter{h: http.Header{}}
	with := testing.AllocsPerRun(1000, func() { clear(w.h); h.ServeHTTP(w, r) })
	without := testing.AllocsPerRun(1000, func() { clear(w.h); bare.ServeHTTP(w, r0) })
	return with - without
}

// The middleware adds one allocation to a request on a cache hit: its
// state, which holds the request copy the handler sees, that copy's
// context, the response writer and the Vary header's slice (the token is
// verified and the session found without allocating). The budget is two,
// so that a Go release that stops inlining http.Request.WithContext (whose
// copy then moves to the heap) does not fail the test.
func TestAllocationsOnCacheHit(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	mw, r := benchSetup(t, "memory")
	added := addedAllocs(sessionHandler(mw), r, bareHandler(), get())
	t.Logf("the middleware adds %.0f allocations per request", added)
	require.LessOrEqual(t, added, 2.0)
}

// BenchmarkSignedTokenGet times what the middleware does per request to
// find a cached session from a signed token (verify it, then get the
// session at least as new as the version it carries) beside Manager.Get
// with the raw secret, on the same cached session, in alternating slices
// so that a noisy machine slows both sides alike. It reports each side's
// time and allocations per call and their ratio; the built-in ns/op is the
// signed side's. The target is a ratio of at most 2 and no allocation.
func BenchmarkSignedTokenGet(b *testing.B) {
	ctx := context.Background()
	m := newCluster(b, "memory").node(b, pgsession.Config{}) // production defaults
	keys := ring(b, "k1")
	mw, err := httpsession.New(httpsession.Config{Manager: m, Keys: keys})
	require.NoError(b, err)
	s, err := m.Create(ctx, "", nil)
	require.NoError(b, err)
	secret, version := s.Token(), s.Version()
	tok, err := keys.Encode(token.Claims{Secret: secret, Version: version})
	require.NoError(b, err)

	raw := func() (*pgsession.Session, error) { return m.Get(ctx, secret, pgsession.MinVersion(version)) }
	signed := func() (*pgsession.Session, error) { return httpsession.LoadToken(ctx, mw, tok) }
	const batch = 256
	slice := func(f func() (*pgsession.Session, error)) time.Duration {
		t0 := time.Now()
		for range batch {
			if got, err := f(); err != nil || got.ID() != s.ID() {
				b.Fatalf("got %p, %v; want the cached session", got, err)
			}
		}
		return time.Since(t0)
	}
	slice(raw) // warm up
	slice(signed)
	before := m.Stats()
	var rawSum, signedSum time.Duration
	i := 0
	for b.Loop() {
		if i%2 == 0 {
			rawSum += slice(raw)
			signedSum += slice(signed)
		} else {
			signedSum += slice(signed)
			rawSum += slice(raw)
		}
		i++
	}
	calls := float64(i * batch)
	rawNs := float64(rawSum.Nanoseconds()) / calls
	signedNs := float64(signedSum.Nanoseconds()) / calls
	b.ReportMetric(signedNs, "ns/op")
	b.ReportMetric(rawNs, "raw-ns/op")
	b.ReportMetric(signedNs/rawNs, "ratio")
	after := m.Stats()
	if after.CacheMisses != before.CacheMisses {
		b.Fatalf("%d cache misses: the benchmark timed database reads", after.CacheMisses-before.CacheMisses)
	}
	b.ReportMetric(testing.AllocsPerRun(1000, func() { raw() }), "raw-allocs/op")
	b.ReportMetric(testing.AllocsPerRun(1000, func() { signed() }), "signed-allocs/op")
}

// BenchmarkServer serves the bare handler and the session handler (on a
// cached session, memory backend) from loopback HTTP/1.1 servers to
// keep-alive clients, several requests in flight, timed in alternating
// slices. It reports the session side's throughput as a fraction of the
// bare side's ("of-bare", the end goal being 0.90 or more) and its time per
// request as ns/op. Clients and servers share the machine, so the fraction
// flatters neither side but is only an indication of the load test's.
func BenchmarkServer(b *testing.B) {
	const clients, perClient = 4, 100
	mw, r := benchSetup(b, "memory")
	cookie := r.Header.Get("Cookie")
	servers := map[string]*httptest.Server{
		"bare":    httptest.NewServer(bareHandler()),
		"session": httptest.NewServer(sessionHandler(mw)),
	}
	for _, srv := range servers {
		b.Cleanup(srv.Close)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	b.Cleanup(client.CloseIdleConnections)
	slice := func(name string) time.Duration {
		url := servers[name].URL
		var wg sync.WaitGroup
		errs := make(chan error, clients)
		t0 := time.Now()
		for range clients {
			wg.Go(func() {
				for range perClient {
					req, _ := http.NewRequest(http.MethodGet, url, nil)
					req.Header.Set("Cookie", cookie)
					resp, err := client.Do(req)
					if err != nil {
						errs <- err
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						errs <- fmt.Errorf("%s: status %d", name, resp.StatusCode)
						return
					}
				}
			})
		}
		wg.Wait()
		d := time.Since(t0)
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
		return d
	}
	slice("bare") // warm up: connections open, caches filled
	slice("session")
	var bare, session time.Duration
	i := 0
	for b.Loop() {
		if i%2 == 0 {
			bare += slice("bare")
			session += slice("session")
		} else {
			session += slice("session")
			bare += slice("bare")
		}
		i++
	}
	requests := float64(i * clients * perClient)
	b.ReportMetric(float64(session.Nanoseconds())/requests, "ns/op")
	b.ReportMetric(float64(bare.Nanoseconds())/requests, "bare-ns/op")
	b.ReportMetric(float64(bare)/float64(session), "of-bare")
}
