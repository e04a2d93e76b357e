package pgsession

import (
	"github.com/maypok86/otter/v2"

	"github.com/pgsession/pgsession/internal/store"
)

// goneIDs remembers IDs known to name no live session: deleted, renewed
// away, expired, or never issued. Such an ID never names a live session
// again (an ID is the hash of a fresh random secret, and nothing revives a
// session), so a client that keeps sending a dead token costs the database
// one read, not one per request. Bounded by count; W-TinyLFU admission
// keeps the IDs that come back often over a flood of one-off ones.
type goneIDs struct {
	c *otter.Cache[store.ID, struct{}]
}

func newGoneIDs(size int) (*goneIDs, error) {
	c, err := otter.New(&otter.Options[store.ID, struct{}]{
		MaximumSize: size,
		Executor:    func(fn func()) { fn() }, // as in internal/cache: no goroutine per write
	})
	if err != nil {
		return nil, err
	}
	return &goneIDs{c: c}, nil
}

func (g *goneIDs) has(id store.ID) bool {
	if g == nil {
		return false
	}
	_, ok := g.c.GetIfPresent(id)
	return ok
}

func (g *goneIDs) add(ids ...store.ID) {
	if g == nil {
		return
	}
	for _, id := range ids {
		g.c.Set(id, struct{}{})
	}
}

// forget drops id: this node has just created a session with it (only
// CreateWithToken can reuse an ID, and only with a token a client never
// held).
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
