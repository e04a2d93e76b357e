package redisaffinity_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession/affinity"
	"github.com/pgsession/pgsession/affinity/redisaffinity"
)

// Deterministic interleavings of the races blockyard's stores lose. Each
// test forces its interleaving with a hook that runs at the exact point
// where the other party must act, on a second node (its own pool and Redis
// client) sharing the data. Each says how the naive design fails it; the
// "checked by" notes record the change to this package that was made, run
// against the test to see it fail, and undone.

// once wraps f so it runs on the first call only.
func once(f func()) func() {
	var o sync.Once
	return func() { o.Do(f) }
}

// A Get misses the cache, reads the entry from PostgreSQL, and before it
// fills the cache another node deletes the session. The fill must be
// refused: the delete's tombstone has a later generation than the read.
//
// Naive design (blockyard: "on miss, fall back to primary and populate the
// cache on the way out"): the fill lands after the delete and every later
// Get serves the deleted session from the cache. Checked by dropping the
// tombstone generation test from cacheFill: the last Get then finds worker w.
func TestLayeredFillRacingDeleteIsRefused(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	c := newCluster(t, affinity.Config{})
	a, b := c.node(t), c.node(t)
	_, err := a.primary.Set(ctx, "s", "w", "") // in PostgreSQL only: the cache misses
	require.NoError(t, err)

	redisaffinity.SetAfterPrimary(a.store, func(op string) {
		once(func() { require.NoError(t, b.store.Delete(ctx, "s")) })()
	})
	e, err := a.store.Get(ctx, "s")
	require.NoError(t, err, "the read began before the delete")
	require.Equal(t, "w", e.WorkerID)
	redisaffinity.SetAfterPrimary(a.store, nil)

	a.trips.Reset()
	_, err = a.store.Get(ctx, "s")
	require.ErrorIs(t, err, affinity.ErrNotFound, "a fill that raced a delete was served")
	require.Equal(t, 1, a.trips.Count(), "the tombstone is a miss: the read goes to PostgreSQL")
}

// After another node reroutes a worker, this node's cached copies of that
// worker's sessions are stale at once (the worker's epoch moved), and a
// read that raced the reroute does not fill the old worker back in.
//
// Naive design: the cache keeps serving the old worker until its TTL (the
// whole idle timeout), since a reroute in the primary never reaches the
// cached copies. Checked by dropping the worker-epoch comparison from
// cacheLookup and cacheFill: the first Get after the reroute returns w1.
func TestLayeredReadAfterRerouteSeesNewWorker(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	c := newCluster(t, affinity.Config{})
	a, b := c.node(t), c.node(t)
	_, err := a.store.Set(ctx, "cached", "w1", "")
	require.NoError(t, err)
	a.trips.Reset()
	e, err := a.store.Get(ctx, "cached")
	require.NoError(t, err)
	require.Equal(t, "w1", e.WorkerID)
	require.Zero(t, a.trips.Count(), "served from the cache")

	n, err := b.store.RerouteWorker(ctx, "w1", "w2")
	require.NoError(t, err)
	require.Equal(t, 1, n)
	e, err = a.store.Get(ctx, "cached")
	require.NoError(t, err)
	require.Equal(t, "w2", e.WorkerID, "served the old worker after a reroute")

	// The racing read: PostgreSQL says w2; before the fill, w2 is
	// rerouted to w3 by the other node.
	redisaffinity.SetAfterPrimary(a.store, nil)
	_, err = a.primary.Set(ctx, "racing", "w2", "")
	require.NoError(t, err)
	redisaffinity.SetAfterPrimary(a.store, func(string) {
		once(func() {
			_, err := b.store.RerouteWorker(ctx, "w2", "w3")
			require.NoError(t, err)
		})()
	})
	e, err = a.store.Get(ctx, "racing")
	require.NoError(t, err)
	require.Equal(t, "w2", e.WorkerID, "read before the reroute")
	redisaffinity.SetAfterPrimary(a.store, nil)
	for _, id := range []string{"racing", "cached"} {
		e, err = a.store.Get(ctx, id)
		require.NoError(t, err)
		require.Equal(t, "w3", e.WorkerID, "%s: a fill that raced a reroute was served", id)
	}
}

// A per-worker delete on another node makes this node's copies of the
// worker's sessions stale in one step.
func TestLayeredDeleteByWorkerInvalidates(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	c := newCluster(t, affinity.Config{})
	a, b := c.node(t), c.node(t)
	for _, id := range []string{"s1", "s2", "s3"} {
		_, err := a.store.Set(ctx, id, "w", "")
		require.NoError(t, err)
	}
	n, err := b.store.DeleteByWorker(ctx, "w")
	require.NoError(t, err)
	require.Equal(t, 3, n)
	for _, id := range []string{"s1", "s2", "s3"} {
		_, err := a.store.Get(ctx, id)
		require.ErrorIs(t, err, affinity.ErrNotFound)
	}
}

// A session swept on another node is not served from this node's cache,
// whether it was cached before the sweep or a read racing the sweep tried
// to fill it.
//
// Naive design: the sweep runs against the primary only ("SweepIdle runs
// against the primary"), so the cached copy lives on for its TTL and is
// served. Checked by making Layered.SweepIdle skip its invalidation: the
// first Get below then returns the swept session.
func TestLayeredSweptSessionIsNotServed(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	c := newCluster(t, affinity.Config{IdleTimeout: time.Hour})
	a, b := c.node(t), c.node(t)
	_, err := a.store.Set(ctx, "cached", "w", "")
	require.NoError(t, err)
	_, err = a.store.Get(ctx, "cached")
	require.NoError(t, err)
	_, err = a.primary.Set(ctx, "racing", "w", "")
	require.NoError(t, err)
	time.Sleep(300 * time.Millisecond)

	redisaffinity.SetAfterPrimary(a.store, func(string) {
		once(func() {
			n, err := b.store.SweepIdle(ctx, 200*time.Millisecond)
			require.NoError(t, err)
			require.Equal(t, 2, n)
		})()
	})
	_, err = a.store.Get(ctx, "racing") // miss, read, sweep, refused fill
	require.NoError(t, err)
	redisaffinity.SetAfterPrimary(a.store, nil)

	for _, id := range []string{"cached", "racing"} {
		_, err = a.store.Get(ctx, id)
		require.ErrorIs(t, err, affinity.ErrNotFound, "%s: swept session served from the cache", id)
	}
}

// A copy lives no longer than the entry's remaining idle time, so a
// session that expires in PostgreSQL is not served from the cache.
//
// Naive design: the copy gets the full idle timeout as its TTL when it is
// filled, so a session read late in its life is served long after it
// expired. Checked by filling with the idle timeout as TTL: the last Get
// then finds the session.
func TestLayeredCopyDiesWithTheEntry(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	idle := 1500 * time.Millisecond
	c := newCluster(t, affinity.Config{IdleTimeout: idle, TouchGranularity: -1})
	a := c.node(t)
	_, err := a.primary.Set(ctx, "s", "w", "")
	require.NoError(t, err)
	time.Sleep(900 * time.Millisecond)
	e, err := a.store.Get(ctx, "s") // fills with about 600ms to live
	require.NoError(t, err)
	require.Less(t, e.ExpiresIn, idle-800*time.Millisecond)
	a.trips.Reset()
	_, err = a.store.Get(ctx, "s")
	require.NoError(t, err)
	require.Zero(t, a.trips.Count(), "served from the cache")
	time.Sleep(900 * time.Millisecond) // expired in PostgreSQL
	_, err = a.store.Get(ctx, "s")
	require.ErrorIs(t, err, affinity.ErrNotFound, "an expired session was served from the cache")
}

// A touch whose session is deleted by another node between its cache
// lookup and its write to PostgreSQL reports ErrNotFound and leaves
// nothing behind, in PostgreSQL or in the cache.
//
// Naive design (blockyard: check that the session exists, here against
// the cached copy, then write the access back with the same upsert as
// Set): the check passes, the delete lands, the write recreates the
// session, and later Gets find it. Checked by making Touch, on a cache
// hit, write the primary with Set(copy's worker, copy's user): the touch
// then succeeds and the final Gets find the session.
func TestLayeredTouchRacingDelete(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	c := newCluster(t, affinity.Config{TouchGranularity: -1})
	a, b := c.node(t), c.node(t)
	_, err := a.store.Set(ctx, "s", "w", "")
	require.NoError(t, err)
	redisaffinity.SetBeforePrimaryTouch(a.store, once(func() {
		require.NoError(t, b.store.Delete(ctx, "s"))
	}))
	_, err = a.store.Touch(ctx, "s")
	require.ErrorIs(t, err, affinity.ErrNotFound)
	redisaffinity.SetBeforePrimaryTouch(a.store, nil)
	_, err = a.store.Get(ctx, "s")
	require.ErrorIs(t, err, affinity.ErrNotFound)
	_, err = a.primary.Get(ctx, "s")
	require.ErrorIs(t, err, affinity.ErrNotFound)
}

// The Redis store's touch is two scripts when a write is due: the first
// learns the worker, the second writes. A delete between them must not be
// undone: the second script checks the hash still exists, atomically with
// its write.
//
// Naive design (blockyard: EXISTS, then HSET last_access): the HSET after
// the delete creates a hash holding only a last-access field: a
// half-empty session. Checked by moving the second script's existence
// check after its write: the session key then exists at the end.
func TestRedisTouchRacingDelete(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	prefix := keyPrefix(t)
	opts := redisaffinity.Options{Config: affinity.Config{TouchGranularity: -1}, KeyPrefix: prefix, CallTimeout: testCallTimeout}
	a, err := redisaffinity.NewStore(newClient(t, ""), opts)
	require.NoError(t, err)
	b, err := redisaffinity.NewStore(newClient(t, ""), opts)
	require.NoError(t, err)
	_, err = a.Set(ctx, "s", "w", "")
	require.NoError(t, err)

	redisaffinity.SetTouchRetryHook(a, once(func() { require.NoError(t, b.Delete(ctx, "s")) }))
	_, err = a.Touch(ctx, "s")
	require.ErrorIs(t, err, affinity.ErrNotFound)
	_, err = a.Get(ctx, "s")
	require.ErrorIs(t, err, affinity.ErrNotFound)
	raw := newClient(t, "")
	require.Empty(t, keysUnder(t, raw, prefix), "the touch left keys behind")
}

// The layered store answers Gets and quiet touches from Redis: no round
// trip to PostgreSQL.
func TestLayeredServesFromCache(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	c := newCluster(t, affinity.Config{IdleTimeout: time.Hour, TouchGranularity: 10 * time.Minute})
	a := c.node(t)
	set, err := a.store.Set(ctx, "s", "w", "u")
	require.NoError(t, err)
	a.trips.Reset()
	for range 5 {
		e, err := a.store.Get(ctx, "s")
		require.NoError(t, err)
		require.Equal(t, set.Version, e.Version)
		require.Equal(t, "u", e.UserSub)
		require.True(t, e.Created.Equal(set.Created))
		_, err = a.store.Touch(ctx, "s")
		require.NoError(t, err)
	}
	require.Zero(t, a.trips.Count(), "%q", a.trips.Statements())

	// A second node fills its own view from the same Redis.
	b := c.node(t)
	_, err = b.store.Get(ctx, "s")
	require.NoError(t, err)
	require.Zero(t, b.trips.Count())
}

// Every key of an application carries its hash tag, so all of them (and
// every script's KEYS) share one cluster slot; session IDs appear only
// hashed.
func TestRedisKeyLayout(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	prefix := keyPrefix(t)
	raw := newClient(t, "")
	s, err := redisaffinity.NewStore(raw, redisaffinity.Options{Config: affinity.Config{App: "shop"}, KeyPrefix: prefix})
	require.NoError(t, err)
	_, err = s.Set(ctx, "secret-session-id", "w", "")
	require.NoError(t, err)
	l, err := redisaffinity.NewLayered(s, raw, redisaffinity.Options{KeyPrefix: prefix})
	require.NoError(t, err)
	_, err = l.Get(ctx, "secret-session-id")
	require.NoError(t, err)
	all := keysUnder(t, raw, prefix)
	require.NotEmpty(t, all)
	hashed := affinity.KeyOf("secret-session-id").String()
	sawHash := false
	for _, k := range all {
		require.True(t, len(k) > len(prefix+"{shop}:") && k[len(prefix):len(prefix)+6] == "{shop}", "key %q lacks the app's hash tag", k)
		require.NotContains(t, k, "secret-session-id")
		sawHash = sawHash || len(k) >= 64 && k[len(k)-64:] == hashed
	}
	require.True(t, sawHash, "no key names the session's hash: %q", all)
}

// A client that ignores context deadlines would make CallTimeout
// meaningless; it is refused.
func TestClientMustHonourContextTimeouts(t *testing.T) {
	t.Parallel()
	opt := redisOptions(t)
	opt.ContextTimeoutEnabled = false
	c := newClientWith(t, opt)
	_, err := redisaffinity.NewStore(c, redisaffinity.Options{})
	require.ErrorIs(t, err, affinity.ErrInvalidConfig)
	mem, err := affinity.NewMemory(affinity.Config{})
	require.NoError(t, err)
	_, err = redisaffinity.NewLayered(mem, c, redisaffinity.Options{})
	require.ErrorIs(t, err, affinity.ErrInvalidConfig)
	_, err = redisaffinity.NewStore(newClient(t, ""), redisaffinity.Options{KeyPrefix: "a{b"})
	require.ErrorIs(t, err, affinity.ErrInvalidConfig)
}
