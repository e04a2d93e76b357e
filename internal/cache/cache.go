// Package cache is a node's bounded cache of immutable session snapshots,
// with the guards that keep it coherent: versions only move forward, a fill
// that raced an invalidation is refused (DESIGN C2), and the whole cache can
// be switched off and dropped while the node is deaf to invalidations (C1).
// The maximum age of an entry (C4) is checked by the caller on each hit,
// with the clock reading it makes anyway: an expiry policy here would read
// the clock a second time on every hit.
//
// Eviction is otter's (W-TinyLFU): chosen over a mutex-guarded LRU because
// its reads take no lock, which keeps a hit cheap with many goroutines (see
// BenchmarkEvictionPolicies).
package cache

import (
	"math"
	"sync"
	"sync/atomic"

	"github.com/maypok86/otter/v2"

	"github.com/pgsession/pgsession/internal/store"
)

// Deleted is the version an invalidation carries for a deleted session: no
// copy is ever new enough.
const Deleted = math.MaxInt64

// Options bound a Cache.
type Options[V any] struct {
	MaxEntries int
	MaxBytes   int64
	Version    func(V) int64
	Bytes      func(V) int
}

// Cache maps session IDs to snapshots of type V.
type Cache[V any] struct {
	o       *otter.Cache[store.ID, V]
	version func(V) int64
	enabled atomic.Bool

	mu      sync.Mutex
	epoch   uint64                   // guarded by mu; bumped by DropAll and DropWhere
	flights map[store.ID]*flightInfo // guarded by mu; reads and writes in progress per id
}

// flightInfo tracks the operations in progress on one id. floor is the
// lowest version a fill may carry: an invalidation seen while they ran
// raises it, so a copy read before the invalidation is refused.
type flightInfo struct {
	refs  int
	floor int64
}

// Ticket is held by an operation (a load or a write) whose result may fill
// the cache; take it before the operation starts.
type Ticket struct {
	id    store.ID
	epoch uint64
}

// New returns an enabled cache.
func New[V any](opt Options[V]) (*Cache[V], error) {
	minWeight := uint32(max(1, (opt.MaxBytes+int64(opt.MaxEntries)-1)/int64(opt.MaxEntries)))
	o, err := otter.New(&otter.Options[store.ID, V]{
		MaximumWeight: uint64(opt.MaxBytes),
		// Maintenance (eviction, buffer drains) runs on the goroutine that
		// triggered it instead of a new one each time: on a busy node every
		// miss fills and evicts, and a goroutine per fill cost a miss 10-15%
		// on 2 cores (bench's large-table get). Safe because nothing this
		// package runs under otter's locks calls the cache, and no deletion
		// handler is set.
		Executor: func(fn func()) { fn() },
		// Every entry weighs at least MaxBytes/MaxEntries, so the byte
		// bound also bounds the count.
		Weigher: func(_ store.ID, v V) uint32 {
			return max(minWeight, uint32(min(opt.Bytes(v), math.MaxUint32)))
		},
	})
	if err != nil {
		return nil, err
	}
	c := &Cache[V]{o: o, version: opt.Version, flights: map[store.ID]*flightInfo{}}
	c.enabled.Store(true)
	return c, nil
}

// Get returns the cached copy, if the cache is enabled and holds one.
func (c *Cache[V]) Get(id store.ID) (V, bool) {
	if !c.enabled.Load() {
		var zero V
		return zero, false
	}
	return c.o.GetIfPresent(id)
}

// Begin registers an operation on id whose result may fill the cache.
func (c *Cache[V]) Begin(id store.ID) Ticket {
	c.mu.Lock()
	f := c.flights[id]
	if f == nil {
		f = &flightInfo{}
		c.flights[id] = f
	}
	f.refs++
	t := Ticket{id: id, epoch: c.epoch}
	c.mu.Unlock()
	return t
}

// Outcome says what Fill did with a copy.
type Outcome int

const (
	// Stored: the copy is cached, new or in place of an older or equal one
	// (an equal version renews the entry's age: DESIGN C8).
	Stored Outcome = iota
	// Kept: a newer copy is cached already.
	Kept
	// Overtaken: an invalidation, a drop or a switch of the cache happened
	// while the operation ran, so the copy may be older than what the node
	// has seen since. A read that shared the operation must read again.
	Overtaken
	// Off: the cache is disabled and caches nothing.
	Off
)

// Fill ends the operation and caches v unless, since Begin, the session was
// invalidated past v's version, the cache was dropped or disabled, or a
// newer copy is cached. Refused or not, v is a fact about the database:
// every cached copy older than v goes, and operations still in flight on
// the same id may no longer cache anything older (DESIGN C6), so a node
// never serves a copy older than the result of its own write.
func (c *Cache[V]) Fill(t Ticket, v V) Outcome {
	ver := c.version(v)
	c.mu.Lock()
	defer c.mu.Unlock()
	f := c.end(t)
	if ver < f.floor {
		// The invalidation that raised the floor drops older copies, but
		// after it let go of mu: one may still be cached, and a read that
		// follows this write must not find it.
		c.dropOlder(t.id, ver)
		return Overtaken
	}
	f.floor = ver
	if t.epoch != c.epoch {
		c.dropOlder(t.id, ver)
		return Overtaken
	}
	if !c.enabled.Load() {
		c.dropOlder(t.id, ver)
		return Off
	}
	out := Stored
	c.o.Compute(t.id, func(old V, found bool) (V, otter.ComputeOp) {
		if found && c.version(old) > ver {
			out = Kept
			return old, otter.CancelOp
		}
		return v, otter.WriteOp
	})
	return out
}

// dropOlder removes the cached copy of id if it is older than version.
func (c *Cache[V]) dropOlder(id store.ID, version int64) {
	c.o.ComputeIfPresent(id, func(old V) (V, otter.ComputeOp) {
		if c.version(old) >= version {
			return old, otter.CancelOp
		}
		return old, otter.InvalidateOp
	})
}

// AbandonRead ends a read that returned no copy. For a read that found no
// session, it reports whether a write of the session was seen while it ran
// (a fill, or an invalidation to a version): the session may exist, and
// whoever shares the read must read again. A deletion seen meanwhile agrees
// with the read.
func (c *Cache[V]) AbandonRead(t Ticket, notFound bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	f := c.end(t)
	return notFound && f.floor > 0 && f.floor != Deleted
}

// Abandon ends an operation that has nothing to cache.
func (c *Cache[V]) Abandon(t Ticket) {
	c.mu.Lock()
	c.end(t)
	c.mu.Unlock()
}

// end drops a reference to t's flight; the info stays readable to the
// caller while mu is held.
func (c *Cache[V]) end(t Ticket) *flightInfo {
	f := c.flights[t.id]
	f.refs--
	if f.refs == 0 {
		delete(c.flights, t.id)
	}
	return f
}

// Invalidate records that id is now at version (Deleted for a deletion):
// older cached copies go, and fills older than it are refused from now on.
func (c *Cache[V]) Invalidate(id store.ID, version int64) {
	c.mu.Lock()
	if f := c.flights[id]; f != nil {
		f.floor = max(f.floor, version)
	}
	c.mu.Unlock()
	c.dropOlder(id, version)
}

// Advance replaces the cached copy of id with v when the copy is older, and
// otherwise acts as Invalidate to v's version: reads in flight that would
// bring an older copy are refused. It never caches a session that has no
// copy here (deleted, evicted, or never read on this node), so a copy
// pushed after a deletion cannot bring the session back. It reports
// whether it replaced a copy.
func (c *Cache[V]) Advance(id store.ID, v V) bool {
	ver := c.version(v)
	c.mu.Lock()
	if f := c.flights[id]; f != nil {
		f.floor = max(f.floor, ver)
	}
	c.mu.Unlock()
	if !c.enabled.Load() {
		c.dropOlder(id, ver)
		return false
	}
	replaced := false
	c.o.ComputeIfPresent(id, func(old V) (V, otter.ComputeOp) {
		if c.version(old) >= ver {
			return old, otter.CancelOp
		}
		replaced = true
		return v, otter.WriteOp
	})
	return replaced
}

// DropWhere removes every cached copy that match selects and refuses every
// fill in progress (for events that name a user, not ids). It walks the
// whole cache: such events are rare.
func (c *Cache[V]) DropWhere(match func(V) bool) {
	c.mu.Lock()
	c.epoch++
	c.mu.Unlock()
	for id, v := range c.o.All() {
		if match(v) {
			c.o.Invalidate(id)
		}
	}
}

// DropAll empties the cache and refuses every fill in progress.
func (c *Cache[V]) DropAll() {
	c.mu.Lock()
	c.epoch++
	c.mu.Unlock()
	c.o.InvalidateAll()
}

// SetEnabled switches the cache on or off. Off, it neither serves nor
// fills; switching it on again does not drop it (call DropAll first).
func (c *Cache[V]) SetEnabled(on bool) {
	c.mu.Lock()
	c.enabled.Store(on)
	c.epoch++ // fills that began before the switch are refused
	c.mu.Unlock()
}

// Enabled reports whether the cache serves reads.
func (c *Cache[V]) Enabled() bool { return c.enabled.Load() }

// Len returns the number of cached sessions (an estimate).
func (c *Cache[V]) Len() int { return c.o.EstimatedSize() }

// Close stops the cache's background goroutines.
func (c *Cache[V]) Close() {
	c.o.InvalidateAll()
	c.o.StopAllGoroutines()
}
