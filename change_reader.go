package pgsession

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pgsession/pgsession/internal/store"
)

// The change log's timing (DESIGN C7).
const (
	// changeLag is how long an update may take between taking its sequence
	// number and committing before a reader stops waiting for it; a reader
	// that starts, or starts again after a reconnect, re-reads this much.
	changeLag = 10 * time.Second
	// changeRetention is how long log rows are kept: well past the lag, so
	// no reader that is still trusted can miss a row before it is read.
	changeRetention = time.Minute
	// changePruneEvery is how often, across the nodes, old rows are deleted.
	changePruneEvery = 30 * time.Second
	// changeBatch is the most rows one read returns; a full batch is
	// followed by another read at once.
	changeBatch = 5000
	// changeStaleAfter is how many intervals without a successful read make
	// the node stop serving from its cache.
	changeStaleAfter = 3
	// maxHeard bounds the rows a reader remembers as announced ahead of its
	// cursor; past it the rest are fetched like any other.
	maxHeard = 100000
	// denseRange is the span of new numbers past which a reader that heard
	// less than half of them reads the range rather than each number.
	denseRange = 64
)

// changeReader reads the change log every interval and invalidates what it
// finds, so an update whose announcement never came reaches this node
// within about one interval. While it cannot read for changeStaleAfter
// intervals, it tells the node to stop trusting its cache.
type changeReader struct {
	log      store.ChangeLog
	interval time.Duration
	apply    func([]store.Change)
	fresh    func(bool) // whether reads are keeping up
	warn     func(msg string, args ...any)

	restart atomic.Bool // start again from the log's current end: set after a reconnect
	cursor  changeCursor

	mu       sync.Mutex
	heard    map[int64]struct{} // guarded by mu; rows past the cursor known announced, or this node's own
	placed   uint64             // guarded by mu; how many times the cursor was placed
	lastRead time.Time          // when the last complete read was due (at most when it began): what it saw is at least that fresh
	reads    atomic.Uint64
	rows     atomic.Uint64
}

// start places the cursor and reads once, so the node trusts its cache from
// the first request.
func (r *changeReader) start(ctx context.Context) error {
	if err := r.place(ctx); err != nil {
		return err
	}
	return r.read(ctx)
}

func (r *changeReader) place(ctx context.Context) error {
	seq, err := r.log.ChangesStart(ctx, changeLag)
	if err != nil {
		return err
	}
	r.cursor.reset(seq)
	r.mu.Lock()
	r.heard = nil // numbers heard before may name other rows now: a crash restarts them
	r.placed++
	r.mu.Unlock()
	return nil
}

// placement names the current placement of the cursor, for hearOwn.
func (r *changeReader) placement() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.placed
}

// hearOwn records the row of this node's own update, whose statement was
// sent during placement p; it is ignored if the cursor was placed again
// since. An update that committed before a server crash may return its
// number only after the reader has placed its cursor past the crash, where
// the same number names another node's row, which must still be fetched.
func (r *changeReader) hearOwn(p uint64, seq int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.placed == p {
		r.addHeard(seq)
	}
}

// hear records rows this node needs not fetch: their updates were announced
// to it (the "s" form, read after the updates it covers). Its own updates'
// rows go through hearOwn.
func (r *changeReader) hear(seqs ...int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.addHeard(seqs...)
}

// addHeard is hear with mu held.
func (r *changeReader) addHeard(seqs ...int64) {
	if r.heard == nil {
		r.heard = map[int64]struct{}{}
	}
	for _, seq := range seqs {
		if len(r.heard) >= maxHeard {
			return
		}
		r.heard[seq] = struct{}{}
	}
}

// takeHeard returns what was heard since the last read and starts afresh.
func (r *changeReader) takeHeard() map[int64]struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	h := r.heard
	r.heard = nil
	if h == nil {
		h = map[int64]struct{}{}
	}
	return h
}

// read learns the log's highest row and fetches only the rows up to it that
// this node has not heard announced, and the gaps it still waits for: with
// every update announced, about none. When more than a batch, or most of
// more than denseRange, are unheard (updates made with announcements off,
// or a reader just started), it reads the whole range instead.
func (r *changeReader) read(ctx context.Context) error {
	began := time.Now()
	top, err := r.log.ChangesTop(ctx)
	if err != nil {
		return err
	}
	r.reads.Add(1)
	heard := r.takeHeard()
	defer func() { r.keepHeard(heard) }()
	want, ok := r.unheard(heard, top)
	if !ok {
		return r.readRange(ctx, began)
	}
	var rows []store.Change
	if len(want) > 0 {
		if rows, err = r.log.ChangesAt(ctx, want); err != nil {
			return err
		}
		r.reads.Add(1)
		r.rows.Add(uint64(len(rows)))
		if len(rows) > 0 {
			r.apply(rows)
		}
	}
	r.cursor.settle(want, rows, top, time.Now(), changeLag)
	r.lastRead = began
	return nil
}

// unheard lists the gaps and the rows past the cursor up to top that are
// not in heard, and drops from heard and the gaps what the cursor has
// passed; false when they are more than one batch.
func (r *changeReader) unheard(heard map[int64]struct{}, top int64) ([]int64, bool) {
	for seq := range heard {
		if seq <= r.cursor.high {
			delete(r.cursor.missing, seq)
			delete(heard, seq)
		}
	}
	want := r.cursor.missingList()
	gaps := len(want)
	for seq := r.cursor.high + 1; seq <= top; seq++ {
		if _, ok := heard[seq]; !ok {
			if len(want) >= changeBatch {
				return nil, false
			}
			want = append(want, seq)
		}
	}
	// Mostly unheard (announcements off): one index range costs the server
	// less than a lookup per number.
	if span, unheard := top-r.cursor.high, len(want)-gaps; span > denseRange && int64(unheard) > span/2 {
		return nil, false
	}
	return want, true
}

// keepHeard puts back what is still ahead of the cursor, with whatever was
// heard meanwhile.
func (r *changeReader) keepHeard(heard map[int64]struct{}) {
	var ahead []int64
	for seq := range heard {
		if seq > r.cursor.high {
			ahead = append(ahead, seq)
		}
	}
	r.hear(ahead...)
}

// readRange reads every row past the cursor and applies it.
func (r *changeReader) readRange(ctx context.Context, began time.Time) error {
	for {
		rows, err := r.log.ChangesSince(ctx, r.cursor.high, r.cursor.missingList(), changeBatch)
		if err != nil {
			return err
		}
		r.reads.Add(1)
		r.rows.Add(uint64(len(rows)))
		if len(rows) > 0 {
			r.apply(rows)
		}
		r.cursor.advance(rows, time.Now(), changeLag)
		if len(rows) < changeBatch {
			r.lastRead = began
			return nil
		}
	}
}

// run reads every interval until stop closes. Each attempt may take one
// interval; the node stops trusting its cache once the last complete read
// began more than changeStaleAfter intervals ago, checked after every
// attempt, so within about that many intervals of losing the log.
func (r *changeReader) run(ctx context.Context, stop <-chan struct{}) {
	tick := time.NewTicker(r.interval)
	defer tick.Stop()
	for {
		var due time.Time
		select {
		case <-stop:
			return
		case due = <-tick.C:
		}
		rctx, cancel := context.WithTimeout(ctx, r.interval)
		err := r.step(rctx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return
		case err == nil:
			// Freshness counts from when the read was due, not from when a
			// busy machine began it: a successful read begun late, followed
			// by failing ones begun on time, would otherwise put off the
			// verdict by a whole interval.
			r.lastRead = due
			r.fresh(true)
		case time.Since(r.lastRead) > changeStaleAfter*r.interval:
			r.fresh(false)
			r.warn("pgsession: cannot read the change log; serving from the database until it can", "err", err)
		}
	}
}

// step reads once, placing the cursor first after a reconnect.
func (r *changeReader) step(ctx context.Context) error {
	if r.restart.Swap(false) {
		if err := r.place(ctx); err != nil {
			r.restart.Store(true)
			return err
		}
	}
	return r.read(ctx)
}

// pruneChanges deletes old log rows if no node did in the last
// changePruneEvery, within ctx; a failure is logged unless life (the
// Manager's context) has ended.
func pruneChanges(ctx, life context.Context, log store.ChangeLog, warn func(string, ...any)) {
	if _, err := log.PruneChanges(ctx, changePruneEvery, changeRetention); err != nil && life.Err() == nil {
		warn("pgsession: pruning the change log failed", "err", err)
	}
}

// runChangePruner prunes the change log every changePruneEvery, on its own
// goroutine so a slow delete never holds up the reads (every node runs it;
// the lease lets one of them delete each time). Every update writes its
// row whatever the nodes' ChangePollInterval, so every node prunes.
func runChangePruner(ctx context.Context, stop <-chan struct{}, log store.ChangeLog, warn func(string, ...any)) {
	tick := time.NewTicker(changePruneEvery)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			pctx, cancel := context.WithTimeout(ctx, changePruneEvery/2)
			pruneChanges(pctx, ctx, log, warn)
			cancel()
		}
	}
}
