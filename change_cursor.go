package pgsession

import (
	"slices"
	"time"

	"github.com/pgsession/pgsession/internal/store"
)

// changeCursor is a node's position in the change log. Sequence numbers
// are taken before commit, so rows appear out of order: a row read past a
// number not seen yet leaves a gap that a later read may fill. The cursor
// asks again for each missing number until it appears, or until it is older
// than the lag allowed between taking a number and committing (the update
// failed, or was rolled back: the number will never appear).
type changeCursor struct {
	high    int64               // highest sequence number read
	missing map[int64]time.Time // numbers below high not read yet, and since when
}

// maxMissing bounds the gaps a cursor tracks (each is an update that took
// its number and has not committed yet): past it the oldest are given up,
// as if they had waited out the lag.
const maxMissing = 10000

// reset puts the cursor at seq with no gaps.
func (c *changeCursor) reset(seq int64) {
	c.high = seq
	c.missing = map[int64]time.Time{}
}

// missingList returns the gaps to ask for again, in order.
func (c *changeCursor) missingList() []int64 {
	out := make([]int64, 0, len(c.missing))
	for seq := range c.missing {
		out = append(out, seq)
	}
	slices.Sort(out)
	return out
}

// settle records a read of the rows asked (the gaps and the unheard rows
// past high) that found rows, up to top: what was not found is a gap, since
// now if it is new; the cursor moves to top. Gaps older than lag are given
// up, the oldest first past maxMissing.
func (c *changeCursor) settle(asked []int64, found []store.Change, top int64, now time.Time, lag time.Duration) {
	got := make(map[int64]bool, len(found))
	for _, r := range found {
		got[r.Seq] = true
	}
	for _, seq := range asked {
		switch {
		case got[seq]:
			delete(c.missing, seq)
		case seq > c.high:
			c.missing[seq] = now
		}
	}
	c.high = max(c.high, top)
	c.expire(now, lag)
}

// advance records rows just read (in sequence order) at now, and gives up
// gaps older than lag. Past maxMissing gaps, the oldest are given up first.
func (c *changeCursor) advance(rows []store.Change, now time.Time, lag time.Duration) {
	for _, r := range rows {
		if r.Seq <= c.high {
			delete(c.missing, r.Seq)
			continue
		}
		for seq := max(c.high+1, r.Seq-maxMissing); seq < r.Seq; seq++ {
			c.missing[seq] = now
		}
		c.high = r.Seq
	}
	c.expire(now, lag)
}

// expire gives up gaps older than lag, and the oldest past maxMissing.
func (c *changeCursor) expire(now time.Time, lag time.Duration) {
	for seq, since := range c.missing {
		if now.Sub(since) > lag {
			delete(c.missing, seq)
		}
	}
	if extra := len(c.missing) - maxMissing; extra > 0 {
		oldest := c.missingList() // ascending numbers were seen missing first
		for _, seq := range oldest[:extra] {
			delete(c.missing, seq)
		}
	}
}
