package pgsession

import (
	"sync/atomic"
	"time"

	"github.com/pgsession/pgsession/internal/store"
)

// Stats are a node's counters, for dashboards and alerts.
type Stats struct {
	// CacheHits and CacheMisses count Gets answered from memory and from
	// the database.
	CacheHits, CacheMisses uint64
	// NotFoundHits counts Gets answered "not found" from memory: the ID was
	// known to name no live session (see Config.NotFoundCacheSize).
	NotFoundHits uint64
	// CacheEntries is the number of cached sessions (an estimate).
	CacheEntries int
	// Invalidations counts the events this node applied: updates announced
	// by other nodes, and deletions announced by any node.
	Invalidations uint64
	// PushedCopies counts the cached copies this node replaced with a row
	// another node's update pushed (DESIGN C9): each a database read saved
	// for the next Get of that session here.
	PushedCopies uint64
	// SessionsCreated, SessionsUpdated, SessionsRenewed count this node's
	// successful Creates, Updates and Renews. SessionsDeleted counts the
	// sessions this node's calls ended: Delete (when there was one),
	// DeleteUser, DeleteAll, and the oldest ones a per-user cap evicted.
	// SessionsExpired counts the expired sessions this node's sweeps
	// removed. Other nodes' work is counted on those nodes.
	SessionsCreated, SessionsUpdated, SessionsRenewed, SessionsDeleted, SessionsExpired uint64
	// LocksAcquired counts leases this node was granted; LocksLost the ones
	// that ended otherwise than by Release (expired, taken over, or the
	// Manager closed).
	LocksAcquired, LocksLost uint64
	// OpLatency is the database time of each kind of operation, by name:
	// get (a read on a miss), create, update, renew, delete, delete_user,
	// delete_all and sweep_batch.
	OpLatency map[string]LatencyHistogram
	// Reconnects counts listener connections made after the first.
	Reconnects uint64
	// Announcements counts the notifications this node sent to announce its
	// updates: on PostgreSQL one statement each, carrying every update made
	// since the previous one, so under load there are fewer than updates.
	Announcements uint64
	// ChangeLogReads counts the reads of the change log, and
	// ChangeLogRows the rows they returned: updates this node learnt of
	// there (most of them also announced; see Config.ChangePollInterval).
	ChangeLogReads, ChangeLogRows uint64
	// CacheBypassed is true while the listener is down or the change log
	// cannot be read: reads go to the database because the node could miss
	// invalidations.
	CacheBypassed bool
	// ListenerDownFor is how long the listener has been down (0 while it is
	// healthy).
	ListenerDownFor time.Duration
}

// counters are striped so that goroutines counting hits on different
// sessions do not fight over one cache line.
type counters struct {
	hits          [16]paddedCounter
	misses        atomic.Uint64
	goneHits      atomic.Uint64
	invalidations atomic.Uint64
	pushed        atomic.Uint64

	created, updated, renewed, deleted, expired atomic.Uint64
	locksAcquired, locksLost                    atomic.Uint64

	latency [numOps]latency
}

type paddedCounter struct {
	n atomic.Uint64
	_ [56]byte
}

func (c *counters) hit(stripe byte) { c.hits[stripe&15].n.Add(1) }

func (c *counters) hitCount() uint64 {
	var n uint64
	for i := range c.hits {
		n += c.hits[i].n.Load()
	}
	return n
}

// Stats returns the node's counters.
func (m *Manager) Stats() Stats {
	s := Stats{
		CacheHits:       m.stats.hitCount(),
		CacheMisses:     m.stats.misses.Load(),
		NotFoundHits:    m.stats.goneHits.Load(),
		Invalidations:   m.stats.invalidations.Load(),
		PushedCopies:    m.stats.pushed.Load(),
		SessionsCreated: m.stats.created.Load(),
		SessionsUpdated: m.stats.updated.Load(),
		SessionsRenewed: m.stats.renewed.Load(),
		SessionsDeleted: m.stats.deleted.Load(),
		SessionsExpired: m.stats.expired.Load(),
		LocksAcquired:   m.stats.locksAcquired.Load(),
		LocksLost:       m.stats.locksLost.Load(),
		Reconnects:      m.bus.reconnects(),
		Announcements:   m.bus.announcements(),
		ListenerDownFor: m.bus.downFor(),
	}
	s.OpLatency = make(map[string]LatencyHistogram, numOps)
	for op, name := range opNames {
		s.OpLatency[name] = m.stats.latency[op].snapshot()
	}
	if m.changes != nil {
		s.ChangeLogReads, s.ChangeLogRows = m.changes.reads.Load(), m.changes.rows.Load()
	}
	if m.cache != nil {
		s.CacheEntries = m.cache.Len()
		s.CacheBypassed = !m.cache.Enabled()
	}
	return s
}

// hooks are test signals: unset in production, they cost one atomic load.
type hooks struct {
	afterLoad  atomic.Pointer[func(id ID)]         // a Get read the database and is about to fill the cache
	afterEvent atomic.Pointer[func(e store.Event)] // an invalidation was applied
	// beforeAnnounce: an update committed and is about to be announced
	beforeAnnounce atomic.Pointer[func(id ID, version int64)]
}
