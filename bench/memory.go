package main

import (
	"context"
	"fmt"
	"runtime"
	"sync"

	"github.com/pgsession/pgsession"
)

// memResult is the memory a Manager's cache holds per session.
type memResult struct {
	backend         string
	sessions        int
	cached          int
	bytesPerSession float64
}

// memoryLarge is the size of the second memory-backend point: a cache of
// a million sessions in the full run.
func (s settings) memoryLarge() int {
	if s.quick {
		return 30_000
	}
	return 1_000_000
}

// runMemory creates k sessions of five small attributes through a Manager
// without a cache, then reads each once through a second Manager on the same
// memory store, whose cache then holds them all. The difference in live heap
// (after a GC) before and after the reads, divided by k, is the cost of one
// cached session.
func runMemory(ctx context.Context, k int) (memResult, error) {
	progress("memory: creating %d sessions", k)
	st := pgsession.NewMemoryStore()
	writer, err := pgsession.NewMemory(st, pgsession.Config{CacheSize: -1, TouchInterval: -1, SweepInterval: -1})
	if err != nil {
		return memResult{}, err
	}
	defer writer.Close(context.Background())
	ids := make([]pgsession.ID, k)
	for i := range ids {
		ss, err := writer.Create(ctx, "", sessionAttrs)
		if err != nil {
			return memResult{}, err
		}
		ids[i] = ss.ID()
		if i%100_000 == 0 {
			progress("memory: creating %d sessions: %d", k, i)
		}
	}
	reader, err := pgsession.NewMemory(st, pgsession.Config{CacheSize: 2 * k, CacheBytes: 1 << 32,
		TouchInterval: -1, SweepInterval: -1})
	if err != nil {
		return memResult{}, err
	}
	defer reader.Close(context.Background())
	return measureCache(ctx, reader, ids, "memory")
}

// runMemoryPostgres is runMemory on PostgreSQL: the reader decodes each
// session from its row, so its cache shares nothing with the writer (on the
// memory backend, cached copies share attribute values with the store).
func runMemoryPostgres(ctx context.Context, e *env, s settings) (memResult, error) {
	k := s.memorySess
	schema, err := e.schema(ctx, "mem")
	if err != nil {
		return memResult{}, err
	}
	wp, err := e.pool(ctx, "", nil, 8)
	if err != nil {
		return memResult{}, err
	}
	writer, err := pgsession.New(ctx, wp, pgsession.Config{Schema: schema, CacheSize: -1, TouchInterval: -1, SweepInterval: -1})
	if err != nil {
		return memResult{}, err
	}
	e.defer_(func() error { return writer.Close(context.Background()) })
	ids := make([]pgsession.ID, k)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < k; i += 8 {
				ss, err := writer.Create(ctx, "", sessionAttrs)
				if err != nil {
					errs[w] = err
					return
				}
				ids[i] = ss.ID()
				if w == 0 && i%1000 == 0 {
					progress("memory (PostgreSQL): creating %d sessions: %d", k, i)
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return memResult{}, err
		}
	}
	rp, err := e.pool(ctx, "", nil, 8)
	if err != nil {
		return memResult{}, err
	}
	reader, err := pgsession.New(ctx, rp, pgsession.Config{Schema: schema, CacheSize: 2 * k, CacheBytes: 1 << 32,
		TouchInterval: -1, SweepInterval: -1})
	if err != nil {
		return memResult{}, err
	}
	e.defer_(func() error { return reader.Close(context.Background()) })
	// The cache fills once the listener is up.
	if err := waitListening(ctx, reader); err != nil {
		return memResult{}, err
	}
	return measureCache(ctx, reader, ids, "PostgreSQL")
}

// measureCache reads every id once through reader, so each is cached, and
// returns the heap growth per cached session.
func measureCache(ctx context.Context, reader *pgsession.Manager, ids []pgsession.ID, backend string) (memResult, error) {
	k := len(ids)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	progress("memory (%s): reading %d sessions into the cache", backend, k)
	for _, id := range ids {
		if _, err := reader.GetByID(ctx, id, pgsession.NoTouch()); err != nil {
			return memResult{}, err
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	cached := reader.Stats().CacheEntries
	if cached < k*99/100 {
		return memResult{}, fmt.Errorf("only %d of %d sessions cached", cached, k)
	}
	runtime.KeepAlive(ids)
	return memResult{backend: backend, sessions: k, cached: cached,
		bytesPerSession: float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(cached)}, nil
}
