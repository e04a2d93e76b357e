package pgsession

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession/internal/store"
)

func changes(seqs ...int64) []store.Change {
	out := make([]store.Change, len(seqs))
	for i, s := range seqs {
		out[i] = store.Change{Seq: s, Version: 1}
	}
	return out
}

// Rows that commit out of order leave gaps the cursor asks for again until
// they appear or wait out the lag; nothing past a gap is read twice.
func TestChangeCursorFollowsGapsUntilTheyFillOrExpire(t *testing.T) {
	var c changeCursor
	c.reset(10)
	t0 := time.Now()
	c.advance(changes(11, 13, 16), t0, time.Second)
	require.Equal(t, int64(16), c.high)
	require.Equal(t, []int64{12, 14, 15}, c.missingList())

	c.advance(changes(14, 17), t0.Add(100*time.Millisecond), time.Second) // 14 committed late
	require.Equal(t, []int64{12, 15}, c.missingList())
	require.Equal(t, int64(17), c.high)

	c.advance(nil, t0.Add(1500*time.Millisecond), time.Second) // 12 and 15 never will
	require.Empty(t, c.missingList())

	c.reset(3) // after a crash the log starts over
	c.advance(changes(4, 5), t0, time.Second)
	require.Equal(t, int64(5), c.high)
	require.Empty(t, c.missingList())
}

// A jump far past the cursor tracks at most maxMissing gaps.
func TestChangeCursorBoundsItsGaps(t *testing.T) {
	var c changeCursor
	c.reset(0)
	c.advance(changes(5*maxMissing), time.Now(), time.Minute)
	require.Len(t, c.missingList(), maxMissing)
	require.Equal(t, int64(5*maxMissing), c.high)
}

// A gap seen a moment ago survives reads of many full batches past it: gaps
// are given up by age (the lag), not by how far the reader has gone.
func TestChangeCursorKeepsAFreshGapThroughLargeBatches(t *testing.T) {
	var c changeCursor
	c.reset(0)
	now := time.Now()
	batch := func(from, to int64, skip int64) []store.Change {
		var rows []store.Change
		for s := from; s <= to; s++ {
			if s != skip {
				rows = append(rows, store.Change{Seq: s})
			}
		}
		return rows
	}
	c.advance(batch(1, changeBatch, 2), now, changeLag) // seq 2 still committing
	t.Logf("after batch 1: missing %v", c.missingList())
	c.advance(batch(changeBatch+1, 2*changeBatch, 0), now.Add(time.Millisecond), changeLag)
	c.advance(batch(2*changeBatch+1, 3*changeBatch, 0), now.Add(2*time.Millisecond), changeLag)
	t.Logf("2 ms later, after two more full batches in the same step: missing %v", c.missingList())
	if len(c.missingList()) == 0 {
		t.Errorf("gap 2, 2 ms old, was given up (lag is %v)", changeLag)
	}
}
