package pgsession_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/pgsessiontest"
)

// These benchmarks set each PostgreSQL operation of the library beside a
// "floor": the single raw pgx statement a hand-written store would send for
// the same job, on the same table, pool and connection. Every iteration runs
// both (alternating which goes first), each timed on its own, so the noise of
// a busy machine falls on both sides alike. What to read is the "ratio"
// metric (pgsession time / floor time, summed over all iterations) and
// "p50-ratio" (ratio of the per-iteration medians, which ignores the odd
// stall). The standard ns/op and allocs/op cover both sides of an iteration
// together; floor-allocs/op and pgsession-allocs/op count each side alone, in
// an untimed pass after the timed loop. Targets (reported, never asserted):
// Get miss within 1.2x of the floor, Create and Update within 1.3x.
//
//	go test -run '^$' -bench . -benchmem -count 1 -benchtime 2000x .

const (
	benchSessions = 1000 // pre-created sessions; half are read by each side
	benchWarmup   = 20   // untimed rounds per side: statement preparation, caches
	benchAllocRun = 100  // untimed rounds per side to count allocations
	benchUsers    = 100  // distinct user ids of created sessions
)

// benchAttrs are the attributes of every benchmark session (read only).
var benchAttrs = map[string]any{"user": "u1", "theme": "dark", "n": 1}

// benchEnv is one fresh schema, a pool of its own and a Manager on it.
type benchEnv struct {
	ctx   context.Context
	pool  *pgxpool.Pool
	m     *pgsession.Manager
	table string // quoted sessions table
	// Pre-created sessions: the pgsession side uses the first half, the floor
	// the second, so the two sides never touch the same row.
	pgsIDs, floorIDs       []pgsession.ID
	pgsTokens, floorTokens []string
}

func newBenchEnv(b *testing.B, cfg pgsession.Config, sessions int) *benchEnv {
	b.Helper()
	ctx := context.Background()
	schema := pgsessiontest.Schema(b)
	pool := pgsessiontest.Pool(b, nil)
	cfg.Schema = schema
	cfg.TouchInterval, cfg.SweepInterval = -1, -1
	m, err := pgsession.New(ctx, pool, cfg) // migrates: the table exists from here on
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := m.Close(context.Background()); err != nil {
			b.Error(err)
		}
	})
	e := &benchEnv{ctx: ctx, pool: pool, m: m,
		table: pgx.Identifier{schema, "pgsession_sessions"}.Sanitize()}
	for i := range sessions {
		s, err := m.Create(ctx, "seed-"+strconv.Itoa(i%benchUsers), benchAttrs)
		if err != nil {
			b.Fatal(err)
		}
		if i < sessions/2 {
			e.pgsIDs, e.pgsTokens = append(e.pgsIDs, s.ID()), append(e.pgsTokens, s.Token())
		} else {
			e.floorIDs, e.floorTokens = append(e.floorIDs, s.ID()), append(e.floorTokens, s.Token())
		}
	}
	return e
}

// runPair runs floor and pgs once per iteration, alternating their order,
// and reports each side's mean time, their ratio, the ratio of their medians
// and, from an untimed pass, each side's allocations per operation. Both
// functions get an index that grows across warm-up, timed and counting runs.
func runPair(b *testing.B, floor, pgs func(i int)) {
	b.Helper()
	runPairSupplied(b, func(int) {}, floor, pgs)
}

// runPairSupplied is runPair for operations that use up what they act on:
// ensure(n), untimed, makes indexes below n usable before they are.
func runPairSupplied(b *testing.B, ensure func(n int), floor, pgs func(i int)) {
	b.Helper()
	k := 0
	ensure(benchWarmup)
	for range benchWarmup {
		floor(k)
		pgs(k)
		k++
	}
	var floorSum, pgsSum time.Duration
	var floorEach, pgsEach []time.Duration
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		ensure(k + 1)
		b.StartTimer()
		var df, dp time.Duration
		if n%2 == 0 {
			t0 := time.Now()
			floor(k)
			t1 := time.Now()
			pgs(k)
			t2 := time.Now()
			df, dp = t1.Sub(t0), t2.Sub(t1)
		} else {
			t0 := time.Now()
			pgs(k)
			t1 := time.Now()
			floor(k)
			t2 := time.Now()
			dp, df = t1.Sub(t0), t2.Sub(t1)
		}
		floorSum += df
		pgsSum += dp
		floorEach = append(floorEach, df)
		pgsEach = append(pgsEach, dp)
		n++
		k++
	}
	b.ReportMetric(float64(floorSum.Nanoseconds())/float64(n), "floor-ns/op")
	b.ReportMetric(float64(pgsSum.Nanoseconds())/float64(n), "pgsession-ns/op")
	b.ReportMetric(float64(pgsSum)/float64(floorSum), "ratio")
	b.ReportMetric(float64(median(pgsEach))/float64(median(floorEach)), "p50-ratio")

	// b.Loop has stopped the timer: this pass counts toward nothing else.
	ensure(k + 2*benchAllocRun)
	b.ReportMetric(allocsPerOp(&k, floor), "floor-allocs/op")
	b.ReportMetric(allocsPerOp(&k, pgs), "pgsession-allocs/op")
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func allocsPerOp(k *int, f func(i int)) float64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range benchAllocRun {
		f(*k)
		*k++
	}
	runtime.ReadMemStats(&after)
	return float64(after.Mallocs-before.Mallocs) / benchAllocRun
}

// floorGet reads the same columns as the library's Get into raw values, as
// the library scans them before decoding.
func (e *benchEnv) floorGet(b *testing.B) func(id pgsession.ID) {
	sql := `SELECT s.id, s.user_id, s.version, s.created_at, s.updated_at, s.last_seen_at,
    s.expires_at, s.idle_timeout, s.user_agent, s.ip, s.attrs, s.attr_expiry, now()
FROM ` + e.table + ` s WHERE s.id = $1`
	return func(id pgsession.ID) {
		if err := scanSessionRow(e.pool.QueryRow(e.ctx, sql, id[:])); err != nil {
			b.Fatal(err)
		}
	}
}

// scanSessionRow reads a row of the library's columns (plus now()) into Go
// values, as a caller of raw pgx would: the baselines' share of the work the
// library does when it decodes a row.
func scanSessionRow(row pgx.Row, extra ...any) error {
	var (
		id, attrs, attrExpiry                    []byte
		userID, userAgent, ip                    string
		version                                  int64
		created, updated, seen, expires, dbClock time.Time
		idle                                     pgtype.Interval
	)
	return row.Scan(append([]any{&id, &userID, &version, &created, &updated,
		&seen, &expires, &idle, &userAgent, &ip, &attrs, &attrExpiry, &dbClock}, extra...)...)
}

// noCache makes every Get a miss: the path measured here.
var noCache = pgsession.Config{CacheSize: -1}

func BenchmarkGetMiss(b *testing.B) {
	b.Run("by-id", func(b *testing.B) {
		e := newBenchEnv(b, noCache, benchSessions)
		floor := e.floorGet(b)
		runPair(b,
			func(i int) { floor(e.floorIDs[i%len(e.floorIDs)]) },
			func(i int) {
				if _, err := e.m.GetByID(e.ctx, e.pgsIDs[i%len(e.pgsIDs)], pgsession.NoTouch()); err != nil {
					b.Fatal(err)
				}
			})
	})
	// With a cache, a miss also fills it; with more sessions than it
	// holds, each fill evicts one: the path of a large table.
	b.Run("by-id-full-cache", func(b *testing.B) {
		e := newBenchEnv(b, pgsession.Config{CacheSize: benchSessions / 8}, benchSessions)
		floor := e.floorGet(b)
		runPair(b,
			func(i int) { floor(e.floorIDs[i%len(e.floorIDs)]) },
			func(i int) {
				if _, err := e.m.GetByID(e.ctx, e.pgsIDs[i%len(e.pgsIDs)], pgsession.ForceRefresh(), pgsession.NoTouch()); err != nil {
					b.Fatal(err)
				}
			})
	})
	b.Run("by-token", func(b *testing.B) {
		e := newBenchEnv(b, noCache, benchSessions)
		floor := e.floorGet(b)
		runPair(b,
			func(i int) { floor(e.floorIDs[i%len(e.floorIDs)]) },
			func(i int) {
				if _, err := e.m.Get(e.ctx, e.pgsTokens[i%len(e.pgsTokens)], pgsession.NoTouch()); err != nil {
					b.Fatal(err)
				}
			})
	})
}

func BenchmarkCreate(b *testing.B) {
	for _, c := range []struct {
		name   string
		perCap int
	}{{"uncapped", 0}, {"capped", 5}} {
		b.Run(c.name, func(b *testing.B) {
			e := newBenchEnv(b, pgsession.Config{MaxSessionsPerUser: c.perCap}, 0)
			cfg := e.m.Config()
			// The floor's users are its own, so the cap never evicts its rows.
			pgsUsers := make([]string, benchUsers)
			floorUsers := make([]string, benchUsers)
			for i := range benchUsers {
				pgsUsers[i] = "user-" + strconv.Itoa(i)
				floorUsers[i] = "floor-user-" + strconv.Itoa(i)
			}
			sql := `INSERT INTO ` + e.table + ` (id, user_id, version, created_at, updated_at, last_seen_at,
    expires_at, idle_timeout, user_agent, ip, attrs)
VALUES ($1, $2, 1, now(), now(), now(), now() + $3::interval, $4::interval, $5, $6, $7::jsonb)`
			lifetime := pgtype.Interval{Microseconds: cfg.Lifetime.Microseconds(), Valid: true}
			idle := pgtype.Interval{Microseconds: cfg.IdleTimeout.Microseconds(), Valid: cfg.IdleTimeout > 0}
			runPair(b,
				func(i int) {
					var id [32]byte
					rand.Read(id[:])
					attrs, err := json.Marshal(benchAttrs)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := e.pool.Exec(e.ctx, sql, id[:], floorUsers[i%benchUsers], lifetime, idle,
						"", "", string(attrs)); err != nil {
						b.Fatal(err)
					}
				},
				func(i int) {
					if _, err := e.m.Create(e.ctx, pgsUsers[i%benchUsers], benchAttrs); err != nil {
						b.Fatal(err)
					}
				})
		})
	}
}

func BenchmarkUpdate(b *testing.B) {
	e := newBenchEnv(b, pgsession.Config{}, benchSessions)
	sql := `UPDATE ` + e.table + ` SET attrs = attrs || $2::jsonb, version = version + 1 WHERE id = $1`
	runPair(b,
		func(i int) {
			patch, err := json.Marshal(map[string]int{"n": i})
			if err != nil {
				b.Fatal(err)
			}
			id := e.floorIDs[i%len(e.floorIDs)]
			tag, err := e.pool.Exec(e.ctx, sql, id[:], string(patch))
			if err != nil {
				b.Fatal(err)
			}
			if tag.RowsAffected() != 1 {
				b.Fatalf("floor update touched %d rows", tag.RowsAffected())
			}
		},
		func(i int) {
			if _, err := e.m.Update(e.ctx, e.pgsIDs[i%len(e.pgsIDs)], new(pgsession.Patch).Set("n", i)); err != nil {
				b.Fatal(err)
			}
		})
}

// BenchmarkMemoryGet is the token path on the in-memory backend: token
// decoding, hashing, lookup and snapshot, with no I/O.
func BenchmarkMemoryGet(b *testing.B) {
	ctx := context.Background()
	m, err := pgsession.NewMemory(nil, pgsession.Config{TouchInterval: -1, SweepInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := m.Close(context.Background()); err != nil {
			b.Error(err)
		}
	})
	tokens := make([]string, benchSessions)
	for i := range tokens {
		s, err := m.Create(ctx, "user-"+strconv.Itoa(i%benchUsers), benchAttrs)
		if err != nil {
			b.Fatal(err)
		}
		tokens[i] = s.Token()
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := m.Get(ctx, tokens[i%len(tokens)], pgsession.NoTouch()); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkLock sets an uncontended Lock + Release (two round trips, with
// the session check, fencing token and lease judged by the database clock)
// beside the floor of two raw statements on a lease table of the same shape.
// gopgsession needs 6 round trips for each of its Lock and Unlock.
func BenchmarkLock(b *testing.B) {
	e := newBenchEnv(b, pgsession.Config{}, benchSessions)
	locks := pgx.Identifier{e.m.Config().Schema, "pgsession_locks"}.Sanitize()
	acquire := `INSERT INTO ` + locks + ` (session_id, resource, owner, fence, acquired_at, expires_at)
		VALUES ($1, 'floor', 'me', 1, now(), now() + interval '30 seconds') ON CONFLICT DO NOTHING`
	release := `DELETE FROM ` + locks + ` WHERE session_id = $1 AND resource = 'floor' AND owner = 'me'`
	cfg := &pgsession.LockConfig{Retries: -1, HeartbeatInterval: -1}
	runPair(b,
		func(i int) {
			id := e.floorIDs[i%len(e.floorIDs)]
			if _, err := e.pool.Exec(e.ctx, acquire, id[:]); err != nil {
				b.Fatal(err)
			}
			if _, err := e.pool.Exec(e.ctx, release, id[:]); err != nil {
				b.Fatal(err)
			}
		},
		func(i int) {
			l, err := e.m.Lock(e.ctx, e.pgsIDs[i%len(e.pgsIDs)], "r", cfg)
			if err != nil {
				b.Fatal(err)
			}
			if err := l.Release(e.ctx); err != nil {
				b.Fatal(err)
			}
		})
}
