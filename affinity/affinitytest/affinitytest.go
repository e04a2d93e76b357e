// Package affinitytest is the conformance suite every affinity.Store must
// pass: one set of tests, run by each backend's own test package with a
// constructor for that backend. It covers the contract of the Store
// interface, expiry at read time (an idle entry is not found before any
// sweep), touch racing delete, affinity.Importer for the stores that
// implement it (skipped for the others), and failure injection (an unreachable source
// of truth must give errors, quickly, never ErrNotFound; an unreachable
// cache must not stop anything).
//
// Each subtest builds its own store through the constructor and runs in
// parallel, so constructors must isolate their data (a schema per call, a
// key prefix per call).
package affinitytest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pgsession/pgsession/affinity"
)

// Subject is one store under test and the faults its backend can suffer.
type Subject struct {
	// Store is the store under test.
	Store affinity.Store
	// Outage makes the store's source of truth unreachable (a connection
	// cut and refused, or a server that stops answering) and returns the
	// function that ends it. Nil when the store has nothing to lose (memory).
	Outage func() (restore func())
	// CacheOutage makes only a cache in front of the source of truth stop
	// answering and returns the function that ends it. Nil when there is
	// no cache.
	CacheOutage func() (restore func())
	// FailWithin bounds how long any call may take during an outage.
	// Defaults to 2 seconds.
	FailWithin time.Duration
}

// Factory returns a fresh, empty store built with cfg, and cleans it up
// when t ends.
type Factory func(t *testing.T, cfg affinity.Config) Subject

// Run runs the conformance suite against the stores newSubject builds.
func Run(t *testing.T, newSubject Factory) {
	tests := []struct {
		name string
		run  func(t *testing.T, f Factory)
	}{
		{"SetGet", testSetGet},
		{"InvalidArguments", testInvalidArguments},
		{"Replace", testReplace},
		{"TouchGranularity", testTouchGranularity},
		{"TouchNeverCreates", testTouchNeverCreates},
		{"Delete", testDelete},
		{"PerWorker", testPerWorker},
		{"ExpiryAtReadTime", testExpiryAtReadTime},
		{"SweepIdle", testSweepIdle},
		{"TouchRacingDelete", testTouchRacingDelete},
		{"ConcurrentPins", testConcurrentPins},
		{"Outage", testOutage},
		{"CacheOutage", testCacheOutage},
		{"Import", testImport},
		{"ImportRefused", testImportRefused},
		{"ImportOverExpired", testImportOverExpired},
		{"ConcurrentImports", testConcurrentImports},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, newSubject)
		})
	}
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func noErr(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: unexpected error: %v", what, err)
	}
}

func isNotFound(t *testing.T, err error, what string) {
	t.Helper()
	if !errors.Is(err, affinity.ErrNotFound) {
		t.Fatalf("%s: want ErrNotFound, got %v", what, err)
	}
}

func equal[T comparable](t *testing.T, got, want T, what string) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
}

func count(t *testing.T, ctx context.Context, s affinity.Store, worker string) int {
	t.Helper()
	n, err := s.CountForWorker(ctx, worker)
	noErr(t, err, "count for "+worker)
	return n
}

func testSetGet(t *testing.T, f Factory) {
	ctx := ctxFor(t)
	s := f(t, affinity.Config{App: "shop"}).Store
	cfg := s.Config()
	equal(t, cfg.App, "shop", "config app")

	set, err := s.Set(ctx, "sess-1", "worker-a", "alice")
	noErr(t, err, "set")
	got, err := s.Get(ctx, "sess-1")
	noErr(t, err, "get")
	for _, e := range []affinity.Entry{set, got} {
		equal(t, e.Key, affinity.KeyOf("sess-1"), "key")
		equal(t, e.App, "shop", "app")
		equal(t, e.WorkerID, "worker-a", "worker")
		equal(t, e.UserSub, "alice", "user")
		if e.Version <= 0 {
			t.Fatalf("version %d, want > 0", e.Version)
		}
		if e.Created.IsZero() || !e.LastAccess.Equal(e.Created) {
			t.Fatalf("created %v, last access %v: want equal and set", e.Created, e.LastAccess)
		}
		if e.ExpiresIn <= 0 || e.ExpiresIn > cfg.IdleTimeout {
			t.Fatalf("expires in %v, want in (0, %v]", e.ExpiresIn, cfg.IdleTimeout)
		}
	}
	equal(t, got.Version, set.Version, "version read back")
	equal(t, got.Created.Equal(set.Created), true, "created read back")

	_, err = s.Get(ctx, "never-pinned")
	isNotFound(t, err, "get unknown")

	// Another app in the same backend would not see it; the same store
	// sees only its own app, checked by count.
	equal(t, count(t, ctx, s, "worker-a"), 1, "count")
}

func testInvalidArguments(t *testing.T, f Factory) {
	ctx := ctxFor(t)
	s := f(t, affinity.Config{}).Store
	long := string(make([]byte, affinity.MaxWorkerIDLength+1))
	cases := map[string]error{}
	_, cases["get empty id"] = s.Get(ctx, "")
	_, cases["set empty worker"] = s.Set(ctx, "x", "", "")
	_, cases["set NUL worker"] = s.Set(ctx, "x", "w\x00", "")
	_, cases["set long worker"] = s.Set(ctx, "x", long, "")
	_, cases["set bad utf8 user"] = s.Set(ctx, "x", "w", "\xff")
	_, cases["touch empty id"] = s.Touch(ctx, "")
	cases["delete empty id"] = s.Delete(ctx, "")
	_, cases["count empty worker"] = s.CountForWorker(ctx, "")
	_, cases["counts empty worker"] = s.CountForWorkers(ctx, []string{"w", ""})
	_, cases["reroute empty"] = s.RerouteWorker(ctx, "w", "")
	_, cases["delete by empty worker"] = s.DeleteByWorker(ctx, "")
	_, cases["entries empty worker"] = s.EntriesForWorker(ctx, "")
	for name, err := range cases {
		if !errors.Is(err, affinity.ErrInvalidArgument) {
			t.Errorf("%s: want ErrInvalidArgument, got %v", name, err)
		}
	}
	_, err := s.Get(ctx, "x")
	isNotFound(t, err, "nothing was written")
}

func testReplace(t *testing.T, f Factory) {
	ctx := ctxFor(t)
	s := f(t, affinity.Config{}).Store
	first, err := s.Set(ctx, "s", "w1", "")
	noErr(t, err, "set")
	time.Sleep(5 * time.Millisecond)
	second, err := s.Set(ctx, "s", "w2", "bob")
	noErr(t, err, "replace")
	equal(t, second.WorkerID, "w2", "worker")
	equal(t, second.UserSub, "bob", "user")
	equal(t, second.Created.Equal(first.Created), true, "created kept")
	if !second.LastAccess.After(first.LastAccess) {
		t.Fatalf("last access %v not after %v", second.LastAccess, first.LastAccess)
	}
	if second.Version <= first.Version {
		t.Fatalf("version %d not above %d", second.Version, first.Version)
	}
	equal(t, count(t, ctx, s, "w1"), 0, "old worker count")
	equal(t, count(t, ctx, s, "w2"), 1, "new worker count")
	got, err := s.Get(ctx, "s")
	noErr(t, err, "get")
	equal(t, got.WorkerID, "w2", "worker read back")

	// Deleted and pinned again: a new life, with a higher version.
	noErr(t, s.Delete(ctx, "s"), "delete")
	third, err := s.Set(ctx, "s", "w1", "")
	noErr(t, err, "set again")
	if third.Version <= second.Version {
		t.Fatalf("version after re-pin %d not above %d", third.Version, second.Version)
	}
}

func testTouchGranularity(t *testing.T, f Factory) {
	ctx := ctxFor(t)
	every := f(t, affinity.Config{IdleTimeout: time.Hour, TouchGranularity: -1}).Store
	set, err := every.Set(ctx, "s", "w", "")
	noErr(t, err, "set")
	time.Sleep(10 * time.Millisecond)
	touched, err := every.Touch(ctx, "s")
	noErr(t, err, "touch")
	if !touched.LastAccess.After(set.LastAccess) {
		t.Fatalf("granularity -1: last access %v not after %v", touched.LastAccess, set.LastAccess)
	}
	equal(t, touched.Version, set.Version, "touch keeps the version")
	got, err := every.Get(ctx, "s")
	noErr(t, err, "get")
	equal(t, got.LastAccess.Equal(touched.LastAccess), true, "recorded access read back")

	// Within the granularity a touch only reads.
	coarse := f(t, affinity.Config{IdleTimeout: time.Hour, TouchGranularity: 30 * time.Minute}).Store
	set, err = coarse.Set(ctx, "s", "w", "")
	noErr(t, err, "set")
	time.Sleep(10 * time.Millisecond)
	for range 3 {
		touched, err = coarse.Touch(ctx, "s")
		noErr(t, err, "touch")
		equal(t, touched.LastAccess.Equal(set.LastAccess), true, "touch within granularity writes nothing")
		equal(t, touched.WorkerID, "w", "touch returns the entry")
	}
}

func testTouchNeverCreates(t *testing.T, f Factory) {
	ctx := ctxFor(t)
	s := f(t, affinity.Config{}).Store
	_, err := s.Touch(ctx, "ghost")
	isNotFound(t, err, "touch unknown")
	_, err = s.Get(ctx, "ghost")
	isNotFound(t, err, "touch created nothing")
}

func testDelete(t *testing.T, f Factory) {
	ctx := ctxFor(t)
	s := f(t, affinity.Config{}).Store
	_, err := s.Set(ctx, "s", "w", "")
	noErr(t, err, "set")
	_, err = s.Get(ctx, "s") // a cached layer now holds it
	noErr(t, err, "get")
	noErr(t, s.Delete(ctx, "s"), "delete")
	_, err = s.Get(ctx, "s")
	isNotFound(t, err, "get after delete")
	isNotFound(t, s.Delete(ctx, "s"), "delete twice")
	_, err = s.Touch(ctx, "s")
	isNotFound(t, err, "touch after delete")
	_, err = s.Get(ctx, "s")
	isNotFound(t, err, "touch after delete created nothing")
	equal(t, count(t, ctx, s, "w"), 0, "count after delete")
}

func testPerWorker(t *testing.T, f Factory) {
	ctx := ctxFor(t)
	s := f(t, affinity.Config{}).Store
	pins := map[string]string{"a1": "A", "a2": "A", "a3": "A", "b1": "B", "b2": "B", "c1": "C"}
	versions := map[string]int64{}
	for id, w := range pins {
		e, err := s.Set(ctx, id, w, "u-"+id)
		noErr(t, err, "set "+id)
		versions[id] = e.Version
		_, err = s.Get(ctx, id) // warm any cache
		noErr(t, err, "get "+id)
	}
	equal(t, count(t, ctx, s, "A"), 3, "count A")
	equal(t, count(t, ctx, s, "nobody"), 0, "count unknown worker")
	n, err := s.CountForWorkers(ctx, []string{"A", "B", "A", "nobody"})
	noErr(t, err, "count for workers")
	equal(t, n, 5, "count A, B (A twice)")
	n, err = s.CountForWorkers(ctx, nil)
	noErr(t, err, "count for no workers")
	equal(t, n, 0, "count for no workers")

	entries, err := s.EntriesForWorker(ctx, "B")
	noErr(t, err, "entries")
	var keys []affinity.Key
	for _, e := range entries {
		equal(t, e.WorkerID, "B", "entry worker")
		keys = append(keys, e.Key)
	}
	want := []affinity.Key{affinity.KeyOf("b1"), affinity.KeyOf("b2")}
	sortKeys(keys)
	sortKeys(want)
	equal(t, fmt.Sprint(keys), fmt.Sprint(want), "entries of B")
	entries, err = s.EntriesForWorker(ctx, "nobody")
	noErr(t, err, "entries of unknown worker")
	equal(t, len(entries), 0, "entries of unknown worker")

	moved, err := s.RerouteWorker(ctx, "A", "B")
	noErr(t, err, "reroute")
	equal(t, moved, 3, "moved")
	equal(t, count(t, ctx, s, "A"), 0, "A after reroute")
	equal(t, count(t, ctx, s, "B"), 5, "B after reroute")
	for _, id := range []string{"a1", "a2", "a3"} {
		e, err := s.Get(ctx, id)
		noErr(t, err, "get after reroute")
		equal(t, e.WorkerID, "B", id+" worker after reroute")
		equal(t, e.UserSub, "u-"+id, id+" user kept")
		if e.Version <= versions[id] {
			t.Fatalf("%s: version %d after reroute, not above %d", id, e.Version, versions[id])
		}
	}
	moved, err = s.RerouteWorker(ctx, "A", "C")
	noErr(t, err, "reroute empty worker")
	equal(t, moved, 0, "moved from empty worker")

	gone, err := s.DeleteByWorker(ctx, "B")
	noErr(t, err, "delete by worker")
	equal(t, gone, 5, "deleted")
	for _, id := range []string{"a1", "b1", "b2"} {
		_, err = s.Get(ctx, id)
		isNotFound(t, err, "get "+id+" after delete by worker")
	}
	e, err := s.Get(ctx, "c1")
	noErr(t, err, "other worker untouched")
	equal(t, e.WorkerID, "C", "c1 worker")
	gone, err = s.DeleteByWorker(ctx, "B")
	noErr(t, err, "delete by worker again")
	equal(t, gone, 0, "deleted again")
}

func sortKeys(keys []affinity.Key) {
	slices.SortFunc(keys, func(a, b affinity.Key) int { return slices.Compare(a[:], b[:]) })
}

// An idle entry is invisible to every method as soon as its idle timeout
// has passed, before any sweep; a touch keeps an entry alive.
func testExpiryAtReadTime(t *testing.T, f Factory) {
	ctx := ctxFor(t)
	idle := 1500 * time.Millisecond
	s := f(t, affinity.Config{IdleTimeout: idle, TouchGranularity: 50 * time.Millisecond}).Store
	_, err := s.Set(ctx, "old", "w", "")
	noErr(t, err, "set old")
	_, err = s.Set(ctx, "kept", "w", "")
	noErr(t, err, "set kept")
	_, err = s.Get(ctx, "old") // a cache layer now holds it
	noErr(t, err, "get old")
	time.Sleep(800 * time.Millisecond)
	kept, err := s.Touch(ctx, "kept")
	noErr(t, err, "touch kept")
	time.Sleep(900 * time.Millisecond) // old: 1.7s idle; kept: 0.9s since its touch

	_, err = s.Get(ctx, "old")
	isNotFound(t, err, "get expired")
	_, err = s.Touch(ctx, "old")
	isNotFound(t, err, "touch expired")
	e, err := s.Get(ctx, "kept")
	noErr(t, err, "get touched entry")
	if e.ExpiresIn <= 0 || e.ExpiresIn > idle {
		t.Fatalf("touched entry expires in %v", e.ExpiresIn)
	}
	if e.LastAccess.Before(kept.LastAccess) {
		t.Fatalf("last access went back: %v < %v", e.LastAccess, kept.LastAccess)
	}
	equal(t, count(t, ctx, s, "w"), 1, "count skips the expired entry")
	entries, err := s.EntriesForWorker(ctx, "w")
	noErr(t, err, "entries")
	equal(t, len(entries), 1, "entries skip the expired entry")
	equal(t, entries[0].Key, affinity.KeyOf("kept"), "the live entry")

	// The sweep reclaims the expired entry and leaves the live one.
	n, err := s.SweepIdle(ctx, 0)
	noErr(t, err, "sweep")
	equal(t, n, 1, "swept")
	_, err = s.Get(ctx, "kept")
	noErr(t, err, "live entry survives the sweep")
	isNotFound(t, s.Delete(ctx, "old"), "delete expired")

	// An expired entry pinned again starts a new life.
	again, err := s.Set(ctx, "old", "w2", "")
	noErr(t, err, "pin again")
	if !again.Created.Equal(again.LastAccess) {
		t.Fatalf("re-pinned entry kept its old created time %v (last access %v)", again.Created, again.LastAccess)
	}
}

func testSweepIdle(t *testing.T, f Factory) {
	ctx := ctxFor(t)
	s := f(t, affinity.Config{IdleTimeout: time.Hour}).Store
	_, err := s.Set(ctx, "idle", "w", "")
	noErr(t, err, "set idle")
	_, err = s.Get(ctx, "idle")
	noErr(t, err, "get idle")
	time.Sleep(400 * time.Millisecond)
	_, err = s.Set(ctx, "fresh", "w", "")
	noErr(t, err, "set fresh")

	n, err := s.SweepIdle(ctx, 0)
	noErr(t, err, "sweep at the idle timeout")
	equal(t, n, 0, "nothing expired")
	n, err = s.SweepIdle(ctx, 300*time.Millisecond)
	noErr(t, err, "sweep")
	equal(t, n, 1, "swept")
	_, err = s.Get(ctx, "idle")
	isNotFound(t, err, "swept entry")
	_, err = s.Touch(ctx, "idle")
	isNotFound(t, err, "touch swept entry")
	_, err = s.Get(ctx, "fresh")
	noErr(t, err, "fresh entry survives")
	equal(t, count(t, ctx, s, "w"), 1, "count after sweep")
}

// Touches racing a delete never bring the entry back: whatever the
// interleaving, once the delete has returned the entry stays gone.
func testTouchRacingDelete(t *testing.T, f Factory) {
	ctx := ctxFor(t)
	s := f(t, affinity.Config{TouchGranularity: -1}).Store
	for round := range 5 {
		id := fmt.Sprintf("s%d", round)
		_, err := s.Set(ctx, id, "w", "u")
		noErr(t, err, "set")
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for range 8 {
			wg.Go(func() {
				for range 5 {
					if _, err := s.Touch(ctx, id); err != nil && !errors.Is(err, affinity.ErrNotFound) {
						errs <- err
					}
				}
			})
		}
		noErr(t, s.Delete(ctx, id), "delete")
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("touch: %v", err)
		}
		_, err = s.Get(ctx, id)
		isNotFound(t, err, "entry after touches raced its delete")
		_, err = s.Touch(ctx, id)
		isNotFound(t, err, "touch after the race")
	}
	equal(t, count(t, ctx, s, "w"), 0, "count")
}

// Concurrent pins of one session to different workers leave it on exactly
// one worker, in the indexes as in the entry.
func testConcurrentPins(t *testing.T, f Factory) {
	ctx := ctxFor(t)
	s := f(t, affinity.Config{}).Store
	workers := []string{"w1", "w2", "w3", "w4"}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 16 {
		wg.Go(func() {
			if _, err := s.Set(ctx, "contested", workers[i%len(workers)], ""); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("set: %v", err)
	}
	e, err := s.Get(ctx, "contested")
	noErr(t, err, "get")
	n, err := s.CountForWorkers(ctx, workers)
	noErr(t, err, "count")
	equal(t, n, 1, "the session counts once")
	equal(t, count(t, ctx, s, e.WorkerID), 1, "on the worker its entry names")
}

func within(t *testing.T, limit time.Duration, what string, call func() error) error {
	t.Helper()
	start := time.Now()
	err := call()
	if took := time.Since(start); took > limit {
		t.Fatalf("%s took %v during an outage, more than %v", what, took, limit)
	}
	return err
}

// The source of truth becomes unreachable: every call that needs it fails
// fast with an error that is not ErrNotFound; when it is back, calls work.
func testOutage(t *testing.T, f Factory) {
	ctx := ctxFor(t)
	subj := f(t, affinity.Config{})
	if subj.Outage == nil {
		t.Skip("this store has no backend to lose")
	}
	limit := subj.FailWithin
	if limit == 0 {
		limit = 2 * time.Second
	}
	s := subj.Store
	_, err := s.Set(ctx, "kept", "w", "")
	noErr(t, err, "set before the outage")

	restore := subj.Outage()
	calls := map[string]func() error{
		"get":     func() error { _, err := s.Get(ctx, "unknown-during-outage"); return err },
		"set":     func() error { _, err := s.Set(ctx, "new", "w", ""); return err },
		"touch":   func() error { _, err := s.Touch(ctx, "unknown-during-outage"); return err },
		"delete":  func() error { return s.Delete(ctx, "kept") },
		"count":   func() error { _, err := s.CountForWorker(ctx, "w"); return err },
		"counts":  func() error { _, err := s.CountForWorkers(ctx, []string{"w", "x"}); return err },
		"reroute": func() error { _, err := s.RerouteWorker(ctx, "w", "x"); return err },
		"entries": func() error { _, err := s.EntriesForWorker(ctx, "w"); return err },
		"delete by worker": func() error {
			_, err := s.DeleteByWorker(ctx, "w")
			return err
		},
		"sweep": func() error { _, err := s.SweepIdle(ctx, 0); return err },
	}
	for name, call := range calls {
		err := within(t, limit, name, call)
		if err == nil {
			t.Fatalf("%s succeeded during an outage", name)
		}
		if errors.Is(err, affinity.ErrNotFound) {
			t.Fatalf("%s reported ErrNotFound during an outage: a fault must not look like a missing session: %v", name, err)
		}
	}
	restore()

	// Recovery: the pool or client reconnects on its own.
	deadline := time.Now().Add(10 * time.Second)
	for {
		e, err := s.Get(ctx, "kept")
		if err == nil {
			equal(t, e.WorkerID, "w", "entry after the outage")
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recovery after the outage: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	_, err = s.Set(ctx, "after", "w", "")
	noErr(t, err, "set after the outage")
	equal(t, count(t, ctx, s, "w"), 2, "count after the outage")
}

// A cache that stops answering is bypassed: every call still works, none
// waits much longer than the cache's timeout, and what changed while the
// cache was away is never read from it afterwards.
func testCacheOutage(t *testing.T, f Factory) {
	ctx := ctxFor(t)
	subj := f(t, affinity.Config{})
	if subj.CacheOutage == nil {
		t.Skip("this store has no cache")
	}
	limit := subj.FailWithin
	if limit == 0 {
		limit = 2 * time.Second
	}
	s := subj.Store
	for _, id := range []string{"deleted", "moved", "kept"} {
		_, err := s.Set(ctx, id, "w", "")
		noErr(t, err, "set")
		_, err = s.Get(ctx, id) // cached now
		noErr(t, err, "get")
	}
	_, err := s.Set(ctx, "rerouted", "r", "")
	noErr(t, err, "set")
	_, err = s.Get(ctx, "rerouted")
	noErr(t, err, "get")

	restore := subj.CacheOutage()
	mustWork := func(name string, call func() error) {
		t.Helper()
		noErr(t, within(t, limit, name, call), name+" with the cache down")
	}
	mustWork("get", func() error { _, err := s.Get(ctx, "kept"); return err })
	mustWork("delete", func() error { return s.Delete(ctx, "deleted") })
	mustWork("set", func() error { _, err := s.Set(ctx, "moved", "w2", ""); return err })
	mustWork("touch", func() error { _, err := s.Touch(ctx, "kept"); return err })
	mustWork("reroute", func() error { _, err := s.RerouteWorker(ctx, "r", "r2"); return err })
	mustWork("count", func() error {
		n, err := s.CountForWorker(ctx, "w")
		if err == nil && n != 1 {
			err = fmt.Errorf("count %d, want 1", n)
		}
		return err
	})
	mustWork("new", func() error { _, err := s.Set(ctx, "new", "w", ""); return err })
	mustWork("get new", func() error { _, err := s.Get(ctx, "new"); return err })
	_, err = s.Get(ctx, "deleted")
	isNotFound(t, err, "deleted with the cache down")
	restore()

	// Whether the store is still bypassing the cache or back on it, nothing
	// changed during the outage is read stale from it.
	end := time.Now().Add(3 * time.Second)
	for time.Now().Before(end) {
		_, err = s.Get(ctx, "deleted")
		isNotFound(t, err, "deleted during the cache outage")
		e, err := s.Get(ctx, "moved")
		noErr(t, err, "get moved")
		equal(t, e.WorkerID, "w2", "pinned elsewhere during the cache outage")
		e, err = s.Get(ctx, "rerouted")
		noErr(t, err, "get rerouted")
		equal(t, e.WorkerID, "r2", "rerouted during the cache outage")
		time.Sleep(100 * time.Millisecond)
	}
}
