package pgsession_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/pgsessiontest"
)

// BenchmarkReadsBySessionAge reads cached sessions at a steady pace (a Get
// per tick of a 100 us ticker: about 1,300 a second on a 2-core machine)
// after they have been cached for 0, 2 and 10 times CacheMaxAge, and
// reports every statement the node sent (reloads and background work
// alike) per 1,000 reads. In production
// sessions live for hours, far past CacheMaxAge; a node that reloaded an
// old session on every read would show 1,000 here, while one that reloads
// it once per CacheMaxAge shows the same count at every age: reloads per
// session per second near 1 s / CacheMaxAge (10 here), however many reads.
//
//	go test -run '^$' -bench ReadsBySessionAge -benchtime 1x .
func BenchmarkReadsBySessionAge(b *testing.B) {
	const (
		maxAge   = 100 * time.Millisecond
		sessions = 20
		pace     = 100 * time.Microsecond
		window   = time.Second
	)
	for _, ages := range []int{0, 2, 10} {
		b.Run(fmt.Sprintf("age=%dx", ages), func(b *testing.B) {
			ctx := context.Background()
			rt := &pgsessiontest.RoundTrips{}
			m, err := pgsession.New(ctx, pgsessiontest.Pool(b, rt),
				pgsession.Config{Schema: pgsessiontest.Schema(b), CacheMaxAge: maxAge})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { m.Close(context.Background()) })
			tokens := make([]string, sessions)
			for i := range tokens {
				s, err := m.Create(ctx, "", benchAttrs)
				if err != nil {
					b.Fatal(err)
				}
				tokens[i] = s.Token()
			}
			time.Sleep(time.Duration(ages) * maxAge)
			var reads, misses uint64
			var elapsed time.Duration
			for b.Loop() {
				t0 := time.Now()
				rt.Reset()
				before := m.Stats().CacheMisses
				tick := time.NewTicker(pace)
				deadline := time.Now().Add(window)
				for i := 0; time.Now().Before(deadline); i++ {
					<-tick.C
					if _, err := m.Get(ctx, tokens[i%sessions]); err != nil {
						b.Fatal(err)
					}
					reads++
				}
				tick.Stop()
				misses += m.Stats().CacheMisses - before
				elapsed += time.Since(t0)
			}
			b.ReportMetric(float64(reads)/elapsed.Seconds(), "reads/s")
			b.ReportMetric(float64(misses)/sessions/elapsed.Seconds(), "reloads/session/s")
			b.ReportMetric(float64(rt.Count())*1000/float64(reads), "stmts/1k-reads")
			b.ReportMetric(float64(misses)*1000/float64(reads), "misses/1k-reads")
		})
	}
}
