package pgsession

import (
	"context"
	"testing"

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
	go func() { a.run(stop); close(done) }()

	a.add(store.ID{1}, 1)
	first := <-sent // in flight
	for i := 0; i < 500; i++ {
		a.add(store.ID{byte(i), byte(i >> 8), 9}, int64(i+1))
	}
	a.add(store.ID{1}, 2) // newer version of the first id, same announcement
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
	a.add(store.ID{7}, 3)
	require.Error(t, a.flush(context.Background()))
	fail = false
	require.NoError(t, a.flush(context.Background()))
	require.Len(t, got, 1)
	e, err := notify.Decode(got[0])
	require.NoError(t, err)
	require.Equal(t, []int64{3}, e.Versions)
}
