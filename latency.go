package pgsession

import (
	"sort"
	"sync/atomic"
	"time"
)

// The operations whose database time Stats.OpLatency reports, and their
// names there (and in the Prometheus exporter's "op" label).
const (
	opGet = iota
	opCreate
	opUpdate
	opRenew
	opDelete
	opDeleteUser
	opDeleteAll
	opSweepBatch
	numOps
)

var opNames = [numOps]string{"get", "create", "update", "renew", "delete", "delete_user", "delete_all", "sweep_batch"}

// latencyBounds are the histograms' bucket bounds: from 100 µs, about one
// loopback round trip, to 2.5 s, past which a timeout says more than a
// bucket would.
var latencyBounds = [...]time.Duration{
	100 * time.Microsecond, 250 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond,
	10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2500 * time.Millisecond,
}

// LatencyHistogram is how long one kind of database operation took on this
// node, successful or not: the time of the backend call alone, without the
// cache or the caller's waiting for a connection slot elsewhere.
type LatencyHistogram struct {
	Count uint64
	Sum   time.Duration
	// Buckets count the operations that took at most each UpperBound, in
	// increasing order and cumulative, as Prometheus histograms are; Count
	// also holds those past the last bound.
	Buckets []LatencyBucket
}

// LatencyBucket is one bucket of a LatencyHistogram.
type LatencyBucket struct {
	UpperBound time.Duration
	Count      uint64
}

// latency is one operation's histogram, updated without locks.
type latency struct {
	counts [len(latencyBounds) + 1]atomic.Uint64 // the last: past every bound
	sum    atomic.Int64
}

func (l *latency) observe(d time.Duration) {
	i := sort.Search(len(latencyBounds), func(i int) bool { return d <= latencyBounds[i] })
	l.counts[i].Add(1)
	l.sum.Add(int64(d))
}

func (l *latency) snapshot() LatencyHistogram {
	h := LatencyHistogram{Buckets: make([]LatencyBucket, len(latencyBounds))}
	for i, bound := range latencyBounds {
		h.Count += l.counts[i].Load()
		h.Buckets[i] = LatencyBucket{UpperBound: bound, Count: h.Count}
	}
	h.Count += l.counts[len(latencyBounds)].Load()
	h.Sum = time.Duration(l.sum.Load())
	return h
}

// timed records how long an operation that started at start (mono) took.
func (m *Manager) timed(op int, start int64) {
	m.stats.latency[op].observe(time.Duration(mono() - start))
}
