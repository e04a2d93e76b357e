package redisaffinity_test

import (
	"bufio"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pgsession/pgsession/affinity"
	"github.com/pgsession/pgsession/affinity/redisaffinity"
)

// The scale benchmark: 100k sessions over 100 workers in Redis, this
// package's Store beside a naive baseline written here (blockyard's
// design: one hash per session, per-worker work done by a Lua script that
// SCANs the whole keyspace). Both run in the same process against the same
// Redis, so their figures are comparable; the benchmark ends with a table
// of ratios (naive / ours).
//
// Per operation it reports time, client commands (counted by a go-redis
// hook) and server commands (the INFO commandstats difference, which also
// counts the commands scripts run, so a SCAN inside Lua shows up). For
// Get it reports the latency of Gets sent on another connection while a
// reroute runs, beside their latency when Redis is idle.
//
//	cd affinity/redisaffinity && go test -run '^$' -bench WorkerOps

const (
	chunkSize     = 64 // the Store's per-script chunk, for the summary
	benchSessions = 100_000
	benchWorkers  = 100
	perWorker     = benchSessions / benchWorkers
)

// counter counts the commands a client sends.
type counter struct{ n atomic.Int64 }

func (c *counter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *counter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmd)
	}
}

func (c *counter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.n.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}

// serverCalls is the total of INFO commandstats calls (the INFO that reads
// it included).
func serverCalls(tb testing.TB, c *redis.Client) int64 {
	info, err := c.Info(context.Background(), "commandstats").Result()
	if err != nil {
		tb.Fatalf("INFO commandstats: %v", err)
	}
	var total int64
	sc := bufio.NewScanner(strings.NewReader(info))
	for sc.Scan() {
		line := sc.Text()
		_, rest, ok := strings.Cut(line, ":calls=")
		if !ok || !strings.HasPrefix(line, "cmdstat_") {
			continue
		}
		n, err := strconv.ParseInt(strings.SplitN(rest, ",", 2)[0], 10, 64)
		if err == nil {
			total += n
		}
	}
	return total
}

// impl is one implementation of the per-worker operations under test.
type impl struct {
	name     string
	reroute  func(ctx context.Context, from, to string) (int, error)
	count    func(ctx context.Context, worker string) (int, error)
	delete   func(ctx context.Context, worker string) (int, error)
	get      func(ctx context.Context, session string) error
	populate func(tb testing.TB, worker string, sessions []string) // re-pins sessions to worker
}

// measured accumulates one operation's cost over the timed iterations.
type measured struct {
	ops                  int
	elapsed              time.Duration
	clientCmds, srvCalls int64
}

func (m measured) perOp() (ns, client, server float64) {
	if m.ops == 0 {
		return 0, 0, 0
	}
	n := float64(m.ops)
	return float64(m.elapsed.Nanoseconds()) / n, float64(m.clientCmds) / n, float64(m.srvCalls) / n
}

type benchEnv struct {
	admin   *redis.Client // INFO, cleanup
	counter *counter      // on the operations' client
	impls   []*impl
}

func sessionID(worker, i int) string { return fmt.Sprintf("sess-%03d-%05d", worker, i) }

func workerID(w int) string { return fmt.Sprintf("w-%03d", w) }

func BenchmarkWorkerOps(b *testing.B) {
	ctx := context.Background()
	env := &benchEnv{admin: newClient(b, ""), counter: &counter{}}
	opt := redisOptions(b)
	opt.ContextTimeoutEnabled = true
	opt.PoolSize = 32
	opsClient := redis.NewClient(opt) // the operations, counted
	opsClient.AddHook(env.counter)
	b.Cleanup(func() { opsClient.Close() })
	getClient := newClient(b, "") // Gets during reroutes: their own connections

	ours := newOurs(b, opsClient, getClient)
	naive := newNaive(b, opsClient, getClient)
	env.impls = []*impl{ours, naive}
	start := time.Now()
	for w := range benchWorkers {
		ids := make([]string, perWorker)
		for i := range ids {
			ids[i] = sessionID(w, i)
		}
		ours.populate(b, workerID(w), ids)
		naive.populate(b, workerID(w), ids)
	}
	b.Logf("setup: %d sessions over %d workers in each implementation in %v", benchSessions, benchWorkers, time.Since(start).Round(time.Millisecond))

	results := map[string]measured{}
	latency := map[string][]time.Duration{}
	for _, im := range env.impls {
		b.Run("reroute/"+im.name, func(b *testing.B) {
			// Moves worker 0's sessions to a spare worker and back.
			from, to := workerID(0), "spare"
			results["reroute/"+im.name] = env.measure(b, func() {
				n, err := im.reroute(ctx, from, to)
				if err != nil || n != perWorker {
					b.Fatalf("reroute %s -> %s: %d, %v", from, to, n, err)
				}
				from, to = to, from
			}, nil)
		})
		b.Run("count/"+im.name, func(b *testing.B) {
			results["count/"+im.name] = env.measure(b, func() {
				n, err := im.count(ctx, workerID(1))
				if err != nil || n != perWorker {
					b.Fatalf("count: %d, %v", n, err)
				}
			}, nil)
		})
		b.Run("delete/"+im.name, func(b *testing.B) {
			w := workerID(2)
			ids := make([]string, perWorker)
			for i := range ids {
				ids[i] = sessionID(2, i)
			}
			results["delete/"+im.name] = env.measure(b, func() {
				n, err := im.delete(ctx, w)
				if err != nil || n != perWorker {
					b.Fatalf("delete: %d, %v", n, err)
				}
			}, func() { im.populate(b, w, ids) })
		})
		b.Run("get-idle/"+im.name, func(b *testing.B) {
			var lat []time.Duration
			for i := 0; b.Loop(); i++ {
				t0 := time.Now()
				if err := im.get(ctx, sessionID(3, i%perWorker)); err != nil {
					b.Fatalf("get: %v", err)
				}
				lat = append(lat, time.Since(t0))
			}
			latency["idle/"+im.name] = lat
			reportLatency(b, lat)
		})
		b.Run("get-during-reroute/"+im.name, func(b *testing.B) {
			from, to := workerID(4), "spare4"
			var lat []time.Duration
			for b.Loop() {
				lat = append(lat, getsDuring(b, im, func() {
					if _, err := im.reroute(ctx, from, to); err != nil {
						b.Fatalf("reroute: %v", err)
					}
					from, to = to, from
				})...)
			}
			latency["reroute/"+im.name] = lat
			reportLatency(b, lat)
		})
	}
	summarize(b, results, latency)
}

// measure times op over b.N iterations, counting client and server
// commands; prepare, if set, runs untimed and uncounted before each.
func (env *benchEnv) measure(b *testing.B, op func(), prepare func()) measured {
	var m measured
	for b.Loop() {
		if prepare != nil {
			b.StopTimer()
			prepare()
			b.StartTimer()
		}
		b.StopTimer()
		calls0, cmds0 := serverCalls(b, env.admin), env.counter.n.Load()
		b.StartTimer()
		t0 := time.Now()
		op()
		m.elapsed += time.Since(t0)
		b.StopTimer()
		m.clientCmds += env.counter.n.Load() - cmds0
		m.srvCalls += serverCalls(b, env.admin) - calls0 - 1 // the second INFO counts itself
		m.ops++
		b.StartTimer()
	}
	_, client, server := m.perOp()
	b.ReportMetric(client, "client-cmds/op")
	b.ReportMetric(server, "server-cmds/op")
	return m
}

// getsDuring sends Gets one after another, on their own connections,
// while run runs, and returns their latencies.
func getsDuring(b *testing.B, im *impl, run func()) []time.Duration {
	ctx := context.Background()
	var (
		lat     []time.Duration
		stop    atomic.Bool
		started = make(chan struct{})
		wg      sync.WaitGroup
	)
	wg.Go(func() {
		for i := 0; ; i++ {
			t0 := time.Now()
			if err := im.get(ctx, sessionID(5, i%perWorker)); err != nil {
				b.Errorf("get: %v", err)
				return
			}
			if i == 0 {
				close(started) // the first Get, before the reroute, is not counted
				continue
			}
			// A Get that was sent while the reroute ran counts, also when
			// it returns after the reroute did.
			lat = append(lat, time.Since(t0))
			if stop.Load() {
				return
			}
		}
	})
	<-started
	run()
	stop.Store(true)
	wg.Wait()
	return lat
}

func percentile(lat []time.Duration, p float64) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

func reportLatency(b *testing.B, lat []time.Duration) {
	b.ReportMetric(float64(percentile(lat, 0.5).Microseconds()), "p50-µs")
	b.ReportMetric(float64(percentile(lat, 0.99).Microseconds()), "p99-µs")
	b.ReportMetric(float64(slices.Max(append(lat, 0)).Microseconds()), "max-µs")
}

func summarize(b *testing.B, results map[string]measured, latency map[string][]time.Duration) {
	var sb strings.Builder
	fmt.Fprintf(&sb, "\n%d sessions, %d workers (%d per worker); per operation, naive (SCAN in Lua) vs ours (per-worker index):\n",
		benchSessions, benchWorkers, perWorker)
	fmt.Fprintf(&sb, "%-8s %12s %12s %7s | %10s %10s %7s | %10s %10s %7s\n",
		"op", "naive", "ours", "ratio", "naive cli", "ours cli", "ratio", "naive srv", "ours srv", "ratio")
	for _, op := range []string{"reroute", "count", "delete"} {
		nn, nc, nsrv := results[op+"/naive"].perOp()
		on, oc, osrv := results[op+"/ours"].perOp()
		fmt.Fprintf(&sb, "%-8s %12v %12v %6.0fx | %10.1f %10.1f %6.2fx | %10.0f %10.0f %6.0fx\n", op,
			time.Duration(nn).Round(time.Microsecond), time.Duration(on).Round(time.Microsecond), nn/on,
			nc, oc, nc/oc, nsrv, osrv, nsrv/osrv)
	}
	fmt.Fprintf(&sb, "(cli: commands the client sends; ours sends more, smaller scripts of %d sessions each, so Redis\n"+
		" serves other clients between them. srv: commands Redis runs, those inside scripts included.)\n", chunkSize)
	fmt.Fprintf(&sb, "Get latency, another connection (p50 / p99 / max):\n")
	for _, name := range []string{"ours", "naive"} {
		idle, during := latency["idle/"+name], latency["reroute/"+name]
		fmt.Fprintf(&sb, "  %-5s idle %v / %v / %v; during a reroute %v / %v / %v (p99 %.1fx idle)\n", name,
			percentile(idle, 0.5), percentile(idle, 0.99), slices.Max(append(idle, 0)),
			percentile(during, 0.5), percentile(during, 0.99), slices.Max(append(during, 0)),
			float64(percentile(during, 0.99))/float64(max(percentile(idle, 0.99), 1)))
	}
	op99, np99 := percentile(latency["reroute/ours"], 0.99), percentile(latency["reroute/naive"], 0.99)
	fmt.Fprintf(&sb, "  p99 during a reroute, naive / ours: %.0fx\n", float64(np99)/float64(max(op99, 1)))
	// A benchmark with sub-benchmarks prints no log of its own: stdout.
	fmt.Print(sb.String())
}

// newOurs is this package's Store under its own key prefix.
func newOurs(b *testing.B, ops, gets *redis.Client) *impl {
	prefix := keyPrefix(b)
	cfg := redisaffinity.Options{
		Config:      affinity.Config{App: "bench", IdleTimeout: time.Hour},
		KeyPrefix:   prefix,
		CallTimeout: 5 * time.Second,
	}
	s, err := redisaffinity.NewStore(ops, cfg)
	if err != nil {
		b.Fatal(err)
	}
	g, err := redisaffinity.NewStore(gets, cfg)
	if err != nil {
		b.Fatal(err)
	}
	return &impl{
		name:    "ours",
		reroute: s.RerouteWorker,
		count:   s.CountForWorker,
		delete:  s.DeleteByWorker,
		get: func(ctx context.Context, id string) error {
			_, err := g.Get(ctx, id)
			return err
		},
		populate: func(tb testing.TB, worker string, ids []string) {
			// Through the public Set, 16 at a time.
			var wg sync.WaitGroup
			ch := make(chan string)
			for range 16 {
				wg.Go(func() {
					for id := range ch {
						if _, err := g.Set(context.Background(), id, worker, "user"); err != nil {
							tb.Errorf("set: %v", err)
						}
					}
				})
			}
			for _, id := range ids {
				ch <- id
			}
			close(ch)
			wg.Wait()
		},
	}
}

// The naive baseline, after blockyard's Redis store: <prefix>session:<id>
// hashes with a TTL; per-worker operations are Lua scripts that SCAN the
// whole keyspace for the prefix and test each hash's worker.
var (
	naiveReroute = redis.NewScript(`
local cursor, n = '0', 0
repeat
	local r = redis.call('SCAN', cursor, 'MATCH', ARGV[1] .. 'session:*', 'COUNT', 1000)
	cursor = r[1]
	for _, k in ipairs(r[2]) do
		if redis.call('HGET', k, 'worker_id') == ARGV[2] then
			redis.call('HSET', k, 'worker_id', ARGV[3])
			n = n + 1
		end
	end
until cursor == '0'
return n`)
	naiveCount = redis.NewScript(`
local cursor, n = '0', 0
repeat
	local r = redis.call('SCAN', cursor, 'MATCH', ARGV[1] .. 'session:*', 'COUNT', 1000)
	cursor = r[1]
	for _, k in ipairs(r[2]) do
		if redis.call('HGET', k, 'worker_id') == ARGV[2] then n = n + 1 end
	end
until cursor == '0'
return n`)
	naiveDelete = redis.NewScript(`
local cursor, n = '0', 0
repeat
	local r = redis.call('SCAN', cursor, 'MATCH', ARGV[1] .. 'session:*', 'COUNT', 1000)
	cursor = r[1]
	for _, k in ipairs(r[2]) do
		if redis.call('HGET', k, 'worker_id') == ARGV[2] then
			redis.call('DEL', k)
			n = n + 1
		end
	end
until cursor == '0'
return n`)
)

func newNaive(b *testing.B, ops, gets *redis.Client) *impl {
	prefix := keyPrefix(b)
	runInt := func(ctx context.Context, s *redis.Script, args ...any) (int, error) {
		n, err := s.Run(ctx, ops, nil, args...).Int()
		return n, err
	}
	return &impl{
		name: "naive",
		reroute: func(ctx context.Context, from, to string) (int, error) {
			return runInt(ctx, naiveReroute, prefix, from, to)
		},
		count: func(ctx context.Context, w string) (int, error) {
			return runInt(ctx, naiveCount, prefix, w)
		},
		delete: func(ctx context.Context, w string) (int, error) {
			return runInt(ctx, naiveDelete, prefix, w)
		},
		get: func(ctx context.Context, id string) error {
			m, err := gets.HGetAll(ctx, prefix+"session:"+id).Result()
			if err == nil && len(m) == 0 {
				err = affinity.ErrNotFound
			}
			return err
		},
		populate: func(tb testing.TB, worker string, ids []string) {
			ctx := context.Background()
			now := strconv.FormatInt(time.Now().Unix(), 10)
			_, err := gets.Pipelined(ctx, func(p redis.Pipeliner) error {
				for _, id := range ids {
					k := prefix + "session:" + id
					p.HSet(ctx, k, "worker_id", worker, "user_sub", "user", "last_access", now)
					p.Expire(ctx, k, time.Hour)
				}
				return nil
			})
			if err != nil {
				tb.Fatalf("populate naive: %v", err)
			}
		},
	}
}
