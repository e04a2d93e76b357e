package pgsession_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/pgsessiontest"
)

// A listener cut off by the server misses what is announced meanwhile:
// once it is back, its subscribers get EventsMissed before anything else,
// then events flow again. The creation made during the cut is never
// delivered: the gap is where it went.
func TestListenerCutGivesSubscribersAGap(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	c := newCluster(t, "postgres")
	proxy := pgsessiontest.NewProxy(t, pgsessiontest.ListenerServerAddr(t))
	cfg := eventsConfig()
	a := c.node(cfg)
	listenerName := "listener-gap-" + c.schema
	cfg.ListenerConnect = namedProxiedListener(proxy, listenerName)
	b := c.node(cfg)
	subCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	onB, err := b.Subscribe(subCtx)
	require.NoError(t, err)

	before, err := a.Create(ctx, "ana", nil)
	require.NoError(t, err)
	require.Equal(t, before.ID(), nextEvent(t, onB).SessionID)

	proxy.RefuseNew()
	var killed int
	require.NoError(t, pgsessiontest.AdminPool(t).QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = $1`, listenerName).Scan(&killed))
	require.Equal(t, 1, killed)
	require.Eventually(t, func() bool { return b.Stats().CacheBypassed }, within, time.Millisecond)
	_, err = a.Create(ctx, "ana", nil) // announced while b is deaf
	require.NoError(t, err)

	proxy.Pass()
	require.Equal(t, pgsession.EventsMissed, nextEvent(t, onB).Kind, "the gap comes first")
	require.Eventually(t, func() bool { return !b.Stats().CacheBypassed }, 10*time.Second, 5*time.Millisecond)
	after, err := a.Create(ctx, "ana", nil)
	require.NoError(t, err)
	require.Equal(t, pgsession.Event{Kind: pgsession.SessionCreated, SessionID: after.ID(), UserID: "ana", Version: 1}, nextEvent(t, onB))
}

// A sweep of many sessions with long owners announces every one, each
// notification under PostgreSQL's payload limit (a payload over it would
// fail the sweep's statement).
func TestSweepAnnouncesEveryExpiredSession(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	c := newCluster(t, "postgres")
	cfg := eventsConfig()
	cfg.SweepBatchSize = 5000
	a, b := c.node(cfg), c.node(cfg)
	events, err := b.Subscribe(ctx)
	require.NoError(t, err)
	const n = 600
	user := strings.Repeat("ü", 128) // 256 bytes, the longest user ID
	want := map[pgsession.ID]bool{}
	for range n {
		s, err := a.Create(ctx, user, nil, pgsession.WithLifetime(time.Millisecond))
		require.NoError(t, err)
		want[s.ID()] = true
	}
	for range n {
		require.Equal(t, pgsession.SessionCreated, nextEvent(t, events).Kind)
	}
	time.Sleep(20 * time.Millisecond)
	res, err := a.Sweep(ctx)
	require.NoError(t, err)
	require.Equal(t, n, res.Deleted)
	for range n {
		e := nextEvent(t, events)
		require.Equal(t, pgsession.Expired, e.Reason)
		require.Equal(t, user, e.UserID)
		require.True(t, want[e.SessionID], "an expired session announced once")
		delete(want, e.SessionID)
	}
	require.Empty(t, want)
}
