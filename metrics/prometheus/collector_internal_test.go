package pgsessionprom

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession"
)

// Each field of Stats moves one metric, its own, and no other: a Collector
// that reported a field under another metric's name fails here. The Stats
// come from a function rather than a Manager so that every field, the
// listener's included, can be set on its own.
func TestEachStatsFieldHasItsOwnMetric(t *testing.T) {
	fields := []struct {
		metric string
		set    func(*pgsession.Stats)
		want   float64
	}{
		{"pgsession_cache_hits_total", func(s *pgsession.Stats) { s.CacheHits = 3 }, 3},
		{"pgsession_cache_misses_total", func(s *pgsession.Stats) { s.CacheMisses = 5 }, 5},
		{"pgsession_invalidations_applied_total", func(s *pgsession.Stats) { s.Invalidations = 7 }, 7},
		{"pgsession_listener_reconnects_total", func(s *pgsession.Stats) { s.Reconnects = 11 }, 11},
		{"pgsession_announcements_sent_total", func(s *pgsession.Stats) { s.Announcements = 13 }, 13},
		{"pgsession_pushed_copies_total", func(s *pgsession.Stats) { s.PushedCopies = 19 }, 19},
		{"pgsession_sessions_created_total", func(s *pgsession.Stats) { s.SessionsCreated = 23 }, 23},
		{"pgsession_sessions_updated_total", func(s *pgsession.Stats) { s.SessionsUpdated = 29 }, 29},
		{"pgsession_sessions_renewed_total", func(s *pgsession.Stats) { s.SessionsRenewed = 31 }, 31},
		{"pgsession_sessions_deleted_total", func(s *pgsession.Stats) { s.SessionsDeleted = 37 }, 37},
		{"pgsession_sessions_expired_total", func(s *pgsession.Stats) { s.SessionsExpired = 41 }, 41},
		{"pgsession_locks_acquired_total", func(s *pgsession.Stats) { s.LocksAcquired = 43 }, 43},
		{"pgsession_locks_lost_total", func(s *pgsession.Stats) { s.LocksLost = 47 }, 47},
		{"pgsession_cache_entries", func(s *pgsession.Stats) { s.CacheEntries = 17 }, 17},
		{"pgsession_cache_bypassed", func(s *pgsession.Stats) { s.CacheBypassed = true }, 1},
		{"pgsession_listener_down_seconds", func(s *pgsession.Stats) { s.ListenerDownFor = 1500 * time.Millisecond }, 1.5},
	}
	for _, f := range fields {
		t.Run(f.metric, func(t *testing.T) {
			var st pgsession.Stats
			f.set(&st)
			c := &Collector{nodes: []node{{name: "n1", stats: func() pgsession.Stats { return st }}}}
			reg := prometheus.NewPedanticRegistry()
			require.NoError(t, reg.Register(c))
			families, err := reg.Gather()
			require.NoError(t, err)
			require.Len(t, families, len(fields))
			for _, fam := range families {
				require.Len(t, fam.GetMetric(), 1)
				m := fam.GetMetric()[0]
				require.Equal(t, "node", m.GetLabel()[0].GetName())
				require.Equal(t, "n1", m.GetLabel()[0].GetValue())
				want := dto.MetricType_GAUGE
				if strings.HasSuffix(fam.GetName(), "_total") {
					want = dto.MetricType_COUNTER
				}
				require.Equal(t, want, fam.GetType(), fam.GetName())
				got := m.GetCounter().GetValue() + m.GetGauge().GetValue() // the other is nil: 0
				if fam.GetName() == f.metric {
					require.Equal(t, f.want, got, fam.GetName())
				} else {
					require.Zero(t, got, "%s moved when only the field of %s was set", fam.GetName(), f.metric)
				}
			}
		})
	}
}

// Each operation's latency is a histogram series of its own, labelled with
// the node and the operation, its buckets in seconds.
func TestLatencyHistogramPerOperation(t *testing.T) {
	st := pgsession.Stats{OpLatency: map[string]pgsession.LatencyHistogram{
		"update": {Count: 3, Sum: 3 * time.Millisecond, Buckets: []pgsession.LatencyBucket{
			{UpperBound: time.Millisecond, Count: 2}, {UpperBound: 5 * time.Millisecond, Count: 3}}},
		"get": {},
	}}
	c := &Collector{nodes: []node{{name: "n1", stats: func() pgsession.Stats { return st }}}}
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(c))
	families, err := reg.Gather()
	require.NoError(t, err)
	var hist *dto.MetricFamily
	for _, f := range families {
		if f.GetName() == "pgsession_db_operation_duration_seconds" {
			hist = f
		}
	}
	require.NotNil(t, hist)
	require.Equal(t, dto.MetricType_HISTOGRAM, hist.GetType())
	require.Len(t, hist.GetMetric(), 2)
	for _, m := range hist.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		require.Equal(t, "n1", labels[NodeLabel])
		h := m.GetHistogram()
		if labels[OpLabel] != "update" {
			require.Equal(t, "get", labels[OpLabel])
			require.Zero(t, h.GetSampleCount())
			continue
		}
		require.Equal(t, uint64(3), h.GetSampleCount())
		require.InDelta(t, 0.003, h.GetSampleSum(), 1e-12)
		require.Len(t, h.GetBucket(), 2)
		require.Equal(t, 0.001, h.GetBucket()[0].GetUpperBound())
		require.Equal(t, uint64(2), h.GetBucket()[0].GetCumulativeCount())
		require.Equal(t, uint64(3), h.GetBucket()[1].GetCumulativeCount())
	}
}
