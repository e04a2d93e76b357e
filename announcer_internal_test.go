package pgsession

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession/internal/notify"
	"github.com/pgsession/pgsession/internal/store"
)

// Updates made while an announcement is in flight go out together in the
// next one: many ids, few NOTIFYs (DESIGN W3).
func TestAnnouncerCoalesces(t *testing.T) {
	sent := make(chan []string)
	proceed := make(chan struct{})
	a := newAnnouncer("n", func(_ context.Context, payloads []string) error {
		sent <- payloads
		<-proceed
		return nil
	}, t.Logf)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { a.run(context.Background(), stop); close(done) }()

	a.add(store.ID{1}, 1, nil, nil)
	first := <-sent // in flight
	for i := 0; i < 500; i++ {
		a.add(store.ID{byte(i), byte(i >> 8), 9}, int64(i+1), nil, nil)
	}
	a.add(store.ID{1}, 2, nil, nil) // newer version of the first id, same announcement
	proceed <- struct{}{}
	second := <-sent
	proceed <- struct{}{}
	close(stop)
	<-done

	require.Len(t, first, 1)
	ids := 0
	for _, p := range second {
		e, err := notify.Decode(p)
		require.NoError(t, err)
		ids += len(e.IDs)
	}
	require.Equal(t, 501, ids, "every update made meanwhile, once each")
	require.LessOrEqual(t, len(second), 6, "in a handful of payloads")
}

// A failed announcement is kept and sent with the next.
func TestAnnouncerKeepsWhatFailed(t *testing.T) {
	fail := true
	var got []string
	a := newAnnouncer("n", func(_ context.Context, payloads []string) error {
		if fail {
			return context.DeadlineExceeded
		}
		got = payloads
		return nil
	}, t.Logf)
	a.add(store.ID{7}, 3, nil, nil)
	_, err := a.flush(context.Background())
	require.Error(t, err)
	fail = false
	n, err := a.flush(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Len(t, got, 1)
	e, err := notify.Decode(got[0])
	require.NoError(t, err)
	require.Equal(t, []int64{3}, e.Versions)
}

// The gap between announcements grows while they carry several ids (load)
// and shrinks back when one carries a single id, within its bounds: a lone
// update goes out at once, a stream of them in ever fewer NOTIFYs.
func TestAnnouncementGapAdaptsToLoad(t *testing.T) {
	gap := minFlushGap
	for range 10 {
		gap = nextFlushGap(gap, 1)
		require.Equal(t, minFlushGap, gap, "a trickle of updates keeps the shortest gap")
	}
	var seen []time.Duration
	for range 10 {
		gap = nextFlushGap(gap, 5)
		seen = append(seen, gap)
	}
	require.Equal(t, 2*minFlushGap, seen[0], "busy flushes widen the gap")
	require.Equal(t, maxFlushGap, seen[len(seen)-1], "up to its bound")
	require.Equal(t, maxFlushGap, nextFlushGap(gap, 0), "a flush with nothing to send changes nothing")
	for gap > minFlushGap {
		next := nextFlushGap(gap, 1)
		require.Less(t, next, gap, "quiet flushes narrow the gap")
		gap = next
	}
	require.Equal(t, minFlushGap, gap)
}

// A small batch whose rows are known pushes them; a batch above
// pushMaxRows, or one holding a version without its row, announces
// versions only (DESIGN C9).
func TestAnnouncerPushesOnlySmallKnownBatches(t *testing.T) {
	row := func(b byte, v int64) *store.Record {
		return &store.Record{ID: store.ID{b}, Version: v, Now: time.Now(),
			Lazy: &store.LazyAttrs{Raw: []byte(`{"n": 1}`), Expiry: []byte(`{}`), Decode: store.LazyDecode}}
	}
	kindOf := func(adds func(a *announcer)) store.EventKind {
		var got []string
		a := newAnnouncer("n", func(_ context.Context, payloads []string) error { got = payloads; return nil }, t.Logf)
		adds(a)
		_, err := a.flush(context.Background())
		require.NoError(t, err)
		require.Len(t, got, 1)
		e, err := notify.Decode(got[0])
		require.NoError(t, err)
		return e.Kind
	}
	require.Equal(t, store.EventPushed, kindOf(func(a *announcer) {
		for i := range pushMaxRows {
			a.add(store.ID{byte(i)}, 2, row(byte(i), 2), nil)
		}
	}))
	require.Equal(t, store.EventUpdated, kindOf(func(a *announcer) {
		for i := range pushMaxRows + 1 {
			a.add(store.ID{byte(i)}, 2, row(byte(i), 2), nil)
		}
	}))
	require.Equal(t, store.EventUpdated, kindOf(func(a *announcer) {
		a.add(store.ID{1}, 2, row(1, 2), nil)
		a.add(store.ID{2}, unknownVersion, nil, nil)
	}))
}
