package pgsession

import (
	"context"
	"sync"
)

// writeGate counts the writes in progress so Close can wait for them before
// it sends the last announcements: an update that commits while Close runs
// is then still announced (DESIGN C7). Once closed it admits no new write.
type writeGate struct {
	mu     sync.Mutex
	n      int           // guarded by mu; writes in progress
	closed bool          // guarded by mu
	idle   chan struct{} // guarded by mu; closed when n reaches 0 after close
}

// enter admits a write; false once the gate is closed. Pair with leave.
func (g *writeGate) enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.n++
	return true
}

func (g *writeGate) leave() {
	g.mu.Lock()
	g.n--
	if g.n == 0 && g.idle != nil {
		close(g.idle)
		g.idle = nil
	}
	g.mu.Unlock()
}

// close admits no more writes and waits, bounded by ctx, for those in
// progress.
func (g *writeGate) close(ctx context.Context) error {
	g.mu.Lock()
	g.closed = true
	if g.n == 0 {
		g.mu.Unlock()
		return nil
	}
	if g.idle == nil {
		g.idle = make(chan struct{})
	}
	idle := g.idle
	g.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
