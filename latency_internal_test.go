package pgsession

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A bound holds the durations up to and including it; the buckets are
// cumulative, and a duration past the last bound is in Count only.
func TestLatencyBuckets(t *testing.T) {
	var l latency
	for _, d := range []time.Duration{50 * time.Microsecond, 100 * time.Microsecond, 101 * time.Microsecond, time.Millisecond, time.Minute} {
		l.observe(d)
	}
	h := l.snapshot()
	require.Equal(t, uint64(5), h.Count)
	require.Equal(t, 50*time.Microsecond+100*time.Microsecond+101*time.Microsecond+time.Millisecond+time.Minute, h.Sum)
	at := func(bound time.Duration) uint64 {
		for _, b := range h.Buckets {
			if b.UpperBound == bound {
				return b.Count
			}
		}
		t.Fatalf("no bucket %v", bound)
		return 0
	}
	require.Equal(t, uint64(2), at(100*time.Microsecond), "50 us and 100 us")
	require.Equal(t, uint64(3), at(250*time.Microsecond))
	require.Equal(t, uint64(4), at(time.Millisecond))
	require.Equal(t, uint64(4), at(2500*time.Millisecond), "a minute is past every bound")
}
