package pgsession

import (
	"context"
	"sync"
	"time"

	"github.com/pgsession/pgsession/internal/notify"
	"github.com/pgsession/pgsession/internal/store"
)

// announcer tells other nodes about committed updates, after commit, from
// one goroutine per node that coalesces every update made while its last
// NOTIFY was in flight into the next one (DESIGN W3). PostgreSQL serializes
// the commits of transactions that NOTIFY cluster-wide, so updates must not
// NOTIFY in their own transaction; one announcing transaction per round trip
// per node keeps that cost off the write path.
// minFlushGap is the least time between two announcements of one node. A
// node that has not announced for that long sends at once; a busy one
// gathers what arrives meanwhile, so under load each NOTIFY carries many
// ids (every NOTIFY costs the database and every listening node) and latency
// grows by at most this much.
const minFlushGap = 500 * time.Microsecond

type announcer struct {
	send func(ctx context.Context, payloads []string) error
	log  func(msg string, args ...any)
	node string

	mu      sync.Mutex
	pending map[store.ID]int64 // guarded by mu; newest version per session
	wake    chan struct{}      // capacity 1: "pending is not empty"
}

func newAnnouncer(node string, send func(context.Context, []string) error, log func(string, ...any)) *announcer {
	return &announcer{node: node, send: send, log: log, pending: map[store.ID]int64{}, wake: make(chan struct{}, 1)}
}

func (a *announcer) add(id store.ID, version int64) {
	a.mu.Lock()
	if version > a.pending[id] {
		a.pending[id] = version
	}
	a.mu.Unlock()
	a.signal()
}

func (a *announcer) signal() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// run sends announcements until stop closes; a failed send is retried after
// a pause, with whatever arrived meanwhile.
func (a *announcer) run(stop <-chan struct{}) {
	var last time.Time
	for {
		select {
		case <-stop:
			return
		case <-a.wake:
		}
		if gap := time.Since(last); gap < minFlushGap {
			select {
			case <-stop:
				return
			case <-time.After(minFlushGap - gap):
			}
		}
		last = time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := a.flush(ctx)
		cancel()
		if err != nil {
			a.log("pgsession: announcing updates failed; other nodes may serve older copies until it succeeds", "err", err)
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
				a.signal()
			}
		}
	}
}

// flush sends everything pending in one statement. On failure the
// announcements go back to pending.
func (a *announcer) flush(ctx context.Context) error {
	a.mu.Lock()
	batch := a.pending
	if len(batch) == 0 {
		a.mu.Unlock()
		return nil
	}
	a.pending = make(map[store.ID]int64, len(batch))
	a.mu.Unlock()

	e := store.Event{Kind: store.EventUpdated, Node: a.node, IDs: make([]store.ID, 0, len(batch)), Versions: make([]int64, 0, len(batch))}
	for id, v := range batch {
		e.IDs = append(e.IDs, id)
		e.Versions = append(e.Versions, v)
	}
	err := a.send(ctx, notify.Encode(e))
	if err != nil {
		a.mu.Lock()
		for id, v := range batch {
			if v > a.pending[id] {
				a.pending[id] = v
			}
		}
		a.mu.Unlock()
	}
	return err
}
