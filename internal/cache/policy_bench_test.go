package cache_test

import (
	"crypto/sha256"
	"encoding/binary"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/maypok86/otter/v2"

	"github.com/pgsession/pgsession/internal/cache"
	"github.com/pgsession/pgsession/internal/store"
)

// BenchmarkEvictionPolicies backs the package comment's choice of otter
// (W-TinyLFU, lock-free reads) over a mutex-guarded LRU
// (hashicorp/golang-lru/v2). Each sub-benchmark runs every candidate on the
// same key sequence in alternating slices, so a noisy machine weighs on all
// of them alike, and reports for each its time per lookup and hit ratio,
// and otter's time as a fraction of the LRU's. A miss is followed by a set,
// as a read-through cache does.
//
//   - zipf: keys drawn from a Zipf distribution (s = 1.01) over 100,000
//     keys, in a cache of 10,000: the policy's choice of what to keep shows
//     in the hit ratio.
//   - uniform-hits: keys uniform over 5,000 keys, all cached: the hit path
//     alone.
//
// Candidates: "otter" as plainly configured (size bound only); "otter-exp"
// with an expiry after write, which pgsession's cache sets (the safety-net
// maximum age) and which makes every read take the time; "lru"; and
// "pgsession", internal/cache itself (otter with weigher and expiry, behind
// its enabled switch; a miss goes through Begin and Fill).
//
//	go test -run '^$' -bench EvictionPolicies ./internal/cache
func BenchmarkEvictionPolicies(b *testing.B) {
	const (
		keys     = 100_000
		capacity = 10_000
		resident = capacity / 2
	)
	ids := make([]store.ID, keys)
	vals := make([]*snap, keys)
	for i := range ids {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(i))
		ids[i] = sha256.Sum256(n[:]) // spread like real session IDs
		vals[i] = &snap{v: 1}
	}
	r := rand.New(rand.NewPCG(1, 2))
	zipf := rand.NewZipf(r, 1.01, 1, keys-1)
	workloads := []struct {
		name  string
		trace []int32
		load  int // keys set before the warm-up
		warm  int // untimed lookups before the first timed slice
	}{
		{name: "zipf", trace: makeTrace(func() int { return int(zipf.Uint64()) }), warm: 1 << 17},
		{name: "uniform-hits", trace: makeTrace(func() int { return r.IntN(resident) }), load: resident, warm: 2 * resident},
	}
	for _, w := range workloads {
		for _, g := range []int{1, 16} {
			name := w.name + "/1-goroutine"
			if g > 1 {
				name = w.name + "/16-goroutines"
			}
			b.Run(name, func(b *testing.B) {
				cands := candidates(b, capacity)
				for _, c := range cands {
					for k := range w.load {
						c.set(ids[k], vals[k])
					}
				}
				runPolicies(b, cands, w.trace, w.warm, g, ids, vals)
			})
		}
	}
}

const (
	traceLen    = 1 << 20
	policySlice = 4096 // lookups per goroutine per candidate per slice
)

func makeTrace(next func() int) []int32 {
	t := make([]int32, traceLen)
	for i := range t {
		t[i] = int32(next())
	}
	return t
}

// candidate is one cache behind the same two calls.
type candidate struct {
	name string
	get  func(store.ID) (*snap, bool)
	set  func(store.ID, *snap)

	hits, misses atomic.Int64
	spent        time.Duration
	pos          int // next trace position, 1-goroutine runs
}

func candidates(b *testing.B, capacity int) []*candidate {
	plain := otter.Must(&otter.Options[store.ID, *snap]{MaximumSize: capacity})
	exp := otter.Must(&otter.Options[store.ID, *snap]{
		MaximumSize:      capacity,
		ExpiryCalculator: otter.ExpiryWriting[store.ID, *snap](time.Minute),
	})
	l, err := lru.New[store.ID, *snap](capacity)
	if err != nil {
		b.Fatal(err)
	}
	pc, err := cache.New(cache.Options[*snap]{
		MaxEntries: capacity, MaxBytes: int64(capacity) * 1000,
		Version: func(s *snap) int64 { return s.v }, Bytes: func(*snap) int { return 1000 },
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		plain.StopAllGoroutines()
		exp.StopAllGoroutines()
		pc.Close()
	})
	return []*candidate{
		{name: "otter", get: plain.GetIfPresent, set: func(k store.ID, v *snap) { plain.Set(k, v) }},
		{name: "otter-exp", get: exp.GetIfPresent, set: func(k store.ID, v *snap) { exp.Set(k, v) }},
		{name: "lru", get: l.Get, set: func(k store.ID, v *snap) { l.Add(k, v) }},
		{name: "pgsession", get: pc.Get, set: func(k store.ID, v *snap) { pc.Fill(pc.Begin(k), v) }},
	}
}

// lookups runs n lookups from trace position at, with a set after each miss.
func (c *candidate) lookups(trace []int32, at, n int, ids []store.ID, vals []*snap) {
	var hits, misses int64
	for i := range n {
		k := trace[(at+i)&(traceLen-1)]
		if _, ok := c.get(ids[k]); ok {
			hits++
		} else {
			misses++
			c.set(ids[k], vals[k])
		}
	}
	c.hits.Add(hits)
	c.misses.Add(misses)
}

// runPolicies warms every candidate with warm lookups from the end of the
// trace (the timed slices start at its beginning), then for each b.Loop
// iteration runs one slice of every candidate, rotating which goes first:
// policySlice lookups on one goroutine, or on each of g goroutines (each
// from its own place in the trace) started together.
func runPolicies(b *testing.B, cands []*candidate, trace []int32, warm, g int, ids []store.ID, vals []*snap) {
	for _, c := range cands {
		c.lookups(trace, traceLen-warm, warm, ids, vals)
		c.hits.Store(0)
		c.misses.Store(0)
	}
	slice := func(c *candidate) time.Duration {
		if g == 1 {
			t0 := time.Now()
			c.lookups(trace, c.pos, policySlice, ids, vals)
			c.pos += policySlice
			return time.Since(t0)
		}
		var ready, done sync.WaitGroup
		start := make(chan struct{})
		ready.Add(g)
		done.Add(g)
		for w := range g {
			at := c.pos + w*(traceLen/g)
			go func() {
				defer done.Done()
				ready.Done()
				<-start
				c.lookups(trace, at, policySlice, ids, vals)
			}()
		}
		ready.Wait()
		t0 := time.Now()
		close(start)
		done.Wait()
		c.pos += policySlice
		return time.Since(t0)
	}
	n := 0
	for b.Loop() {
		for j := range cands {
			c := cands[(n+j)%len(cands)]
			c.spent += slice(c)
		}
		n++
	}
	lookups := float64(n * policySlice * g)
	nsOf := func(c *candidate) float64 { return float64(c.spent.Nanoseconds()) / lookups }
	var otterNs, lruNs float64
	for _, c := range cands {
		ns := nsOf(c)
		b.ReportMetric(ns, c.name+"-ns/op")
		b.ReportMetric(float64(c.hits.Load())/float64(c.hits.Load()+c.misses.Load()), c.name+"-hit-ratio")
		switch c.name {
		case "otter":
			otterNs = ns
		case "lru":
			lruNs = ns
		}
	}
	b.ReportMetric(otterNs/lruNs, "otter/lru")
	// The built-in ns/op would count every candidate's slice together.
	b.ReportMetric(otterNs, "ns/op")
	if g > 1 && runtime.GOMAXPROCS(0) == 1 {
		b.Log("GOMAXPROCS is 1: the 16 goroutines never run at once")
	}
}
