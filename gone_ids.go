package pgsession

import (
	"time"

	"github.com/maypok86/otter/v2"

	"github.com/pgsession/pgsession/internal/store"
)

// goneIDs remembers IDs that name no live session, so a client that keeps
// sending a dead token costs the database one read per node, not one per
// request. Two kinds of entry:
//
//   - ended here or announced as ended (deleted, renewed away, evicted):
//     kept until evicted, since a deleted row never comes back (only
//     CreateWithToken could reuse the ID, and it forgets the entry);
//   - read as not found: kept for notFoundTTL only, because a write that
//     began before a session's deadline and commits after it (a touch, a
//     new lifetime) can make an expired session live again; such a session
//     is then served again within S_fault.
//
// A successful read or write of the ID forgets it. Bounded by count;
// W-TinyLFU admission keeps the IDs that come back often over a flood of
// one-off ones.
type goneIDs struct {
	c      *otter.Cache[store.ID, int64] // the entry's end in mono(); 0: none
	maxAge int64
}

// notFoundTTL is how long a "not found" read is trusted: a client that
// keeps sending such a token costs a read a second per node at most.
const notFoundTTL = time.Second

func newGoneIDs(size int, maxAge int64) (*goneIDs, error) {
	c, err := otter.New(&otter.Options[store.ID, int64]{
		MaximumSize: size,
		Executor:    func(fn func()) { fn() }, // as in internal/cache: no goroutine per write
	})
	if err != nil {
		return nil, err
	}
	return &goneIDs{c: c, maxAge: maxAge}, nil
}

func (g *goneIDs) has(id store.ID) bool {
	if g == nil {
		return false
	}
	until, ok := g.c.GetIfPresent(id)
	if ok && until != 0 && mono() >= until {
		g.c.Invalidate(id)
		return false
	}
	return ok
}

// ended remembers IDs whose sessions this node knows were deleted.
func (g *goneIDs) ended(ids ...store.ID) {
	if g == nil {
		return
	}
	for _, id := range ids {
		g.c.Set(id, 0)
	}
}

// notFound remembers an ID a read found no live session for, for maxAge.
func (g *goneIDs) notFound(id store.ID) {
	if g == nil {
		return
	}
	until := mono() + g.maxAge
	g.c.Compute(id, func(old int64, found bool) (int64, otter.ComputeOp) {
		if found && old == 0 {
			return old, otter.CancelOp // already known ended for good
		}
		return until, otter.WriteOp
	})
}

// forget drops id: a read or a write of this node found it live.
func (g *goneIDs) forget(id store.ID) {
	if g != nil {
		g.c.Invalidate(id)
	}
}

func (g *goneIDs) close() {
	if g != nil {
		g.c.InvalidateAll()
		g.c.StopAllGoroutines()
	}
}
