package pgsession

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession/internal/store"
)

// fakeLog is a change log in memory: committed rows, and what readers asked.
type fakeLog struct {
	rows   map[int64]store.Change
	asked  [][]int64 // each ChangesAt's numbers
	ranges int       // ChangesSince calls
}

func (l *fakeLog) commit(seqs ...int64) {
	for _, s := range seqs {
		l.rows[s] = store.Change{Seq: s, Version: s}
	}
}

func (l *fakeLog) ChangesTop(context.Context) (int64, error) {
	var top int64
	for s := range l.rows {
		top = max(top, s)
	}
	return top, nil
}

func (l *fakeLog) ChangesAt(_ context.Context, seqs []int64) ([]store.Change, error) {
	l.asked = append(l.asked, slices.Sorted(slices.Values(seqs)))
	var out []store.Change
	for _, s := range seqs {
		if r, ok := l.rows[s]; ok {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b store.Change) int { return int(a.Seq - b.Seq) })
	return out, nil
}

func (l *fakeLog) ChangesSince(_ context.Context, after int64, missing []int64, limit int) ([]store.Change, error) {
	l.ranges++
	var out []store.Change
	for s, r := range l.rows {
		if s > after || slices.Contains(missing, s) {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b store.Change) int { return int(a.Seq - b.Seq) })
	return out[:min(len(out), limit)], nil
}

func (l *fakeLog) ChangesStart(context.Context, time.Duration) (int64, error) { return 0, nil }
func (l *fakeLog) PruneChanges(context.Context, time.Duration, time.Duration) (int, error) {
	return 0, nil
}

// placedReader is a reader of log, its cursor placed, that appends to
// applied the number of each row it applies.
func placedReader(t *testing.T, log *fakeLog, applied *[]int64) *changeReader {
	r := &changeReader{log: log, interval: time.Second, warn: func(string, ...any) {},
		apply: func(rows []store.Change) {
			for _, c := range rows {
				*applied = append(*applied, c.Seq)
			}
		}}
	require.NoError(t, r.place(context.Background()))
	return r
}

// A reader fetches the rows it has not heard announced and the gaps it
// waits for, nothing else; a gap that is heard later is not fetched again;
// a range too large to list is read whole (DESIGN C7).
func TestChangeReaderFetchesOnlyWhatItHasNotHeard(t *testing.T) {
	ctx := context.Background()
	log := &fakeLog{rows: map[int64]store.Change{}}
	var applied []int64
	r := placedReader(t, log, &applied)

	log.commit(1, 2, 3, 4, 5, 6, 8) // 7 took its number and has not committed
	r.hear(2, 3, 5)
	require.NoError(t, r.read(ctx))
	require.Equal(t, []int64{1, 4, 6, 7, 8}, log.asked[0])
	require.Equal(t, []int64{1, 4, 6, 8}, applied)

	log.commit(7, 9, 10, 12) // 11 took its number and has not committed
	r.hear(10, 12)
	require.NoError(t, r.read(ctx))
	require.Equal(t, []int64{7, 9, 11}, log.asked[1], "the old gap, the row not heard, the new gap")
	require.Equal(t, []int64{1, 4, 6, 8, 7, 9}, applied)

	log.commit(13)
	r.hear(11, 13) // the gap is heard announced: it is not asked for again
	require.NoError(t, r.read(ctx))
	require.Len(t, log.asked, 2, "nothing left to ask for: one query, for the top")
	require.Empty(t, r.cursor.missing)

	for s := int64(14); s < 14+denseRange+1; s++ {
		log.commit(s)
	}
	require.NoError(t, r.read(ctx))
	require.Equal(t, 1, log.ranges, "most of a span past denseRange unheard: the range is read")
	require.Len(t, log.asked, 2, "and not listed")
	ranged := len(applied)

	for s := int64(14 + denseRange + 1); s < 14+denseRange+1+changeBatch+1; s++ {
		log.commit(s)
	}
	require.NoError(t, r.read(ctx))
	require.Equal(t, 3, log.ranges, "more unheard rows than a batch: the range is read, a batch at a time")
	require.Len(t, log.asked, 2, "and not listed")
	require.Len(t, applied, ranged+changeBatch+1)
	require.Empty(t, r.cursor.missing)
}

// A node's own update that returns its row's number only after the cursor
// was placed again (after a server crash, which restarts the numbers) does
// not keep the reader from fetching the row that number now names.
func TestChangeReaderForgetsOwnRowsFromBeforeAPlacement(t *testing.T) {
	ctx := context.Background()
	log := &fakeLog{rows: map[int64]store.Change{}}
	var applied []int64
	r := placedReader(t, log, &applied)

	before := r.placement() // an update's statement is sent, and commits as row 1
	require.NoError(t, r.place(ctx))
	log.commit(1) // after the crash, another node's update is row 1
	r.hearOwn(before, 1)
	require.NoError(t, r.read(ctx))
	require.Equal(t, []int64{1}, applied, "the row is fetched: the number heard named a row from before the placement")

	now := r.placement()
	log.commit(2)
	r.hearOwn(now, 2) // this node's own row, in the current placement
	require.NoError(t, r.read(ctx))
	require.Equal(t, []int64{1}, applied, "its own row is not fetched")
}
