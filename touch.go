package pgsession

import (
	"bytes"
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/pgsession/pgsession/internal/store"
)

// toucher gathers last-access times in memory and writes them in batches,
// one statement per batch per flush interval (DESIGN M1). A session already
// written within the granularity is not recorded again, so a busy session
// costs one write per granularity per node.
type toucher struct {
	backend     store.Backend
	interval    time.Duration
	granularity time.Duration
	batch       int
	log         func(msg string, args ...any)

	mu      sync.Mutex
	pending map[store.ID]time.Time // guarded by mu; last access (monotonic) not yet written
	written map[store.ID]time.Time // guarded by mu; when each id was last written
}

func newToucher(b store.Backend, cfg Config) *toucher {
	return &toucher{
		backend: b, interval: cfg.TouchInterval, granularity: cfg.TouchGranularity,
		batch: cfg.TouchBatchSize, log: cfg.Logger.Warn,
		pending: map[store.ID]time.Time{}, written: map[store.ID]time.Time{},
	}
}

// record notes an access; it costs one map write and no I/O.
func (t *toucher) record(id store.ID) {
	if t.interval <= 0 {
		return
	}
	now := time.Now()
	t.mu.Lock()
	if w, ok := t.written[id]; !ok || now.Sub(w) >= t.granularity {
		t.pending[id] = now
	}
	t.mu.Unlock()
}

// forget drops an id that no longer exists (deleted or renewed).
func (t *toucher) forget(id store.ID) {
	t.mu.Lock()
	delete(t.pending, id)
	delete(t.written, id)
	t.mu.Unlock()
}

// run flushes every interval until stop closes; ctx ends a flush in
// progress when the Manager closes, so Close is not held up by a database
// that does not answer (Close then flushes with its own deadline).
func (t *toucher) run(ctx context.Context, stop <-chan struct{}) {
	tick := time.NewTicker(t.interval)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			fctx, cancel := context.WithTimeout(ctx, max(t.interval, 5*time.Second))
			if err := t.flush(fctx); err != nil && ctx.Err() == nil {
				t.log("pgsession: touch flush failed; will retry", "err", err)
			}
			cancel()
		}
	}
}

// flush writes every pending access. What fails to be written goes back to
// pending (unless a newer access replaced it) for the next flush.
func (t *toucher) flush(ctx context.Context) error {
	t.mu.Lock()
	pending := t.pending
	t.pending = make(map[store.ID]time.Time, len(pending))
	now := time.Now()
	for id, w := range t.written {
		if now.Sub(w) >= t.granularity {
			delete(t.written, id)
		}
	}
	t.mu.Unlock()
	if len(pending) == 0 {
		return nil
	}
	// In id order: two nodes flushing overlapping batches then lock their
	// rows in the same order, and neither waits for the other in a cycle
	// (PostgreSQL would end one flush with a deadlock error).
	ids := slices.SortedFunc(maps.Keys(pending), func(a, b store.ID) int { return bytes.Compare(a[:], b[:]) })
	batch := make([]store.Touch, 0, min(len(pending), t.batch))
	var firstErr error
	send := func() {
		if len(batch) == 0 {
			return
		}
		err := t.backend.Touch(ctx, batch, t.granularity)
		t.mu.Lock()
		for _, tc := range batch {
			if err == nil {
				t.written[tc.ID] = now
			} else if _, newer := t.pending[tc.ID]; !newer {
				t.pending[tc.ID] = now.Add(-tc.Ago)
			}
		}
		t.mu.Unlock()
		if err != nil && firstErr == nil {
			firstErr = err
		}
		batch = batch[:0]
	}
	for _, id := range ids {
		batch = append(batch, store.Touch{ID: id, Ago: now.Sub(pending[id])})
		if len(batch) == t.batch {
			send()
		}
	}
	send()
	return firstErr
}
