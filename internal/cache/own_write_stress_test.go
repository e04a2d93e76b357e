package cache_test

import (
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pgsession/pgsession/internal/cache"
)

// A node never serves a copy older than its own write returned (DESIGN
// C6), whatever races the write: other nodes' pushed rows and
// invalidations, this node's loads, drops by user, and the evictions of a
// cache far too small. Each hot key has a version counter standing for the
// database row: a write commits by taking the next version, a load reads
// the counter after taking its ticket. The local writer reads back after
// every write, as the history test's workers do.
func TestOwnWriteSurvivesEveryRaceOnTheCache(t *testing.T) {
	c := newCache(t, 16, 16*64)
	const hot = 4
	var committed [hot]atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	var violations, writes atomic.Int64
	var firstBad atomic.Value
	pause := func(r *rand.Rand) {
		for range r.IntN(3) {
			runtime.Gosched()
		}
	}
	u := func(v int64) *snap { return &snap{v: v, user: "u", size: 64} }
	for k := range hot {
		wg.Go(func() { // this node's writer
			r := rand.New(rand.NewPCG(uint64(k), 1))
			id := key(k)
			for !stop.Load() {
				tk := c.Begin(id)
				pause(r)
				v := committed[k].Add(1)
				pause(r)
				out := c.Fill(tk, u(v))
				writes.Add(1)
				if got, ok := c.Get(id); ok && got.v < v {
					violations.Add(1)
					firstBad.CompareAndSwap(nil, [3]int64{v, got.v, int64(out)})
				}
			}
		})
		wg.Go(func() { // another node's writer, heard through the listener
			r := rand.New(rand.NewPCG(uint64(k), 2))
			id := key(k)
			for !stop.Load() {
				v := committed[k].Add(1)
				pause(r)
				if r.IntN(2) == 0 {
					c.Advance(id, u(v))
				} else {
					c.Invalidate(id, v)
				}
			}
		})
	}
	wg.Go(func() { // this node's loads
		r := rand.New(rand.NewPCG(3, 3))
		for !stop.Load() {
			k := r.IntN(hot)
			tk := c.Begin(key(k))
			v := committed[k].Load()
			pause(r)
			c.Fill(tk, u(v))
		}
	})
	wg.Go(func() { // drops by user, and other sessions filling the cache
		r := rand.New(rand.NewPCG(4, 4))
		for !stop.Load() {
			if r.IntN(50) == 0 {
				c.DropWhere(func(s *snap) bool { return s.user == "u" })
			}
			fill(c, key(1000+r.IntN(200)), &snap{v: 1, user: "other", size: 64})
		}
	})
	wg.Go(func() { // the listener lost and back (C1), deletions and hints of unknown versions
		r := rand.New(rand.NewPCG(5, 5))
		for !stop.Load() {
			switch r.IntN(40) {
			case 0:
				c.SetEnabled(false)
				pause(r)
				c.DropAll()
				c.SetEnabled(true)
			case 1:
				c.DropAll()
			case 2:
				c.Invalidate(key(r.IntN(hot)), cache.Deleted) // a lost reply's hint
			default:
				runtime.Gosched()
			}
		}
	})
	time.Sleep(2 * time.Second)
	stop.Store(true)
	wg.Wait()
	if n := violations.Load(); n > 0 {
		b := firstBad.Load().([3]int64)
		t.Fatalf("%d of %d reads older than the reader's own write; first: wrote v%d (fill outcome %d), read v%d",
			n, writes.Load(), b[0], b[2], b[1])
	}
	t.Logf("%d writes read back", writes.Load())
}
