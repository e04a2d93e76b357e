package pgsession_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession"
)

// eventsConfig is testConfig with session events on.
func eventsConfig() pgsession.Config {
	cfg := testConfig()
	cfg.Events = true
	return cfg
}

// nextEvent waits for a subscriber's next event that is not an update (or
// any event, with updates).
func nextEvent(t *testing.T, ch <-chan pgsession.Event) pgsession.Event {
	t.Helper()
	select {
	case e, ok := <-ch:
		require.True(t, ok, "subscription closed")
		return e
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5s")
		return pgsession.Event{}
	}
}

// Every kind of event a call makes on node A reaches a subscriber on node
// B, and one on A itself, with the owner, the version, the keys written
// and the reason, in the order the calls returned.
func TestEventsReachEveryNode(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		cfg := eventsConfig()
		cfg.MaxSessionsPerUser = 2
		cfg.Lifetime = time.Hour
		a, b := c.node(cfg), c.node(cfg)
		onB, err := b.Subscribe(ctx)
		require.NoError(t, err)
		onA, err := a.Subscribe(ctx)
		require.NoError(t, err)
		// expect checks the next events on both nodes: those of one call
		// commit together, in no promised order.
		expect := func(want ...pgsession.Event) {
			t.Helper()
			for name, ch := range map[string]<-chan pgsession.Event{"A": onA, "B": onB} {
				var got []pgsession.Event
				for range want {
					got = append(got, nextEvent(t, ch))
				}
				require.ElementsMatch(t, want, got, "on %s", name)
			}
		}

		s1, err := a.Create(ctx, "ana", map[string]any{"a": 1})
		require.NoError(t, err)
		expect(pgsession.Event{Kind: pgsession.SessionCreated, SessionID: s1.ID(), UserID: "ana", Version: 1})

		_, err = a.Update(ctx, s1.ID(), new(pgsession.Patch).Set("b", 2).Delete("a"))
		require.NoError(t, err)
		expect(pgsession.Event{Kind: pgsession.SessionUpdated, SessionID: s1.ID(), UserID: "ana", Version: 2, Keys: []string{"b", "a"}})

		renewed, err := a.Renew(ctx, s1.ID())
		require.NoError(t, err)
		expect(pgsession.Event{Kind: pgsession.SessionDeleted, SessionID: s1.ID(), UserID: "ana", Reason: pgsession.RenewedAway, NewID: renewed.ID()})

		s2, err := a.Create(ctx, "ana", nil)
		require.NoError(t, err)
		expect(pgsession.Event{Kind: pgsession.SessionCreated, SessionID: s2.ID(), UserID: "ana", Version: 1})
		s3, err := a.Create(ctx, "ana", nil) // past the cap of 2: the renewed one goes
		require.NoError(t, err)
		expect(pgsession.Event{Kind: pgsession.SessionDeleted, SessionID: renewed.ID(), UserID: "ana", Reason: pgsession.EvictedByCap},
			pgsession.Event{Kind: pgsession.SessionCreated, SessionID: s3.ID(), UserID: "ana", Version: 1})

		require.NoError(t, a.Delete(ctx, s3.ID()))
		expect(pgsession.Event{Kind: pgsession.SessionDeleted, SessionID: s3.ID(), UserID: "ana", Reason: pgsession.Deleted})
		require.NoError(t, a.Delete(ctx, s3.ID()), "deleting nothing announces nothing")

		_, err = a.DeleteUser(ctx, "ana")
		require.NoError(t, err)
		expect(pgsession.Event{Kind: pgsession.UserSessionsDeleted, UserID: "ana"})

		short, err := a.Create(ctx, "", nil, pgsession.WithLifetime(50*time.Millisecond))
		require.NoError(t, err)
		expect(pgsession.Event{Kind: pgsession.SessionCreated, SessionID: short.ID(), Version: 1})
		time.Sleep(100 * time.Millisecond)
		_, err = b.Sweep(ctx)
		require.NoError(t, err)
		expect(pgsession.Event{Kind: pgsession.SessionDeleted, SessionID: short.ID(), Reason: pgsession.Expired})

		_, err = a.DeleteAll(ctx)
		require.NoError(t, err)
		expect(pgsession.Event{Kind: pgsession.AllSessionsDeleted})
		select {
		case e := <-onB:
			t.Fatalf("an event no call made: %+v", e)
		case <-time.After(100 * time.Millisecond):
		}
		_ = s2
	})
}

// Subscribe needs Config.Events, and a closed Manager has nothing to say.
func TestSubscribeNeedsEvents(t *testing.T) {
	c := newCluster(t, "memory")
	_, err := c.node(testConfig()).Subscribe(context.Background())
	require.ErrorIs(t, err, pgsession.ErrEventsOff)
	m, err := pgsession.NewMemory(c.mem, eventsConfig())
	require.NoError(t, err)
	ch, err := m.Subscribe(context.Background())
	require.NoError(t, err)
	require.NoError(t, m.Close(context.Background()))
	_, open := <-ch
	require.False(t, open, "Close closes every subscription")
	_, err = m.Subscribe(context.Background())
	require.ErrorIs(t, err, pgsession.ErrClosed)
}

// A subscriber that stops reading never holds the node up: past its buffer
// it loses events, and is told so by one EventsMissed where they were lost.
func TestSlowSubscriberGetsAGapNotABlockedNode(t *testing.T) {
	c := newCluster(t, "memory")
	cfg := eventsConfig()
	cfg.EventBuffer = 4
	m := c.node(cfg)
	ctx := context.Background()
	slow, err := m.Subscribe(ctx)
	require.NoError(t, err)
	var ids []pgsession.ID
	for range 20 { // would block on a full buffer, if anything blocked
		s, err := m.Create(ctx, "u", nil)
		require.NoError(t, err)
		ids = append(ids, s.ID())
	}
	// What arrives is the creations in order, some missing, with an
	// EventsMissed where they went missing.
	next, gaps := 0, 0
	for drained := false; !drained; {
		select {
		case e := <-slow:
			if e.Kind == pgsession.EventsMissed {
				gaps++
				continue
			}
			at := slices.Index(ids, e.SessionID)
			require.GreaterOrEqual(t, at, next, "in order, each once")
			if at > next {
				require.Positive(t, gaps, "a loss comes after an EventsMissed")
			}
			next = at + 1
		case <-time.After(200 * time.Millisecond):
			drained = true
		}
	}
	require.Positive(t, gaps)
	// Once read up, events flow again: the next creation arrives (after any
	// of the first ones a slow pump was still holding, in order).
	s, err := m.Create(ctx, "u", nil)
	require.NoError(t, err)
	for {
		e := nextEvent(t, slow)
		if e.SessionID == s.ID() {
			break
		}
		at := slices.Index(ids, e.SessionID)
		require.GreaterOrEqual(t, at, next, "in order, each once: %+v", e)
		next = at + 1
	}
}

// An event's context ends its subscription alone.
func TestSubscriptionEndsWithItsContext(t *testing.T) {
	c := newCluster(t, "memory")
	m := c.node(eventsConfig())
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := m.Subscribe(ctx)
	require.NoError(t, err)
	other, err := m.Subscribe(context.Background())
	require.NoError(t, err)
	cancel()
	for range ch { // drains and ends
	}
	s, err := m.Create(context.Background(), "", nil)
	require.NoError(t, err)
	require.Equal(t, s.ID(), nextEvent(t, other).SessionID)
}
