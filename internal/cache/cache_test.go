package cache_test

import (
	"time"

	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession/internal/cache"
	"github.com/pgsession/pgsession/internal/store"
)

type snap struct {
	v    int64
	user string
	size int
}

func newCache(t *testing.T, entries int, bytes int64) *cache.Cache[*snap] {
	c, err := cache.New(cache.Options[*snap]{
		MaxEntries: entries, MaxBytes: bytes,
		Version: func(s *snap) int64 { return s.v },
		Bytes:   func(s *snap) int { return s.size },
	})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

func key(i int) store.ID { return store.ID{byte(i), byte(i >> 8), byte(i >> 16)} }

func fill(c *cache.Cache[*snap], id store.ID, s *snap) bool {
	return c.Fill(c.Begin(id), s) == cache.Stored
}

func stored(o cache.Outcome) bool { return o == cache.Stored }

func TestVersionsOnlyMoveForward(t *testing.T) {
	c := newCache(t, 100, 1<<20)
	require.True(t, fill(c, key(1), &snap{v: 2}))
	require.False(t, fill(c, key(1), &snap{v: 1}), "older copy refused")
	require.True(t, fill(c, key(1), &snap{v: 2}), "same version renews the entry (C8)")
	require.True(t, fill(c, key(1), &snap{v: 3}))
	got, ok := c.Get(key(1))
	require.True(t, ok)
	require.Equal(t, int64(3), got.v)
}

// A fill whose operation overlapped an invalidation is refused (C2), for
// updates (only older copies) and deletions (every copy).
func TestFillAfterInvalidationIsRefused(t *testing.T) {
	c := newCache(t, 100, 1<<20)
	tk := c.Begin(key(1))
	c.Invalidate(key(1), 5)
	require.False(t, stored(c.Fill(tk, &snap{v: 4})), "read before version 5 committed")
	tk = c.Begin(key(1))
	c.Invalidate(key(1), 5)
	require.True(t, stored(c.Fill(tk, &snap{v: 5})), "a copy at the announced version is fine")

	tk = c.Begin(key(2))
	c.Invalidate(key(2), cache.Deleted)
	require.False(t, stored(c.Fill(tk, &snap{v: 9})))
	_, ok := c.Get(key(2))
	require.False(t, ok)

	// Once no operation is in flight the guard is forgotten: memory stays bounded.
	require.True(t, fill(c, key(2), &snap{v: 1}))
}

func TestInvalidateKeepsNewerCopies(t *testing.T) {
	c := newCache(t, 100, 1<<20)
	fill(c, key(1), &snap{v: 3})
	c.Invalidate(key(1), 3) // our own write, echoed back
	_, ok := c.Get(key(1))
	require.True(t, ok)
	c.Invalidate(key(1), 4)
	_, ok = c.Get(key(1))
	require.False(t, ok)
}

func TestDropAndDisable(t *testing.T) {
	c := newCache(t, 100, 1<<20)
	fill(c, key(1), &snap{v: 1, user: "a"})
	fill(c, key(2), &snap{v: 1, user: "b"})
	tk := c.Begin(key(3))
	c.DropWhere(func(s *snap) bool { return s.user == "a" })
	require.False(t, stored(c.Fill(tk, &snap{v: 1})), "fills in flight are refused after a drop")
	_, ok := c.Get(key(1))
	require.False(t, ok)
	_, ok = c.Get(key(2))
	require.True(t, ok)

	tk = c.Begin(key(4))
	c.SetEnabled(false)
	_, ok = c.Get(key(2))
	require.False(t, ok, "disabled: nothing is served")
	require.Equal(t, cache.Off, c.Fill(c.Begin(key(5)), &snap{v: 1}), "disabled: nothing is filled")
	c.SetEnabled(true)
	require.False(t, stored(c.Fill(tk, &snap{v: 1})), "began before the switch")
	c.DropAll()
	_, ok = c.Get(key(2))
	require.False(t, ok)
}

// The cache is bounded by count and by bytes.
func TestBounds(t *testing.T) {
	c := newCache(t, 100, 1<<20)
	for i := 0; i < 1000; i++ {
		fill(c, key(i), &snap{v: 1, size: 10})
	}
	require.Eventually(t, func() bool { return c.Len() <= 100 }, 2*time.Second, time.Millisecond)

	c = newCache(t, 1000, 10_000)
	for i := 0; i < 1000; i++ {
		fill(c, key(i), &snap{v: 1, size: 1000})
	}
	require.Eventually(t, func() bool { return c.Len() <= 10 }, 2*time.Second, time.Millisecond)
}

// A write's result refused by a guard still removes older copies, and
// operations in flight on the same id can no longer cache anything older
// (C6): a node never serves a copy older than its own write.
func TestRefusedFillStillRemovesOlderCopies(t *testing.T) {
	c := newCache(t, 100, 1<<20)
	require.True(t, fill(c, key(1), &snap{v: 1, user: "a"}))
	read := c.Begin(key(1))  // a read that will come back with v1
	write := c.Begin(key(1)) // the node's own write, v2
	c.DropWhere(func(s *snap) bool { return s.user == "someone else" })
	require.Equal(t, cache.Overtaken, c.Fill(write, &snap{v: 2, user: "a"}), "the drop's epoch refuses the write's copy")
	_, ok := c.Get(key(1))
	require.False(t, ok, "the older copy went with the refusal")
	require.Equal(t, cache.Overtaken, c.Fill(read, &snap{v: 1, user: "a"}), "a read older than the write is refused")
	_, ok = c.Get(key(1))
	require.False(t, ok)

	// Disabled caches drop older copies too, so nothing old is served once
	// the cache is switched back on without a drop.
	require.True(t, fill(c, key(2), &snap{v: 1}))
	write = c.Begin(key(2))
	c.SetEnabled(false)
	require.Equal(t, cache.Overtaken, c.Fill(write, &snap{v: 2}), "began before the switch")
	c.SetEnabled(true)
	_, ok = c.Get(key(2))
	require.False(t, ok)
}

// A reload at the cached version replaces the entry, renewing its age
// (C8); a newer cached copy is kept.
func TestFillAtTheSameVersionReplacesTheEntry(t *testing.T) {
	c := newCache(t, 100, 1<<20)
	first, again := &snap{v: 3}, &snap{v: 3}
	require.True(t, fill(c, key(1), first))
	require.Equal(t, cache.Stored, c.Fill(c.Begin(key(1)), again))
	got, ok := c.Get(key(1))
	require.True(t, ok)
	require.Same(t, again, got)
	require.Equal(t, cache.Kept, c.Fill(c.Begin(key(1)), &snap{v: 2}))
	got, _ = c.Get(key(1))
	require.Same(t, again, got)
}

// A pushed copy replaces an older one only (C9): it never adds a session
// this cache does not hold, which may have been deleted meanwhile, nor
// replaces a copy at its version or newer.
func TestAdvanceReplacesOnlyOlderCopies(t *testing.T) {
	c := newCache(t, 100, 1<<20)
	require.False(t, c.Advance(key(1), &snap{v: 5}), "nothing cached: nothing added")
	_, ok := c.Get(key(1))
	require.False(t, ok)

	require.True(t, fill(c, key(1), &snap{v: 3}))
	require.True(t, c.Advance(key(1), &snap{v: 4}))
	got, _ := c.Get(key(1))
	require.Equal(t, int64(4), got.v)
	require.False(t, c.Advance(key(1), &snap{v: 4, user: "other"}), "same version: the copy stays")
	require.False(t, c.Advance(key(1), &snap{v: 2}))
	got, _ = c.Get(key(1))
	require.Equal(t, &snap{v: 4}, got)

	c.Invalidate(key(1), cache.Deleted)
	require.False(t, c.Advance(key(1), &snap{v: 9}), "deleted: a late push does not bring it back")
	_, ok = c.Get(key(1))
	require.False(t, ok)
}

// A push overlapping a read refuses the read's older copy, as an
// invalidation to its version would.
func TestAdvanceRefusesOlderReadsInFlight(t *testing.T) {
	c := newCache(t, 100, 1<<20)
	tk := c.Begin(key(1))
	c.Advance(key(1), &snap{v: 6})
	require.False(t, stored(c.Fill(tk, &snap{v: 5})))
	tk = c.Begin(key(1))
	c.Advance(key(1), &snap{v: 6})
	require.True(t, stored(c.Fill(tk, &snap{v: 6})))
}

// While the cache is off, a push drops older copies and adds nothing.
func TestAdvanceOnADisabledCacheOnlyDrops(t *testing.T) {
	c := newCache(t, 100, 1<<20)
	require.True(t, fill(c, key(1), &snap{v: 1}))
	c.SetEnabled(false)
	require.False(t, c.Advance(key(1), &snap{v: 2}))
	c.SetEnabled(true)
	_, ok := c.Get(key(1))
	require.False(t, ok)
}
