package scsstore_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/pgsessiontest"
	"github.com/pgsession/pgsession/scsstore"
)

// benchStores are the stores compared: scs's own memstore, this Store on
// each pgsession backend, and on PostgreSQL with WithFreshReads. Each makes
// its store once per benchmark.
var benchStores = []struct {
	name string
	new  func(tb testing.TB) (scs.Store, *pgsession.Manager)
}{
	{"memstore", func(tb testing.TB) (scs.Store, *pgsession.Manager) {
		return memstore.NewWithCleanupInterval(0), nil
	}},
	{"pgsession-memory", func(tb testing.TB) (scs.Store, *pgsession.Manager) {
		m, err := pgsession.NewMemory(nil, pgsession.Config{TouchInterval: -1, SweepInterval: -1})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { m.Close(context.Background()) })
		return scsstore.New(m), m
	}},
	{"pgsession-postgres", func(tb testing.TB) (scs.Store, *pgsession.Manager) {
		m, err := pgsession.New(context.Background(), pgsessiontest.Pool(tb, nil),
			pgsession.Config{Schema: pgsessiontest.Schema(tb), TouchInterval: -1, SweepInterval: -1})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { m.Close(context.Background()) })
		return scsstore.New(m), m
	}},
	{"pgsession-postgres-fresh", func(tb testing.TB) (scs.Store, *pgsession.Manager) {
		m, err := pgsession.New(context.Background(), pgsessiontest.Pool(tb, nil),
			pgsession.Config{Schema: pgsessiontest.Schema(tb), TouchInterval: -1, SweepInterval: -1})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { m.Close(context.Background()) })
		return scsstore.New(m, scsstore.WithFreshReads()), nil // every read is a round trip
	}},
}

// nopWriter is a ResponseWriter that keeps nothing, so the benchmark
// measures the session round trip rather than a recorder.
type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *nopWriter) WriteHeader(int)             {}

// roundTrip returns a function serving one request with a session cookie
// through LoadAndSave: a read (the session found, nothing committed), or a
// write (found, changed, committed) when write is set. The session is read
// once first so the read is a cache hit.
func roundTrip(tb testing.TB, store scs.Store, m *pgsession.Manager, write bool) func() {
	sm := scs.New()
	sm.Store = store
	sm.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) { tb.Fatal(err) }
	n := 0
	h := sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if write || r.URL.Path == "/put" {
			n++
			sm.Put(r.Context(), "n", n)
		}
		io.WriteString(w, sm.GetString(r.Context(), "message"))
	}))
	put := httptest.NewRecorder()
	h.ServeHTTP(put, httptest.NewRequest(http.MethodGet, "/put", nil))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.AddCookie(put.Result().Cookies()[0])
	w := &nopWriter{h: http.Header{}}
	serve := func() {
		clear(w.h)
		h.ServeHTTP(w, req)
	}
	if m != nil && !write {
		// A PostgreSQL node caches once its listener is up.
		for deadline := time.Now().Add(10 * time.Second); ; {
			before := m.Stats().CacheHits
			serve()
			if m.Stats().CacheHits > before {
				break
			}
			if time.Now().After(deadline) {
				tb.Fatal("no cache hit")
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return serve
}

// BenchmarkLoadAndSave is scs's middleware round trip for a request with a
// session cookie: read (a cache hit on pgsession) and write (one Update).
func BenchmarkLoadAndSave(b *testing.B) {
	for _, mode := range []string{"read", "write"} {
		for _, st := range benchStores {
			b.Run(mode+"/"+st.name, func(b *testing.B) {
				store, m := st.new(b)
				serve := roundTrip(b, store, m, mode == "write")
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					serve()
				}
			})
		}
	}
}

// BenchmarkLoadAndSaveRatio serves the read round trip (a cache hit) on
// every store in turn, in the same loop, and reports each one's time per
// request and pgsession's as a multiple of scs's memstore's. (Interleaving
// keeps the comparison fair; testing.Benchmark cannot be nested.)
func BenchmarkLoadAndSaveRatio(b *testing.B) {
	serves := make([]func(), len(benchStores))
	for i, st := range benchStores {
		store, m := st.new(b)
		serves[i] = roundTrip(b, store, m, false)
	}
	elapsed := make([]time.Duration, len(serves))
	n := 0
	for b.Loop() {
		for i, serve := range serves {
			start := time.Now()
			serve()
			elapsed[i] += time.Since(start)
		}
		n++
	}
	perReq := func(i int) float64 { return float64(elapsed[i].Nanoseconds()) / float64(n) }
	for i, st := range benchStores {
		b.ReportMetric(perReq(i), st.name+"-ns/req")
	}
	b.ReportMetric(perReq(1)/perReq(0), "memory/memstore")
	b.ReportMetric(perReq(2)/perReq(0), "postgres/memstore")
	b.ReportMetric(perReq(3)/perReq(0), "postgres-fresh/memstore")
}
