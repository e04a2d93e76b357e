package pgsessionprom_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession"
	pgsessionprom "github.com/pgsession/pgsession/metrics/prometheus"
	"github.com/pgsession/pgsession/pgsessiontest"
	"github.com/pgsession/pgsession/pgsessiontest/backends"
)

// within is how long a change may take to reach another node here: far
// above the milliseconds it takes, so only a broken mechanism fails.
const within = 5 * time.Second

// cluster is a set of nodes sharing one store (pgsessiontest's Backend).
type cluster struct {
	t *testing.T
	b *backends.Backend
}

func forEachBackend(t *testing.T, f func(t *testing.T, c *cluster)) {
	backends.ForEach(t, func(t *testing.T, b *backends.Backend) { f(t, &cluster{t: t, b: b}) })
}

// node starts a Manager named nodeID, with touches and sweeps off so only
// the test's operations move the counters, closed when the test ends. It
// returns once the node's cache is in use (on PostgreSQL, once its listener
// is up).
func (c *cluster) node(nodeID string, edit ...func(*pgsession.Config)) *pgsession.Manager {
	t := c.t
	t.Helper()
	cfg := pgsession.Config{NodeID: nodeID, TouchInterval: -1, SweepInterval: -1}
	for _, e := range edit {
		e(&cfg)
	}
	m := c.b.Node(t, cfg, nil)
	require.Eventually(t, func() bool { return !m.Stats().CacheBypassed }, within, time.Millisecond, "the cache comes into use")
	return m
}

// gather registers col on a pedantic registry (which also checks that what
// is collected matches what is described), gathers it and returns every
// sample as `name{node="..."}` -> value.
func gather(t *testing.T, col prometheus.Collector) map[string]float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(col))
	families, err := reg.Gather()
	require.NoError(t, err)
	got := map[string]float64{}
	for _, f := range families {
		if f.GetType() == dto.MetricType_HISTOGRAM {
			continue // see TestLatencyHistogramPerOperation
		}
		for _, m := range f.GetMetric() {
			got[key(f.GetName(), m)] = value(t, f.GetType(), m)
		}
	}
	return got
}

func key(name string, m *dto.Metric) string {
	var labels []string
	for _, l := range m.GetLabel() {
		labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
	}
	sort.Strings(labels)
	return name + "{" + strings.Join(labels, ",") + "}"
}

func value(t *testing.T, typ dto.MetricType, m *dto.Metric) float64 {
	t.Helper()
	switch typ {
	case dto.MetricType_COUNTER:
		return m.GetCounter().GetValue()
	case dto.MetricType_GAUGE:
		return m.GetGauge().GetValue()
	}
	t.Fatalf("unexpected metric type %v", typ)
	return 0
}

// sample names one series of a node.
func sample(name, node string) string { return fmt.Sprintf("%s{node=%q}", name, node) }

// nodeSamples are the sixteen series of one node, with the values given;
// the work counters are 0 (see work).
func nodeSamples(node string, hits, misses, invalidations, reconnects, announcements, entries, bypassed, downSeconds float64) map[string]float64 {
	return map[string]float64{
		sample("pgsession_pushed_copies_total", node):         0,
		sample("pgsession_sessions_created_total", node):      0,
		sample("pgsession_sessions_updated_total", node):      0,
		sample("pgsession_sessions_renewed_total", node):      0,
		sample("pgsession_sessions_deleted_total", node):      0,
		sample("pgsession_sessions_expired_total", node):      0,
		sample("pgsession_locks_acquired_total", node):        0,
		sample("pgsession_locks_lost_total", node):            0,
		sample("pgsession_cache_hits_total", node):            hits,
		sample("pgsession_cache_misses_total", node):          misses,
		sample("pgsession_invalidations_applied_total", node): invalidations,
		sample("pgsession_listener_reconnects_total", node):   reconnects,
		sample("pgsession_announcements_sent_total", node):    announcements,
		sample("pgsession_cache_entries", node):               entries,
		sample("pgsession_cache_bypassed", node):              bypassed,
		sample("pgsession_listener_down_seconds", node):       downSeconds,
	}
}

// work is the sessions created and updated by one node.
func work(node string, created, updated float64) map[string]float64 {
	return map[string]float64{
		sample("pgsession_sessions_created_total", node): created,
		sample("pgsession_sessions_updated_total", node): updated,
	}
}

func merge(ms ...map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// A miss, two hits, and an update on node A that node B's cache learns of:
// each node's series say exactly that, on both backends.
func TestMetricsCountWhatTheNodesDid(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := context.Background()
		a, b := c.node("node-a"), c.node("node-b")
		col := pgsessionprom.NewCollector(a, b)
		require.Equal(t, merge(nodeSamples("node-a", 0, 0, 0, 0, 0, 0, 0, 0), nodeSamples("node-b", 0, 0, 0, 0, 0, 0, 0, 0)),
			gather(t, col), "a new node has counted nothing")

		s, err := a.Create(ctx, "", map[string]any{"n": 1}) // A caches what it wrote
		require.NoError(t, err)
		for range 3 { // B: a miss, then two hits
			got, err := b.GetByID(ctx, s.ID())
			require.NoError(t, err)
			require.Equal(t, int64(1), got.Version())
		}
		want := merge(nodeSamples("node-a", 0, 0, 0, 0, 0, 1, 0, 0), work("node-a", 1, 0), nodeSamples("node-b", 2, 1, 0, 0, 0, 1, 0, 0))
		require.Equal(t, want, gather(t, col))
		// The assertion is sharp: the same numbers under the wrong names
		// (B's hits reported as misses and the other way round) fail it.
		swapped := merge(want)
		hits, misses := sample("pgsession_cache_hits_total", "node-b"), sample("pgsession_cache_misses_total", "node-b")
		swapped[hits], swapped[misses] = want[misses], want[hits]
		require.NotEqual(t, swapped, gather(t, col))

		// An update on A: A announces it once, B applies it once.
		_, err = a.Update(ctx, s.ID(), new(pgsession.Patch).Set("n", 2))
		require.NoError(t, err)
		require.Eventually(t, func() bool {
			return a.Stats().Announcements == 1 && b.Stats().Invalidations == 1
		}, within, time.Millisecond)
		got, err := b.GetByID(ctx, s.ID())
		require.NoError(t, err)
		require.Equal(t, int64(2), got.Version())

		// A node does not apply its own update announcements, on either
		// backend. On PostgreSQL, A's announcement carried the new row,
		// which replaced B's copy: B's read was a hit. In memory, B's copy
		// was dropped: its read went to the store, a second miss.
		wantB := nodeSamples("node-b", 2, 2, 1, 0, 0, 1, 0, 0)
		if c.b.Memory == nil {
			wantB = merge(nodeSamples("node-b", 3, 1, 1, 0, 0, 1, 0, 0),
				map[string]float64{sample("pgsession_pushed_copies_total", "node-b"): 1})
		}
		require.Equal(t, merge(nodeSamples("node-a", 0, 0, 0, 0, 1, 1, 0, 0), work("node-a", 1, 1), wantB), gather(t, col))
	})
}

// While a node's listener is cut off, its series show the cache bypassed
// and for how long; once it is back, the reconnect is counted and both
// gauges return to 0.
func TestMetricsShowAListenerOutage(t *testing.T) {
	t.Parallel()
	c := &cluster{t: t, b: backends.New(t, "postgres")}
	proxy := pgsessiontest.NewProxy(t, databaseAddr(t))
	m := c.node("node-a", func(cfg *pgsession.Config) {
		cfg.ListenerConnect = listenThrough(proxy)
		cfg.Logger = slog.New(slog.DiscardHandler) // the outage is expected
		cfg.ListenerPingInterval, cfg.ListenerPingTimeout = 100*time.Millisecond, 100*time.Millisecond
	})
	col := pgsessionprom.NewCollector(m)
	bypassed, down := sample("pgsession_cache_bypassed", "node-a"), sample("pgsession_listener_down_seconds", "node-a")
	reconnects := sample("pgsession_listener_reconnects_total", "node-a")

	proxy.Refuse() // cuts the listener's connection and refuses new ones
	require.Eventually(t, func() bool { return m.Stats().CacheBypassed }, within, time.Millisecond)
	time.Sleep(20 * time.Millisecond) // so that the outage has lasted a measurable time
	got := gather(t, col)
	require.Equal(t, 1.0, got[bypassed])
	require.Greater(t, got[down], 0.0)
	require.Less(t, got[down], within.Seconds()+1)
	require.Equal(t, 0.0, got[reconnects])
	time.Sleep(5 * time.Millisecond)
	later := gather(t, col)[down]
	require.Greater(t, later, got[down], "the outage grows between scrapes")

	proxy.Pass()
	require.Eventually(t, func() bool { st := m.Stats(); return st.Reconnects == 1 && !st.CacheBypassed }, 10*time.Second, 5*time.Millisecond)
	got = gather(t, col)
	require.Equal(t, 0.0, got[bypassed])
	require.Equal(t, 0.0, got[down])
	require.Equal(t, 1.0, got[reconnects])
}

// databaseAddr is the test database's host:port.
func databaseAddr(t *testing.T) string {
	cfg, err := pgx.ParseConfig(pgsessiontest.DatabaseURL())
	require.NoError(t, err)
	return net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
}

// listenThrough makes a node's listener connect through p.
func listenThrough(p *pgsessiontest.Proxy) func(context.Context) (*pgx.Conn, error) {
	return func(ctx context.Context) (*pgx.Conn, error) {
		cfg, err := pgx.ParseConfig(pgsessiontest.DatabaseURL())
		if err != nil {
			return nil, err
		}
		host, port, _ := net.SplitHostPort(p.Addr())
		n, _ := strconv.Atoi(port)
		cfg.Host, cfg.Port = host, uint16(n)
		return pgx.ConnectConfig(ctx, cfg)
	}
}

// The metrics follow Prometheus's naming conventions (promlint): counters
// end in _total, units are base units, every metric has help.
func TestMetricsPassLint(t *testing.T) {
	c := &cluster{t: t, b: backends.New(t, "memory")}
	problems, err := testutil.CollectAndLint(pgsessionprom.NewCollector(c.node("node-a")))
	require.NoError(t, err)
	require.Empty(t, problems)
}

// Each Manager has its sixteen series; registering a Collector with no
// Manager, a nil one or two of the same NodeID fails with the reason.
func TestRegisterChecksTheManagers(t *testing.T) {
	c := &cluster{t: t, b: backends.New(t, "memory")}
	a, b, a2 := c.node("node-a"), c.node("node-b"), c.node("node-a")
	require.Equal(t, 2*(16+8), testutil.CollectAndCount(pgsessionprom.NewCollector(a, b)), "16 series and 8 histograms each")

	for name, col := range map[string]*pgsessionprom.Collector{
		"no manager":  pgsessionprom.NewCollector(),
		"nil manager": pgsessionprom.NewCollector(a, nil),
		"same NodeID": pgsessionprom.NewCollector(a, a2),
	} {
		err := prometheus.NewRegistry().Register(col)
		require.Error(t, err, name)
		require.Contains(t, err.Error(), "pgsessionprom:", name)
	}

	// Managers of two deployments may share a NodeID when their Collectors
	// are registered under a label that tells them apart.
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, prometheus.WrapRegistererWith(prometheus.Labels{"deployment": "one"}, reg).Register(pgsessionprom.NewCollector(a)))
	require.NoError(t, prometheus.WrapRegistererWith(prometheus.Labels{"deployment": "two"}, reg).Register(pgsessionprom.NewCollector(a2)))
	families, err := reg.Gather()
	require.NoError(t, err)
	require.Len(t, families, 17)
	for _, f := range families {
		want := 2
		if f.GetType() == dto.MetricType_HISTOGRAM {
			want = 2 * 8 // an operation's series per deployment
		}
		require.Len(t, f.GetMetric(), want, f.GetName())
	}
}

// A scrape that arrives after the Manager closed (during shutdown) still
// answers, with the last counts.
func TestScrapeAfterClose(t *testing.T) {
	m, err := pgsession.NewMemory(nil, pgsession.Config{NodeID: "node-a", TouchInterval: -1, SweepInterval: -1})
	require.NoError(t, err)
	s, err := m.Create(context.Background(), "", nil)
	require.NoError(t, err)
	_, err = m.GetByID(context.Background(), s.ID())
	require.NoError(t, err)
	require.NoError(t, m.Close(context.Background()))
	got := gather(t, pgsessionprom.NewCollector(m))
	require.Equal(t, 1.0, got[sample("pgsession_cache_hits_total", "node-a")])
}
