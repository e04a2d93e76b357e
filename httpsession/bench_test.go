package httpsession_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/httpsession"
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

// The middleware adds a handful of allocations to a request on a cache hit:
// its state (with the response writer), the context value, the request
// copy, the decoded secret and the Vary header.
func TestAllocationsOnCacheHit(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	mw, r := benchSetup(t, "memory")
	added := addedAllocs(sessionHandler(mw), r, bareHandler(), get())
	t.Logf("the middleware adds %.0f allocations per request", added)
	require.LessOrEqual(t, added, 6.0)
}
