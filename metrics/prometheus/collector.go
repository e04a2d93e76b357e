package pgsessionprom

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pgsession/pgsession"
)

// NodeLabel is the label that names the node a series belongs to. Its value
// is the Manager's Config.NodeID.
const NodeLabel = "node"

// Collector is a prometheus.Collector that exports the Stats of one or more
// Managers. It reads Manager.Stats when it is scraped, keeps nothing
// between scrapes and runs no goroutine, so it needs no closing. It is safe
// for concurrent use.
type Collector struct {
	nodes []node
	err   error // reported by Describe, so that registering fails
}

// node is one Manager as the Collector sees it.
type node struct {
	name  string
	stats func() pgsession.Stats
}

// NewCollector returns a Collector over the given Managers, usually the
// process's one Manager. Each Manager's series carry the label "node" with
// its Config.NodeID.
//
// No Manager, a nil one, or two with the same NodeID make registering the
// Collector fail (Register returns the error, MustRegister panics). Managers
// of different deployments in one process (other schemas or table
// prefixes) may share a NodeID if each has a Collector of its own,
// registered through prometheus.WrapRegistererWith with a label that tells
// the deployments apart.
func NewCollector(managers ...*pgsession.Manager) *Collector {
	c := &Collector{}
	seen := make(map[string]bool, len(managers))
	for i, m := range managers {
		if m == nil {
			c.err = fmt.Errorf("pgsessionprom: manager %d is nil", i)
			return c
		}
		id := m.Config().NodeID
		if seen[id] {
			c.err = fmt.Errorf("pgsessionprom: two managers have node ID %q: give each a NodeID of its own, or each a Collector registered with a label that tells them apart", id)
			return c
		}
		seen[id] = true
		c.nodes = append(c.nodes, node{name: id, stats: m.Stats})
	}
	if len(c.nodes) == 0 {
		c.err = errors.New("pgsessionprom: no manager to collect from")
	}
	return c
}

// The metrics. Help texts are what a dashboard shows next to a series: they
// say what is counted and what a change in it means.
var (
	cacheHitsDesc = desc("cache_hits_total",
		"Session reads (Get, GetByID) this node answered from its own cache, without a round trip to PostgreSQL.")
	cacheMissesDesc = desc("cache_misses_total",
		"Session reads (Get, GetByID) this node sent to PostgreSQL because its cache could not answer them: not cached or evicted, changed since, older than the client had seen, ForceRefresh, or the cache bypassed. Hit ratio: hits / (hits + misses).")
	invalidationsDesc = desc("invalidations_applied_total",
		"Invalidation events this node applied to its cache: announcements of updates by other nodes (one may cover several sessions) and of deletions by any node. Rises with the cluster's write rate.")
	reconnectsDesc = desc("listener_reconnects_total",
		"Times this node's LISTEN connection was made again after being lost. Each reconnect empties the node's cache, so misses rise just after one.")
	announcementsDesc = desc("announcements_sent_total",
		"Notifications this node sent to tell other nodes about its session updates. Updates made close together share one, so under load this grows slower than updates.")
	pushedCopiesDesc = desc("pushed_copies_total",
		"Cached sessions this node replaced with the row another node's update pushed, so the next read here was served from memory at the new version instead of from PostgreSQL.")
	sessionsCreatedDesc = desc("sessions_created_total",
		"Sessions this node created (Create, CreateWithToken).")
	sessionsUpdatedDesc = desc("sessions_updated_total",
		"Session updates this node made (Update calls that wrote).")
	sessionsRenewedDesc = desc("sessions_renewed_total",
		"Sessions this node moved to a new ID (Renew, as at log-in).")
	sessionsDeletedDesc = desc("sessions_deleted_total",
		"Sessions this node's calls ended: Delete, DeleteUser, DeleteAll, and the oldest sessions a per-user cap evicted.")
	sessionsExpiredDesc = desc("sessions_expired_total",
		"Expired sessions this node's sweeps removed from the table.")
	locksAcquiredDesc = desc("locks_acquired_total",
		"Lock leases this node was granted.")
	locksLostDesc = desc("locks_lost_total",
		"Lock leases that ended otherwise than by Release: expired, taken over, or the Manager closed. A holder past its lease may have overlapped another.")
	cacheEntriesDesc = desc("cache_entries",
		"Sessions held in this node's cache (an estimate).")
	cacheBypassedDesc = desc("cache_bypassed",
		"1 while this node's listener is down (or not yet up) and every read goes to PostgreSQL, because the node could miss invalidations; 0 otherwise.")
	listenerDownDesc = desc("listener_down_seconds",
		"Seconds since this node's listener was last healthy; 0 while it is healthy. Above 0, the node reads from PostgreSQL and its cache waits for the listener to come back.")
)

// opLatencyDesc is the one histogram: a series per node and operation.
var opLatencyDesc = prometheus.NewDesc(prometheus.BuildFQName("pgsession", "", "db_operation_duration_seconds"),
	"Time this node's database operations took, by operation (get on a cache miss, create, update, renew, delete, delete_user, delete_all, sweep_batch), failed ones included: the backend call alone.",
	[]string{NodeLabel, OpLabel}, nil)

// OpLabel is the label naming the operation of the latency histogram.
const OpLabel = "op"

func desc(name, help string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName("pgsession", "", name), help, []string{NodeLabel}, nil)
}

// Describe sends the descriptors of every metric the Collector exports, or,
// if NewCollector was given bad Managers, an invalid descriptor that makes
// registering fail with the reason.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	if c.err != nil {
		ch <- prometheus.NewInvalidDesc(c.err)
		return
	}
	for _, d := range []*prometheus.Desc{
		cacheHitsDesc, cacheMissesDesc, invalidationsDesc, reconnectsDesc, announcementsDesc,
		pushedCopiesDesc, sessionsCreatedDesc, sessionsUpdatedDesc, sessionsRenewedDesc, sessionsDeletedDesc,
		sessionsExpiredDesc, locksAcquiredDesc, locksLostDesc, cacheEntriesDesc, cacheBypassedDesc, listenerDownDesc,
		opLatencyDesc,
	} {
		ch <- d
	}
}

// Collect reads each Manager's Stats once and sends its metrics.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	if c.err != nil {
		ch <- prometheus.NewInvalidMetric(prometheus.NewInvalidDesc(c.err), c.err)
		return
	}
	for _, n := range c.nodes {
		s := n.stats()
		counter := func(d *prometheus.Desc, v uint64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), n.name)
		}
		gauge := func(d *prometheus.Desc, v float64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, n.name)
		}
		counter(cacheHitsDesc, s.CacheHits)
		counter(cacheMissesDesc, s.CacheMisses)
		counter(invalidationsDesc, s.Invalidations)
		counter(reconnectsDesc, s.Reconnects)
		counter(announcementsDesc, s.Announcements)
		counter(pushedCopiesDesc, s.PushedCopies)
		counter(sessionsCreatedDesc, s.SessionsCreated)
		counter(sessionsUpdatedDesc, s.SessionsUpdated)
		counter(sessionsRenewedDesc, s.SessionsRenewed)
		counter(sessionsDeletedDesc, s.SessionsDeleted)
		counter(sessionsExpiredDesc, s.SessionsExpired)
		counter(locksAcquiredDesc, s.LocksAcquired)
		counter(locksLostDesc, s.LocksLost)
		gauge(cacheEntriesDesc, float64(s.CacheEntries))
		gauge(cacheBypassedDesc, boolValue(s.CacheBypassed))
		gauge(listenerDownDesc, s.ListenerDownFor.Seconds())
		for op, h := range s.OpLatency {
			buckets := make(map[float64]uint64, len(h.Buckets))
			for _, b := range h.Buckets {
				buckets[b.UpperBound.Seconds()] = b.Count
			}
			ch <- prometheus.MustNewConstHistogram(opLatencyDesc, h.Count, h.Sum.Seconds(), buckets, n.name, op)
		}
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
