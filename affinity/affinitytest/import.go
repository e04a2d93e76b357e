package affinitytest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pgsession/pgsession/affinity"
)

// importer returns the store as an Importer, or skips the test.
func importer(t *testing.T, s affinity.Store) affinity.Importer {
	t.Helper()
	imp, ok := s.(affinity.Importer)
	if !ok {
		t.Skip("this store does not implement affinity.Importer")
	}
	return imp
}

// ago is a time d before now, to the millisecond, the coarsest precision
// of any store, so times read back compare equal.
func ago(d time.Duration) time.Time { return time.Now().Add(-d).Truncate(time.Millisecond) }

func doImport(t *testing.T, ctx context.Context, imp affinity.Importer, in affinity.ImportEntry, want affinity.ImportOutcome) affinity.Entry {
	t.Helper()
	e, got, err := imp.Import(ctx, in)
	noErr(t, err, "import "+in.SessionID)
	equal(t, got, want, "outcome of importing "+in.SessionID)
	return e
}

func sameTime(t *testing.T, got, want time.Time, what string) {
	t.Helper()
	if !got.Equal(want) {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
}

// An import keeps the entry's own times; the newer record wins, so a rerun
// or older data leaves a live entry alone and newer data replaces it.
func testImport(t *testing.T, f Factory) {
	ctx := ctxFor(t)
	s := f(t, affinity.Config{IdleTimeout: time.Hour}).Store
	imp := importer(t, s)

	first := affinity.ImportEntry{SessionID: "s", WorkerID: "w1", UserSub: "alice",
		Created: ago(30 * time.Minute), LastAccess: ago(10 * time.Minute)}
	e := doImport(t, ctx, imp, first, affinity.ImportCreated)
	equal(t, e.Key, affinity.KeyOf("s"), "key")
	equal(t, e.WorkerID, "w1", "worker")
	equal(t, e.UserSub, "alice", "user")
	sameTime(t, e.Created, first.Created, "created")
	sameTime(t, e.LastAccess, first.LastAccess, "last access")
	if left := 50 * time.Minute; e.ExpiresIn > left+time.Second || e.ExpiresIn < left-10*time.Second {
		t.Fatalf("expires in %v, want about %v: the idle clock runs from the imported access", e.ExpiresIn, left)
	}
	got, err := s.Get(ctx, "s") // a cache layer now holds it
	noErr(t, err, "get")
	equal(t, got.Version, e.Version, "version read back")
	sameTime(t, got.LastAccess, first.LastAccess, "last access read back")
	equal(t, count(t, ctx, s, "w1"), 1, "count")

	// A rerun, and older data, change nothing.
	kept := doImport(t, ctx, imp, first, affinity.ImportKept)
	equal(t, kept.Version, e.Version, "a rerun keeps the version")
	older := first
	older.WorkerID, older.LastAccess = "w0", ago(20*time.Minute)
	kept = doImport(t, ctx, imp, older, affinity.ImportKept)
	equal(t, kept.WorkerID, "w1", "older data does not move the session")

	// Newer data wins, keeping the earlier creation time.
	newer := affinity.ImportEntry{SessionID: "s", WorkerID: "w2", UserSub: "bob",
		Created: ago(5 * time.Minute), LastAccess: ago(time.Minute)}
	up := doImport(t, ctx, imp, newer, affinity.ImportUpdated)
	equal(t, up.WorkerID, "w2", "worker")
	equal(t, up.UserSub, "bob", "user")
	sameTime(t, up.Created, first.Created, "the earlier created time")
	sameTime(t, up.LastAccess, newer.LastAccess, "last access")
	if up.Version <= e.Version {
		t.Fatalf("version %d not above %d", up.Version, e.Version)
	}
	got, err = s.Get(ctx, "s")
	noErr(t, err, "get after update")
	equal(t, got.WorkerID, "w2", "worker read back")
	equal(t, count(t, ctx, s, "w1"), 0, "old worker count")
	equal(t, count(t, ctx, s, "w2"), 1, "new worker count")

	// A pin made by Set is newer than anything recorded before it.
	_, err = s.Set(ctx, "pinned", "w3", "")
	noErr(t, err, "set")
	kept = doImport(t, ctx, imp, affinity.ImportEntry{SessionID: "pinned", WorkerID: "w4", LastAccess: ago(time.Second)},
		affinity.ImportKept)
	equal(t, kept.WorkerID, "w3", "the proxy's pin is kept")

	// Created defaults to the last access; a time within the skew is taken.
	soon := time.Now().Add(2 * time.Second).Truncate(time.Millisecond)
	e = doImport(t, ctx, imp, affinity.ImportEntry{SessionID: "soon", WorkerID: "w1", LastAccess: soon}, affinity.ImportCreated)
	sameTime(t, e.Created, soon, "created defaults to the last access")
}

// Imports that would write a dead or impossible entry write nothing.
func testImportRefused(t *testing.T, f Factory) {
	ctx := ctxFor(t)
	s := f(t, affinity.Config{IdleTimeout: time.Hour}).Store
	imp := importer(t, s)
	_, _, err := imp.Import(ctx, affinity.ImportEntry{SessionID: "zombie", WorkerID: "w", LastAccess: ago(61 * time.Minute)})
	if !errors.Is(err, affinity.ErrExpired) {
		t.Fatalf("import idle past the timeout: want ErrExpired, got %v", err)
	}
	bad := map[string]affinity.ImportEntry{
		"future":          {SessionID: "x", WorkerID: "w", LastAccess: time.Now().Add(10 * time.Minute)},
		"no last access":  {SessionID: "x", WorkerID: "w"},
		"created after":   {SessionID: "x", WorkerID: "w", Created: ago(0), LastAccess: ago(time.Minute)},
		"empty session":   {WorkerID: "w", LastAccess: ago(0)},
		"empty worker":    {SessionID: "x", LastAccess: ago(0)},
		"bad utf8 worker": {SessionID: "x", WorkerID: "w\xff", LastAccess: ago(0)},
		"NUL user":        {SessionID: "x", WorkerID: "w", UserSub: "u\x00", LastAccess: ago(0)},
	}
	for name, in := range bad {
		if _, _, err := imp.Import(ctx, in); !errors.Is(err, affinity.ErrInvalidArgument) {
			t.Errorf("%s: want ErrInvalidArgument, got %v", name, err)
		}
	}
	for _, id := range []string{"zombie", "x"} {
		_, err := s.Get(ctx, id)
		isNotFound(t, err, "nothing was written for "+id)
	}
	equal(t, count(t, ctx, s, "w"), 0, "count")
}

// An entry that expired but was not swept yet does not block an import:
// the import starts a new life, with its own created time.
func testImportOverExpired(t *testing.T, f Factory) {
	ctx := ctxFor(t)
	s := f(t, affinity.Config{IdleTimeout: 500 * time.Millisecond, TouchGranularity: -1}).Store
	imp := importer(t, s)
	_, err := s.Set(ctx, "s", "old", "")
	noErr(t, err, "set")
	time.Sleep(600 * time.Millisecond)
	in := affinity.ImportEntry{SessionID: "s", WorkerID: "new", Created: ago(time.Hour), LastAccess: ago(0)}
	e := doImport(t, ctx, imp, in, affinity.ImportCreated)
	equal(t, e.WorkerID, "new", "worker")
	sameTime(t, e.Created, in.Created, "created")
	equal(t, count(t, ctx, s, "old"), 0, "old worker count")
	equal(t, count(t, ctx, s, "new"), 1, "new worker count")
}

// Concurrent imports of one session leave the newest, on one worker.
func testConcurrentImports(t *testing.T, f Factory) {
	ctx := ctxFor(t)
	s := f(t, affinity.Config{}).Store
	imp := importer(t, s)
	base := ago(time.Minute)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Go(func() {
			in := affinity.ImportEntry{SessionID: "contested", WorkerID: fmt.Sprintf("w%d", i%4),
				LastAccess: base.Add(time.Duration(i) * time.Millisecond)}
			if _, _, err := imp.Import(ctx, in); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("import: %v", err)
	}
	e, err := s.Get(ctx, "contested")
	noErr(t, err, "get")
	sameTime(t, e.LastAccess, base.Add(15*time.Millisecond), "the newest import wins")
	equal(t, e.WorkerID, "w3", "its worker")
	n, err := s.CountForWorkers(ctx, []string{"w0", "w1", "w2", "w3"})
	noErr(t, err, "count")
	equal(t, n, 1, "the session counts once")
}
