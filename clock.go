package pgsession

import (
	"sync"
	"sync/atomic"
	"time"
)

// monoBase anchors mono: nanoseconds on the local monotonic clock.
var monoBase = time.Now()

func mono() int64 { return int64(time.Since(monoBase)) }

// coarseTick is how often the coarse clock advances.
const coarseTick = time.Millisecond

// coarse is a reading of mono refreshed every coarseTick by one goroutine
// while any Manager is open, so a cache hit reads an atomic instead of the
// clock (a clock read costs more than the rest of a hit on some VMs). It
// lags the real clock; hits close to a deadline read the real clock.
var coarse struct {
	mu   sync.Mutex
	refs int           // guarded by mu; open Managers
	stop chan struct{} // guarded by mu
	done chan struct{} // guarded by mu
	now  atomic.Int64
}

func coarseNow() int64 { return coarse.now.Load() }

func acquireCoarseClock() {
	coarse.mu.Lock()
	defer coarse.mu.Unlock()
	coarse.refs++
	if coarse.refs > 1 {
		return
	}
	coarse.now.Store(mono())
	stop, done := make(chan struct{}), make(chan struct{})
	coarse.stop, coarse.done = stop, done
	go func() {
		defer close(done)
		t := time.NewTicker(coarseTick)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				coarse.now.Store(mono())
			}
		}
	}()
}

func releaseCoarseClock() {
	coarse.mu.Lock()
	defer coarse.mu.Unlock()
	coarse.refs--
	if coarse.refs == 0 {
		close(coarse.stop)
		<-coarse.done
	}
}
