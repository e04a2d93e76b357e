package pgsessionprom_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/pgsession/pgsession"
	pgsessionprom "github.com/pgsession/pgsession/metrics/prometheus"
)

// Register a Collector for the process's Manager and serve /metrics. Here on
// the in-memory backend and a registry of its own; an application usually
// registers with prometheus.MustRegister and serves promhttp.Handler().
func Example() {
	ctx := context.Background()
	m, err := pgsession.NewMemory(nil, pgsession.Config{NodeID: "web-1"}) // a stable NodeID labels the series
	if err != nil {
		panic(err)
	}
	defer m.Close(ctx)

	reg := prometheus.NewRegistry()
	reg.MustRegister(pgsessionprom.NewCollector(m))
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	// One session, read twice: the first read fills the cache, the second
	// is a hit. (The node that creates a session caches it too; reading it
	// by its token right away would be a hit.)
	s, err := m.Create(ctx, "", nil)
	if err != nil {
		panic(err)
	}
	m.GetByID(ctx, s.ID(), pgsession.ForceRefresh()) // a miss: goes to the store
	m.GetByID(ctx, s.ID())                           // a hit

	// Scrape it as Prometheus would, and print the cache counters.
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "pgsession_cache_") {
			fmt.Println(sc.Text())
		}
	}
	// Output:
	// pgsession_cache_bypassed{node="web-1"} 0
	// pgsession_cache_entries{node="web-1"} 1
	// pgsession_cache_hits_total{node="web-1"} 1
	// pgsession_cache_misses_total{node="web-1"} 1
}
