// Package pgsessionprom exports a pgsession node's counters (Manager.Stats)
// as Prometheus metrics. It is a module of its own, so that applications
// which do not use Prometheus never download its client library.
//
//	prometheus.MustRegister(pgsessionprom.NewCollector(m)) // m is the process's *pgsession.Manager
//	http.Handle("/metrics", promhttp.Handler())
//
// The Collector reads Stats when Prometheus scrapes it: it runs no goroutine
// and keeps nothing between scrapes, so there is nothing to stop.
//
// # Metrics
//
// Counters (they only grow while the Manager lives, and start again at 0
// with a new Manager):
//
//	pgsession_cache_hits_total            reads answered from the node's cache
//	pgsession_cache_misses_total          reads sent to PostgreSQL
//	pgsession_invalidations_applied_total invalidations the node applied to its cache
//	pgsession_listener_reconnects_total   LISTEN connections made again after a loss
//	pgsession_announcements_sent_total    notifications sent about this node's updates
//	pgsession_pushed_copies_total         cached copies replaced by rows other nodes' updates pushed
//	pgsession_sessions_created_total      sessions this node created
//	pgsession_sessions_updated_total      updates this node wrote
//	pgsession_sessions_renewed_total      sessions this node moved to a new ID
//	pgsession_sessions_deleted_total      sessions this node's calls ended (cap evictions included)
//	pgsession_sessions_expired_total      expired sessions this node's sweeps removed
//	pgsession_locks_acquired_total        lock leases granted to this node
//	pgsession_locks_lost_total            leases that ended otherwise than by Release
//
// A histogram, with the label "op" besides "node":
//
//	pgsession_db_operation_duration_seconds  database time per operation: get (on a miss),
//	                                         create, update, renew, delete, delete_user,
//	                                         delete_all, sweep_batch
//
// Gauges:
//
//	pgsession_cache_entries               sessions in the node's cache (an estimate)
//	pgsession_cache_bypassed              1 while reads bypass the cache (listener down), else 0
//	pgsession_listener_down_seconds       seconds since the listener was last healthy, 0 while healthy
//
// Every series has the label "node", the Manager's Config.NodeID. NodeID
// defaults to a random value per Manager, so without it each restart starts
// new series: set it to a stable name (the host or pod name) when you
// export metrics.
//
// # What to watch
//
// The hit ratio says how much of the read load the nodes keep off
// PostgreSQL:
//
//	rate(pgsession_cache_hits_total[5m])
//	  / (rate(pgsession_cache_hits_total[5m]) + rate(pgsession_cache_misses_total[5m]))
//
// pgsession_cache_bypassed and pgsession_listener_down_seconds show a node
// whose listener is down: it reads everything from PostgreSQL until the
// listener is back. The listener reconnects by itself, with backoff, within
// seconds of a network blip; alert when a node stays bypassed for a minute.
// pgsession_listener_reconnects_total counts the outages it recovered
// from; each one empties the node's cache, and frequent ones point at the
// network or at a proxy that cuts idle connections.
package pgsessionprom
