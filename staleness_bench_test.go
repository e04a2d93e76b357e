package pgsession_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/pgsessiontest"
)

// BenchmarkStaleness measures S while healthy as a client sees it: from the
// moment node A's update (or delete) returns to the first read on node B
// that serves the new version (or ErrNotFound), while six goroutines keep
// updating other sessions on all three nodes. B reads in a loop, so what is
// measured includes B's own read, not only the invalidation. Reported in
// microseconds: p50, p99 and max, for updates and for deletes. It also runs
// the writer with announcements off, so the change log alone must tell B,
// which measures S_fault's usual case.
func BenchmarkStaleness(b *testing.B) {
	b.Run("announced", func(b *testing.B) { benchStaleness(b, false) })
	b.Run("change-log-only", func(b *testing.B) { benchStaleness(b, true) })
}

func benchStaleness(b *testing.B, silent bool) {
	ctx := context.Background()
	schema := pgsessiontest.Schema(b)
	node := func(skipNotify bool) *pgsession.Manager {
		cfg := testConfig()
		cfg.Schema, cfg.SkipUpdateNotify = schema, skipNotify
		m, err := pgsession.New(ctx, pgsessiontest.Pool(b, nil), cfg)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { m.Close(context.Background()) })
		waitCacheServing(b, m)
		return m
	}
	a, reader, c := node(silent), node(false), node(false)

	var stop atomic.Bool
	var wg sync.WaitGroup
	defer func() { stop.Store(true); wg.Wait() }()
	for w := range 6 { // the load: other sessions, on every node
		m := []*pgsession.Manager{a, reader, c}[w%3]
		s, err := m.Create(ctx, "", benchAttrs)
		if err != nil {
			b.Fatal(err)
		}
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				if _, err := m.Update(ctx, s.ID(), new(pgsession.Patch).Set("n", i)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}

	trials := max(b.N, 200)
	if silent {
		trials = max(b.N, 20) // each waits for a poll of the change log
	}
	var updates, deletes []time.Duration
	deadline := time.Now().Add(15 * time.Second)
	b.ResetTimer()
	for i := 0; i < trials && time.Now().Before(deadline); i++ {
		s, err := a.Create(ctx, "", benchAttrs)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := reader.GetByID(ctx, s.ID()); err != nil { // cached on B
			b.Fatal(err)
		}
		u, err := a.Update(ctx, s.ID(), new(pgsession.Patch).Set("n", i))
		if err != nil {
			b.Fatal(err)
		}
		updates = append(updates, untilServed(b, reader, s.ID(), time.Now(), func(got *pgsession.Session, err error) bool {
			return err == nil && got.Version() >= u.Version()
		}))
		if silent {
			continue // deletes are announced in their own transaction, whatever the writer's setting
		}
		if err := a.Delete(ctx, s.ID()); err != nil {
			b.Fatal(err)
		}
		deletes = append(deletes, untilServed(b, reader, s.ID(), time.Now(), func(_ *pgsession.Session, err error) bool {
			return errors.Is(err, pgsession.ErrNotFound)
		}))
	}
	b.StopTimer()
	report := func(name string, d []time.Duration) {
		if len(d) == 0 {
			return
		}
		slices.Sort(d)
		us := func(x time.Duration) float64 { return float64(x.Nanoseconds()) / 1e3 }
		b.ReportMetric(us(d[len(d)/2]), name+"-p50-us")
		b.ReportMetric(us(d[min(len(d)-1, len(d)*99/100)]), name+"-p99-us")
		b.ReportMetric(us(d[len(d)-1]), name+"-max-us")
	}
	report("update", updates)
	report("delete", deletes)
	b.ReportMetric(float64(len(updates)), "trials")
}

// untilServed reads id on m until ok accepts the result and returns how
// long after since that read began.
func untilServed(b *testing.B, m *pgsession.Manager, id pgsession.ID, since time.Time, ok func(*pgsession.Session, error) bool) time.Duration {
	for {
		start := time.Now()
		got, err := m.GetByID(context.Background(), id, pgsession.NoTouch())
		if ok(got, err) {
			return start.Sub(since)
		}
		if err != nil && !errors.Is(err, pgsession.ErrNotFound) {
			b.Fatal(err)
		}
		if time.Since(since) > 10*time.Second {
			b.Fatal("never served")
		}
	}
}
