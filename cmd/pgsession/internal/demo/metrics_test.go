package demo_test

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession/cmd/pgsession/internal/demo"
)

// Each node serves its own pgsession metrics at /metrics, outside the
// session middleware: a scrape needs no session and gets no cookie. Node
// B's first read of a session node A made is a cache miss, and B's series
// say so.
func TestMetrics(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cl *demo.Cluster) {
		a, b := cl.URLs()[0], cl.URLs()[1]
		c := newClient(t, "test-browser/1.0")
		c.logIn(a, "alice")
		status, _ := c.me(b)
		require.Equal(t, http.StatusOK, status)

		scraper := newClient(t, "prometheus/3.0")
		for node, name := range map[string]string{a: "A", b: "B"} {
			resp, body := scraper.do("GET", node+"/metrics", nil)
			require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
			require.Equal(t, name, resp.Header.Get("X-Pgsession-Node"))
			require.Contains(t, resp.Header.Get("Content-Type"), "text/plain")
			require.Empty(t, resp.Cookies(), "a scrape gets no session")
			for _, metric := range []string{"pgsession_cache_hits_total", "pgsession_cache_misses_total", "pgsession_cache_bypassed"} {
				require.Contains(t, string(body), metric+`{node="demo-`+name+`"}`)
			}
		}

		_, body := scraper.do("GET", b+"/metrics", nil)
		m := regexp.MustCompile(`(?m)^pgsession_cache_misses_total\{node="demo-B"\} (\S+)$`).FindSubmatch(body)
		require.NotNil(t, m, "%s", body)
		misses, err := strconv.ParseFloat(string(m[1]), 64)
		require.NoError(t, err)
		require.GreaterOrEqual(t, misses, 1.0, "B read alice's session from the store")
	})
}

// /metrics has no authentication, so the demo serves it to loopback clients
// only, going by the connection's address, whatever the headers claim.
func TestMetricsLoopbackOnly(t *testing.T) {
	t.Parallel()
	h := startDemo(t, "memory").Nodes[0].Handler()
	for remote, want := range map[string]int{
		"127.0.0.1:40000":      http.StatusOK,
		"127.9.9.9:40000":      http.StatusOK,
		"[::1]:40000":          http.StatusOK,
		"[::ffff:127.0.0.1]:1": http.StatusOK,
		"192.0.2.1:40000":      http.StatusForbidden,
		"[2001:db8::1]:40000":  http.StatusForbidden,
		"[::ffff:192.0.2.1]:1": http.StatusForbidden,
		"not an address":       http.StatusForbidden,
	} {
		req := httptest.NewRequest("GET", "/metrics", nil)
		req.RemoteAddr = remote
		req.Header.Set("X-Forwarded-For", "127.0.0.1")
		req.Header.Set("X-Real-Ip", "127.0.0.1")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		require.Equal(t, want, rec.Code, remote)
		if want == http.StatusOK {
			require.Contains(t, rec.Body.String(), "pgsession_cache_hits_total", remote)
		} else {
			require.NotContains(t, rec.Body.String(), "pgsession_", remote)
		}
	}
}
