package pgsession

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/pgsession/pgsession/internal/store"
)

type flakyLog struct {
	mu   sync.Mutex
	down bool
}

func (l *flakyLog) ChangesSince(ctx context.Context, after int64, missing []int64, limit int) ([]store.Change, error) {
	return nil, l.wait(ctx)
}
func (l *flakyLog) ChangesTop(ctx context.Context) (int64, error) { return 0, l.wait(ctx) }
func (l *flakyLog) ChangesAt(ctx context.Context, seqs []int64) ([]store.Change, error) {
	return nil, l.wait(ctx)
}

// wait is one read: it hangs until its deadline while the log is down.
func (l *flakyLog) wait(ctx context.Context) error {
	l.mu.Lock()
	down := l.down
	l.mu.Unlock()
	if down {
		<-ctx.Done() // a partition: the read hangs until its deadline
		return ctx.Err()
	}
	time.Sleep(2 * time.Millisecond) // a read takes a little time
	return nil
}
func (l *flakyLog) ChangesStart(context.Context, time.Duration) (int64, error) { return 0, nil }
func (l *flakyLog) PruneChanges(context.Context, time.Duration, time.Duration) (int, error) {
	return 0, nil
}

// How long after its last successful read does the reader declare itself
// stale? DESIGN C7 says 3 intervals.
func TestChangeReaderGoesStaleWithinThreeIntervals(t *testing.T) {
	const interval = 100 * time.Millisecond
	log := &flakyLog{}
	stale := make(chan time.Time, 1)
	r := &changeReader{log: log, interval: interval, apply: func([]store.Change) {},
		fresh: func(ok bool) {
			if !ok {
				select {
				case stale <- time.Now():
				default:
				}
			}
		},
		warn: func(string, ...any) {}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stop := make(chan struct{})
	defer close(stop)
	go r.run(ctx, stop)
	time.Sleep(3*interval + interval/2)
	log.mu.Lock()
	log.down = true
	log.mu.Unlock()
	// the last successful read began at the last tick before this
	cut := time.Now()
	at := <-stale
	t.Logf("partition at %v after the last successful read; stale declared %v later (%.1f intervals)",
		interval/2, at.Sub(cut), float64(at.Sub(cut)+interval/2)/float64(interval))
	if at.Sub(cut)+interval/2 > 3*interval+interval/2 {
		t.Errorf("stale only %.1f intervals after the last successful read", float64(at.Sub(cut)+interval/2)/float64(interval))
	}
}

// lateLog is a change log whose placement takes a while, after which one
// more read succeeds and then it is partitioned: the reader's last good
// read began well after it was due.
type lateLog struct {
	flakyLog
	delay  time.Duration
	placed chan time.Time // when ChangesStart was asked: about when the read was due
}

func (l *lateLog) ChangesStart(context.Context, time.Duration) (int64, error) {
	l.placed <- time.Now()
	time.Sleep(l.delay)
	return 0, nil
}

func (l *lateLog) ChangesTop(ctx context.Context) (int64, error) {
	l.mu.Lock()
	down := l.down
	l.down = true // the read after this one hangs
	l.mu.Unlock()
	if down {
		<-ctx.Done()
		return 0, ctx.Err()
	}
	return 0, nil
}

// A good read that began late (here behind a slow placement of the cursor)
// does not put off the verdict: the bound counts from when it was due.
func TestChangeReaderStaleBoundCountsFromWhenTheReadWasDue(t *testing.T) {
	const interval = 100 * time.Millisecond
	log := &lateLog{delay: 6 * interval / 10, placed: make(chan time.Time, 1)}
	stale := make(chan time.Time, 1)
	r := &changeReader{log: log, interval: interval, apply: func([]store.Change) {},
		fresh: func(ok bool) {
			if !ok {
				select {
				case stale <- time.Now():
				default:
				}
			}
		},
		warn: func(string, ...any) {}}
	r.restart.Store(true) // the first tick places the cursor, slowly, then reads once
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stop := make(chan struct{})
	defer close(stop)
	go r.run(ctx, stop)
	due := <-log.placed
	at := <-stale
	if took := at.Sub(due); took > 3*interval+interval/2 {
		t.Errorf("stale %.1f intervals after the last good read was due; the bound is 3", float64(took)/float64(interval))
	}
}
