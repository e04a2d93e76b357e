package demo

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/pgsession/pgsession"
)

// Bounds of the counter's compare-and-set loop. Under contention each round
// has one winner, so a request may lose many rounds; the pauses grow
// (with full jitter, so the losers spread out) up to maxPause.
const (
	maxAttempts = 64
	firstPause  = time.Millisecond
	maxPause    = 50 * time.Millisecond
	// writeTimeout bounds each request's database work.
	writeTimeout = 10 * time.Second
)

// errBusy means the counter kept changing under every attempt.
var errBusy = errors.New("the counter is changing too fast; try again")

// writeContext bounds a request's database writes; they run to the end
// even if the client hangs up, so a log out or a +1 is never half done.
func (n *Node) writeContext(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(r.Context()), writeTimeout)
}

// increment adds one to the counter of the request's session and returns
// the new count and the session as the client should now see it.
//
// The count itself is a compare-and-set on the Manager: read the session
// from the database (ForceRefresh: a cached copy could be behind a +1 made
// on the other node), write counter+1 only if the counter has not been
// written since the version read (IfKeysUnchanged), and start over on
// ErrVersionConflict. No increment is lost, from either node.
//
// That write goes around the middleware, whose saves carry no update
// options; the middleware then adopts the written copy, so the client's
// cookie carries its version and the next request, on either node, sees at
// least that count. The same write records which node counted last.
func (n *Node) increment(r *http.Request, cur *pgsession.Session) (int64, *pgsession.Session, error) {
	ctx, cancel := n.writeContext(r)
	defer cancel()
	count, s, err := n.compareAndIncrement(ctx, cur.ID())
	if err != nil {
		return 0, nil, err
	}
	if err := n.mw.Adopt(r, s); err != nil {
		return 0, nil, err
	}
	return count, s, nil
}

// compareAndIncrement is the compare-and-set loop of increment.
func (n *Node) compareAndIncrement(ctx context.Context, id pgsession.ID) (int64, *pgsession.Session, error) {
	pause := firstPause
	for attempt := 1; ; attempt++ {
		s, err := n.m.GetByID(ctx, id, pgsession.ForceRefresh(), pgsession.NoTouch())
		if err != nil {
			return 0, nil, err
		}
		next := pgsession.AttrOr(s, counterKey, int64(0)) + 1
		p := new(pgsession.Patch).Set(counterKey, next).Set(lastNodeKey, n.Name)
		written, err := n.m.Update(ctx, id, p, pgsession.IfKeysUnchanged(s.Version()))
		switch {
		case err == nil:
			return next, written, nil
		case !errors.Is(err, pgsession.ErrVersionConflict):
			return 0, nil, err
		case attempt == maxAttempts:
			return 0, nil, errBusy
		}
		t := time.NewTimer(time.Duration(rand.Int64N(int64(pause))) + time.Millisecond/4)
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, nil, ctx.Err()
		case <-t.C:
		}
		pause = min(2*pause, maxPause)
	}
}
