package pgsession

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
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
//
// Announcements are spaced by a gap that adapts to load. A node that has
// not announced for the current gap sends at once, so a lone update reaches
// other nodes in one round trip; a busy one gathers what arrives meanwhile,
// and every NOTIFY costs the database and each listening node a wake-up,
// whatever it carries. The gap doubles while flushes carry several ids and
// halves when one carries a single id: between minFlushGap, which keeps
// a trickle of updates near-instant, and maxFlushGap, which bounds the
// extra latency under load well inside the staleness bound. Measured with
// BenchmarkUpdateThroughput (16 workers, 3 nodes), against the same write
// without any NOTIFY: a 4 ms bound kept 0.72-0.79 of its throughput, 6 ms
// 0.84, 8 ms 0.87-0.90; past that the gain flattens while latency grows.
//
// The price: a node making updates faster than about one per maxFlushGap
// (125 a second) for a while keeps the gap at its bound, and each of its
// updates reaches the other nodes up to 8 ms later than it would alone.
// That is a budget of at most 125 NOTIFYs a second per node, whatever the
// load. Clients do not see it on their own requests: the version in their
// token makes any node reload a copy older than what they wrote (C3).
const (
	minFlushGap = 500 * time.Microsecond
	maxFlushGap = 8 * time.Millisecond
	pushMaxRows = 4 // the most rows one announcement pushes (see payloads)
)

// nextFlushGap is the gap after a flush of n ids that followed gap.
func nextFlushGap(gap time.Duration, n int) time.Duration {
	switch {
	case n > 1:
		return min(2*gap, maxFlushGap)
	case n == 1:
		return max(gap/2, minFlushGap)
	}
	return gap
}

type announcer struct {
	send     func(ctx context.Context, payloads []string) error
	log      func(msg string, args ...any)
	instance string // this Manager's instance name, carried in its payloads
	events   bool   // session events on: updates also carry their owner and keys

	mu      sync.Mutex
	pending map[store.ID]pendingCopy // guarded by mu; newest version per session
	wake    chan struct{}            // capacity 1: "pending is not empty"
	sent    atomic.Uint64            // statements sent
}

// pendingCopy is the newest version of a session waiting to be announced,
// with the row the update returned (nil when the version is all there is).
// With events on, keys gathers what every update coalesced into it wrote
// (nil for an invalidation hint: a conflict or a lost reply). logged names
// the change-log rows the announcement covers: other nodes then need not
// fetch them (DESIGN C7).
type pendingCopy struct {
	version int64
	rec     *store.Record
	keys    []string
	logged  []int64 // the change-log rows of the updates coalesced into it
}

func newAnnouncer(instance string, send func(context.Context, []string) error, log func(string, ...any)) *announcer {
	return &announcer{instance: instance, send: send, log: log, pending: map[store.ID]pendingCopy{}, wake: make(chan struct{}, 1)}
}

// add queues version of id for the next announcement; rec, if not nil, is
// the row at that version, pushed to the other nodes when it fits (C9);
// keys are what the update wrote (nil for a hint).
func (a *announcer) add(id store.ID, version int64, rec *store.Record, keys []string) {
	a.mu.Lock()
	p := a.pending[id]
	if version > p.version {
		p.version, p.rec = version, rec
	}
	if a.events && keys != nil {
		p.keys = union(p.keys, keys)
	}
	if rec != nil && rec.ChangeSeq > 0 {
		p.logged = append(p.logged, rec.ChangeSeq)
	}
	a.pending[id] = p
	a.mu.Unlock()
	a.signal()
}

// union adds to keys the ones of more it lacks.
func union(keys, more []string) []string {
	if keys == nil {
		return append([]string{}, more...)
	}
	for _, k := range more {
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	return keys
}

func (a *announcer) signal() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// run sends announcements until stop closes; a failed send is retried after
// a pause, with whatever arrived meanwhile. ctx ends a send in progress when
// the Manager closes (what it carried goes back to pending for Close).
func (a *announcer) run(ctx context.Context, stop <-chan struct{}) {
	var last time.Time
	gap := minFlushGap
	for {
		select {
		case <-stop:
			return
		case <-a.wake:
		}
		if wait := gap - time.Since(last); wait > 0 {
			select {
			case <-stop:
				return
			case <-time.After(wait):
			}
		}
		last = time.Now()
		fctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		n, err := a.flush(fctx)
		cancel()
		gap = nextFlushGap(gap, n)
		if err != nil && ctx.Err() == nil {
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

// flush sends everything pending in one statement and says how many
// sessions it announced. On failure the announcements go back to pending.
func (a *announcer) flush(ctx context.Context) (int, error) {
	a.mu.Lock()
	batch := a.pending
	if len(batch) == 0 {
		a.mu.Unlock()
		return 0, nil
	}
	a.pending = make(map[store.ID]pendingCopy, len(batch))
	a.mu.Unlock()

	err := a.send(ctx, a.payloads(batch))
	if err == nil {
		a.sent.Add(1)
	} else {
		a.mu.Lock()
		for id, p := range batch {
			q := a.pending[id]
			if p.version > q.version {
				q.version, q.rec = p.version, p.rec
			}
			if p.keys != nil {
				q.keys = union(q.keys, p.keys)
			}
			q.logged = append(q.logged, p.logged...)
			a.pending[id] = q
		}
		a.mu.Unlock()
	}
	return len(batch), err
}

// payloads encodes a batch: the rows themselves when there are at most
// pushMaxRows, every one is known and all fit in one notification, which a
// quiet node's lone updates do; otherwise the versions alone. A busy node
// batches anyway, so its updates already wait for the gap, and a push of
// every batch would cost every listening node the decoding of rows it
// mostly does not hold: measured with BenchmarkUpdateThroughput (3 nodes,
// 16 workers, batches of about 14), pushing every batch kept 0.65-0.68 of
// the throughput with announcements off, against 0.77-0.80 without pushes.
//
// With events on, the rows carry the keys written, and without rows the
// updates go in the "e" form with owners and keys; hints stay "u".
func (a *announcer) payloads(batch map[store.ID]pendingCopy) []string {
	return append(a.updatePayloads(batch), a.loggedPayloads(batch)...)
}

// loggedPayloads names the change-log rows of the batch's updates. They go
// last, in the same transaction as the updates they cover, so a node that
// reads them has applied those updates already.
func (a *announcer) loggedPayloads(batch map[store.ID]pendingCopy) []string {
	e := store.Event{Kind: store.EventLogged, Instance: a.instance}
	for _, p := range batch {
		e.Logged = append(e.Logged, p.logged...)
	}
	if len(e.Logged) == 0 {
		return nil
	}
	return notify.Encode(e)
}

// updatePayloads encodes the batch's updates themselves.
func (a *announcer) updatePayloads(batch map[store.ID]pendingCopy) []string {
	if recs, keys, ok := a.pushable(batch); ok {
		if payload, ok := notify.EncodePush(a.instance, recs, keys); ok {
			return []string{payload}
		}
	}
	hints := store.Event{Kind: store.EventUpdated, Instance: a.instance}
	updates := store.Event{Kind: store.EventUpdated, Instance: a.instance, Keys: [][]string{}}
	for id, p := range batch {
		e := &hints
		if a.events && p.keys != nil {
			e = &updates
			user := ""
			if p.rec != nil {
				user = p.rec.UserID
			}
			e.Users, e.Keys = append(e.Users, user), append(e.Keys, p.keys)
		}
		e.IDs = append(e.IDs, id)
		e.Versions = append(e.Versions, p.version)
	}
	var out []string
	for _, e := range []store.Event{hints, updates} {
		if len(e.IDs) > 0 {
			out = append(out, notify.Encode(e)...)
		}
	}
	return out
}

// pushable returns the rows of a batch small enough to push whose rows are
// all known, with their keys when events are on, or false.
func (a *announcer) pushable(batch map[store.ID]pendingCopy) ([]*store.Record, [][]string, bool) {
	if len(batch) > pushMaxRows {
		return nil, nil, false
	}
	recs := make([]*store.Record, 0, len(batch))
	var keys [][]string
	for _, p := range batch {
		if p.rec == nil || p.rec.Version != p.version || a.events && p.keys == nil {
			return nil, nil, false
		}
		recs = append(recs, p.rec)
		if a.events {
			keys = append(keys, p.keys)
		}
	}
	return recs, keys, true
}
