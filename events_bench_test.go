package pgsession_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/pgsessiontest"
	"github.com/pgsession/pgsession/pgsessiontest/backends"
)

// What session events (Config.Events) cost. Each benchmark sets the library
// with events on beside the same library with events off, measured in the
// same run and interleaved (per iteration, or per round, alternating which
// side goes first), so a busy machine's noise falls on both alike: what to
// read is the ratio on/off. Nothing here asserts a time. With events on,
// every node has a subscriber draining its events, as an application would.
//
// Each side is a deployment of its own: its own schema, hence its own
// NOTIFY channel, so the events-on side's announcements never reach the
// events-off side's listeners (nor the reverse) and each side pays for
// exactly what its configuration sends and hears. The sides share the
// pools, node by node (the same connections, as the floor and the library
// do in bench_test.go), since they never run at the same time; each side's
// table grows alike, as they alternate.
//
// Every benchmark is meaningful with -benchtime 1x: the per-iteration one
// takes at least eventsCreateIters pairs (more if b.N asks), the others run
// a fixed number of rounds whatever b.N. The set takes about a minute:
//
//	go test -run '^$' -bench 'Events' -benchtime 1x -count 2 .

const (
	eventsCreateIters = 1000 // minimum timed pairs of the create latency
	eventsCreateCap   = 5    // MaxSessionsPerUser of the capped variant
	eventsSweepN      = 5000 // expired sessions per sweep
	eventsSweepLive   = 2500 // live sessions the sweep walks past and keeps
	eventsSweepRounds = 8    // sweeps of each side
	eventsSettle      = 20 * time.Millisecond
	eventsDeadline    = 10 * time.Second // for every announced event to arrive
)

// uuidUser returns a random version-4 UUID string, 36 characters: the
// owner of a session, as many applications name their users.
func uuidUser() string {
	var u [16]byte
	rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:])
}

func uuidUsers(n int) []string {
	users := make([]string, n)
	for i := range users {
		users[i] = uuidUser()
	}
	return users
}

// eventsSide is one deployment: nodes on a schema of their own, with
// events on or off. With them on, each node has a subscriber counting what
// reaches it (all nodes together).
type eventsSide struct {
	name  string
	nodes []*pgsession.Manager
	table string // quoted sessions table

	received, created, updated, deleted, missed atomic.Int64
	bad                                         atomic.Pointer[string] // the first malformed event
}

// newEventsSide starts one node per pool on a fresh schema. With
// cfg.Events, each node's subscriber also passes every event to seen (if
// not nil), on the subscriber's goroutine.
func newEventsSide(b *testing.B, name string, pools []*pgxpool.Pool, cfg pgsession.Config,
	seen func(node int, e pgsession.Event)) *eventsSide {
	b.Helper()
	ctx := context.Background()
	cfg.Schema = pgsessiontest.Schema(b)
	s := &eventsSide{name: name, table: pgx.Identifier{cfg.Schema, "pgsession_sessions"}.Sanitize()}
	// Registered first, so it runs after the Managers close, which ends
	// their subscriptions.
	var wg sync.WaitGroup
	b.Cleanup(wg.Wait)
	for i, pool := range pools {
		m, err := pgsession.New(ctx, pool, backends.ListenDirect(b, cfg))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() {
			if err := m.Close(context.Background()); err != nil {
				b.Error(err)
			}
		})
		s.nodes = append(s.nodes, m)
		if cfg.Events {
			ch, err := m.Subscribe(ctx)
			if err != nil {
				b.Fatal(err)
			}
			wg.Go(func() {
				for e := range ch {
					s.count(e)
					if seen != nil {
						seen(i, e)
					}
				}
			})
		}
		waitCacheServing(b, m) // the listener is up: every announcement from here on is heard
	}
	return s
}

func (s *eventsSide) count(e pgsession.Event) {
	s.received.Add(1)
	switch e.Kind {
	case pgsession.SessionCreated:
		s.created.Add(1)
	case pgsession.SessionUpdated:
		s.updated.Add(1)
		// Every session of these benchmarks has an owner, and every
		// update writes a key.
		if e.UserID == "" || len(e.Keys) == 0 {
			s.fail(fmt.Sprintf("update event without owner or keys: %+v", e))
		}
	case pgsession.SessionDeleted:
		s.deleted.Add(1)
		if e.UserID == "" || e.Reason == pgsession.ReasonUnknown {
			s.fail(fmt.Sprintf("delete event without owner or reason: %+v", e))
		}
	case pgsession.EventsMissed:
		s.missed.Add(1)
	}
}

func (s *eventsSide) fail(msg string) { s.bad.CompareAndSwap(nil, &msg) }

// check fails the benchmark, from its own goroutine, if a subscriber saw a
// malformed event or a gap.
func (s *eventsSide) check(b *testing.B) {
	b.Helper()
	if msg := s.bad.Load(); msg != nil {
		b.Fatal(*msg)
	}
	if n := s.missed.Load(); n > 0 {
		b.Fatalf("the %s side's subscribers received %d EventsMissed", s.name, n)
	}
}

// settle waits until the side's subscribers have received nothing for
// eventsSettle (at most eventsDeadline), so one phase's deliveries do not
// spill into the next phase's time. A side without subscribers waits
// eventsSettle once, so both sides pause alike.
func (s *eventsSide) settle() {
	deadline := time.Now().Add(eventsDeadline)
	for {
		n := s.received.Load()
		time.Sleep(eventsSettle)
		if s.received.Load() == n || time.Now().After(deadline) {
			return
		}
	}
}

// eventsEnv is the two deployments, events off and on, node i of each on
// pools[i].
type eventsEnv struct {
	ctx     context.Context
	pools   []*pgxpool.Pool
	off, on *eventsSide
}

func newEventsEnv(b *testing.B, nodes int, cfg pgsession.Config, seen func(node int, e pgsession.Event)) *eventsEnv {
	b.Helper()
	e := &eventsEnv{ctx: context.Background()}
	for range nodes {
		e.pools = append(e.pools, pgsessiontest.Pool(b, nil))
	}
	cfg.Events = false
	e.off = newEventsSide(b, "off", e.pools, cfg, nil)
	cfg.Events = true
	e.on = newEventsSide(b, "on", e.pools, cfg, seen)
	return e
}

// sides returns the two sides in round r's order: off first in even rounds.
func (e *eventsEnv) sides(r int) [2]*eventsSide {
	if r%2 == 0 {
		return [2]*eventsSide{e.off, e.on}
	}
	return [2]*eventsSide{e.on, e.off}
}

// phases runs op on throughputWorkers goroutines (the shape of
// BenchmarkUpdateThroughput) for throughputPhase per side per round,
// throughputRounds rounds alternating the sides' order, after a warm-up of
// each, and reports each side's operations per second, their ratio and the
// median of the per-round ratios. It returns the operations the events-on
// side completed, warm-up included. b.N is not used.
func (e *eventsEnv) phases(b *testing.B, op func(s *eventsSide) func(w, i int) error) int64 {
	b.Helper()
	runner := &throughputEnv{ctx: e.ctx} // its phase helpers use nothing else
	var onOps int64
	for _, s := range e.sides(0) {
		n, _, err := runner.phaseCount(throughputWarmup, op(s))
		if err != nil {
			b.Fatal(s.name, ": ", err)
		}
		if s == e.on {
			onOps += n
		}
		s.settle()
	}
	rate := map[*eventsSide][]float64{}
	b.ResetTimer()
	for r := range throughputRounds {
		for _, s := range e.sides(r) {
			n, took, err := runner.phaseCount(throughputPhase, op(s))
			if err != nil {
				b.Fatal(s.name, ": ", err)
			}
			rate[s] = append(rate[s], float64(n)/took.Seconds())
			if s == e.on {
				onOps += n
			}
			s.settle()
		}
	}
	b.StopTimer()
	mean := func(x []float64) float64 {
		var t float64
		for _, v := range x {
			t += v
		}
		return t / float64(len(x))
	}
	perRound := make([]float64, throughputRounds)
	for r := range perRound {
		perRound[r] = rate[e.on][r] / rate[e.off][r]
	}
	slices.Sort(perRound)
	on, off := mean(rate[e.on]), mean(rate[e.off])
	b.ReportMetric(1e9/on, "ns/op") // one operation's share of the workers' wall time, events on
	b.ReportMetric(off, "off-ops/s")
	b.ReportMetric(on, "on-ops/s")
	b.ReportMetric(on/off, "ratio")
	b.ReportMetric((perRound[(throughputRounds-1)/2]+perRound[throughputRounds/2])/2, "p50-ratio")
	return onOps
}

// BenchmarkEventsCreate sets Create with events on (the creation announced
// inside its own transaction; capped, the evictions with owner and reason)
// beside Create with events off, on a deployment of two nodes per side: the
// one creating and another, whose subscriber must hear every creation.
//
//   - uncapped, capped: one goroutine, alternating per iteration between
//     the sides' creating nodes, each call timed alone; reports each side's
//     p50 and p99 and their ratios. Events off, an uncapped Create sends no
//     NOTIFY at all; on, it sends one, and PostgreSQL serializes the commits
//     of notifying transactions cluster-wide (a lock held through the WAL
//     flush), which one goroutine never contends for. Capped, both sides
//     announce the eviction, on with the owner and reason.
//   - parallel: 16 workers over three nodes per side, uncapped, alternating
//     rounds: where that serialization shows. For scale, pgbench with 16
//     clients on this machine ran a raw one-row INSERT at about 10,100 tps
//     and the same INSERT with a pg_notify in its transaction at about
//     2,400 (0.23x), no listener at all.
func BenchmarkEventsCreate(b *testing.B) {
	latency := func(capped bool) func(b *testing.B) {
		return func(b *testing.B) {
			cfg := testConfig()
			if capped {
				cfg.MaxSessionsPerUser = eventsCreateCap
			}
			e := newEventsEnv(b, 2, cfg, nil)
			users := uuidUsers(benchUsers)
			create := func(s *eventsSide) func(i int) {
				return func(i int) {
					if _, err := s.nodes[0].Create(e.ctx, users[i%len(users)], benchAttrs); err != nil {
						b.Fatal(err)
					}
				}
			}
			off, on := create(e.off), create(e.on)
			if capped { // every user at the cap: each timed create evicts one
				for i := range benchUsers * eventsCreateCap {
					off(i)
					on(i)
				}
			}
			e.on.settle()
			created0, deleted0 := e.on.created.Load(), e.on.deleted.Load()
			n := runEventsPair(b, off, on)
			e.on.settle()
			e.on.check(b)
			// Each creation reaches both nodes' subscribers, and, capped,
			// each eviction.
			b.ReportMetric(float64(e.on.created.Load()-created0)/float64(2*n), "on-created-events/create/node")
			if capped {
				b.ReportMetric(float64(e.on.deleted.Load()-deleted0)/float64(2*n), "on-evicted-events/create/node")
			}
		}
	}
	b.Run("uncapped", latency(false))
	b.Run("capped", latency(true))
	b.Run("parallel", func(b *testing.B) {
		e := newEventsEnv(b, throughputNodes, testConfig(), nil)
		users := uuidUsers(benchUsers)
		created0 := e.on.created.Load()
		n := e.phases(b, func(s *eventsSide) func(w, i int) error {
			return func(w, i int) error {
				_, err := s.nodes[w%len(s.nodes)].Create(e.ctx, users[(w*7919+i)%len(users)], benchAttrs)
				return err
			}
		})
		e.on.check(b)
		b.ReportMetric(float64(e.on.created.Load()-created0)/float64(n*throughputNodes), "on-created-events/create/node")
	})
}

// runEventsPair runs off and on once per iteration, max(b.N,
// eventsCreateIters) iterations, alternating which goes first, each timed
// alone, after benchWarmup untimed rounds; it reports each side's mean, p50
// and p99 and the ratios on/off, and returns the number of calls of each
// side, warm-up included.
// The built-in ns/op is replaced by the events-on side's mean.
func runEventsPair(b *testing.B, off, on func(i int)) int {
	b.Helper()
	k := 1 << 20 // past the indexes of any setup
	for range benchWarmup {
		off(k)
		on(k)
		k++
	}
	n := max(b.N, eventsCreateIters)
	offEach, onEach := make([]time.Duration, 0, n), make([]time.Duration, 0, n)
	b.ResetTimer()
	for r := range n {
		first, second := off, on
		if r%2 == 1 {
			first, second = on, off
		}
		t0 := time.Now()
		first(k)
		t1 := time.Now()
		second(k)
		t2 := time.Now()
		if r%2 == 0 {
			offEach, onEach = append(offEach, t1.Sub(t0)), append(onEach, t2.Sub(t1))
		} else {
			onEach, offEach = append(onEach, t1.Sub(t0)), append(offEach, t2.Sub(t1))
		}
		k++
	}
	b.StopTimer()
	us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }
	meanOf := func(d []time.Duration) time.Duration {
		var t time.Duration
		for _, x := range d {
			t += x
		}
		return t / time.Duration(len(d))
	}
	pct := func(d []time.Duration, p float64) time.Duration {
		s := slices.Clone(d)
		slices.Sort(s)
		return s[min(len(s)-1, int(p*float64(len(s))))]
	}
	b.ReportMetric(float64(meanOf(onEach).Nanoseconds()), "ns/op")
	b.ReportMetric(us(pct(offEach, 0.5)), "off-p50-us")
	b.ReportMetric(us(pct(onEach, 0.5)), "on-p50-us")
	b.ReportMetric(float64(pct(onEach, 0.5))/float64(pct(offEach, 0.5)), "p50-ratio")
	b.ReportMetric(us(pct(offEach, 0.99)), "off-p99-us")
	b.ReportMetric(us(pct(onEach, 0.99)), "on-p99-us")
	b.ReportMetric(float64(pct(onEach, 0.99))/float64(pct(offEach, 0.99)), "p99-ratio")
	b.ReportMetric(float64(meanOf(onEach))/float64(meanOf(offEach)), "ratio")
	return benchWarmup + n
}

// BenchmarkEventsUpdateThroughput is BenchmarkUpdateThroughput's shape, 16
// workers over three nodes updating one attribute of their sessions (each
// owned by a user with a 36-character id), with events on beside events
// off, in alternating rounds. Off, an update's after-commit announcement
// carries the ID and version; on, also the owner and the keys written, and
// every node's subscriber turns it into an event (checked to carry both).
func BenchmarkEventsUpdateThroughput(b *testing.B) {
	e := newEventsEnv(b, throughputNodes, testConfig(), nil)
	users := uuidUsers(benchUsers)
	ids := map[*eventsSide][][]pgsession.ID{}
	for _, s := range []*eventsSide{e.off, e.on} {
		perWorker := make([][]pgsession.ID, throughputWorkers)
		runner := &throughputEnv{ctx: e.ctx}
		err := runner.parallel(func(w int) error {
			m := s.nodes[w%len(s.nodes)]
			for j := range throughputPerWorker {
				ss, err := m.Create(e.ctx, users[(w*throughputPerWorker+j)%len(users)], benchAttrs)
				if err != nil {
					return err
				}
				perWorker[w] = append(perWorker[w], ss.ID())
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		ids[s] = perWorker
		s.settle()
	}
	updated0 := e.on.updated.Load()
	n := e.phases(b, func(s *eventsSide) func(w, i int) error {
		return func(w, i int) error {
			_, err := s.nodes[w%len(s.nodes)].Update(e.ctx, ids[s][w][i%throughputPerWorker], new(pgsession.Patch).Set("n", i))
			return err
		}
	})
	e.on.check(b)
	// One event per update per node, less what a node's announcer merged
	// (updates of one session within a few milliseconds).
	b.ReportMetric(float64(e.on.updated.Load()-updated0)/float64(n*throughputNodes), "on-updated-events/update/node")
}

// sweepWatch follows, on each node of the events-on side, the expired
// sessions a sweep must announce.
type sweepWatch struct {
	mu      sync.Mutex
	want    map[pgsession.ID]string // this round's expired sessions and their owners
	seen    []map[pgsession.ID]bool // per node: which of want it received
	doneAt  []time.Time             // per node: when it had received all of want
	stray   []string                // events for sessions not in want
	waiting int                     // nodes still missing some of want
}

func (w *sweepWatch) expect(want map[pgsession.ID]string, nodes int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.want, w.waiting = want, nodes
	w.seen, w.doneAt = make([]map[pgsession.ID]bool, nodes), make([]time.Time, nodes)
	for i := range w.seen {
		w.seen[i] = map[pgsession.ID]bool{}
	}
}

func (w *sweepWatch) event(node int, e pgsession.Event) {
	if e.Kind != pgsession.SessionDeleted {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.want == nil {
		w.stray = append(w.stray, fmt.Sprintf("node %d, before any sweep: %+v", node, e))
		return
	}
	owner, ok := w.want[e.SessionID]
	switch {
	case !ok || e.Reason != pgsession.Expired || e.UserID != owner:
		w.stray = append(w.stray, fmt.Sprintf("node %d: %+v (owner %q)", node, e, owner))
	case w.seen[node][e.SessionID]:
		w.stray = append(w.stray, fmt.Sprintf("node %d: twice: %+v", node, e))
	default:
		w.seen[node][e.SessionID] = true
		if len(w.seen[node]) == len(w.want) {
			w.doneAt[node] = time.Now()
			w.waiting--
		}
	}
}

// wait returns when every node has received every expected session, and
// when the last one had, or an error.
func (w *sweepWatch) wait() (time.Time, error) {
	deadline := time.Now().Add(eventsDeadline)
	for {
		w.mu.Lock()
		waiting, stray := w.waiting, w.stray
		var last time.Time
		got := make([]int, len(w.seen))
		for i, t := range w.doneAt {
			if t.After(last) {
				last = t
			}
			got[i] = len(w.seen[i])
		}
		w.mu.Unlock()
		switch {
		case len(stray) > 0:
			return last, fmt.Errorf("%d unexpected events, the first %s", len(stray), stray[0])
		case waiting == 0:
			return last, nil
		case time.Now().After(deadline):
			return last, fmt.Errorf("after %v, the nodes had received %v of the %d expired sessions", eventsDeadline, got, len(w.want))
		}
		time.Sleep(time.Millisecond)
	}
}

// BenchmarkEventsSweep times a sweep pass that deletes eventsSweepN expired
// sessions (owned by users with 36-character ids, among eventsSweepLive
// live ones it keeps, in batches of the default 1000 rows) with events on
// beside events off, each side's sweep run by node 0 of two, in
// alternating rounds. Events on, each batch announces its expired sessions
// with their owners in notifications of at most 7,000 bytes of items
// (about 50 ids each here); every round checks that the sweep succeeded,
// deleted exactly the expired sessions, and that the subscribers of both
// nodes (node 1 being the other node) received each one once, with its
// owner and reason Expired, and no other. Reports each side's time per
// sweep, their ratio, and how long after the sweep started the last event
// arrived (on-delivered-ms).
//
// Sessions are inserted raw, untimed (the creations would otherwise be
// announced too), and the table is vacuumed before each sweep: autovacuum
// may be off, and each side's dead rows would otherwise pile up differently.
func BenchmarkEventsSweep(b *testing.B) {
	watch := &sweepWatch{}
	cfg := testConfig()
	// Room for a whole sweep's events in a subscriber's queue: the check
	// is that every one arrives, not how fast the subscriber reads.
	cfg.EventBuffer = 2 * eventsSweepN
	e := newEventsEnv(b, 2, cfg, watch.event)
	attrs, err := json.Marshal(benchAttrs)
	if err != nil {
		b.Fatal(err)
	}
	insert := func(s *eventsSide, n int, expired bool) map[pgsession.ID]string {
		ids, owners := make([][]byte, n), make([]string, n)
		sessions := make(map[pgsession.ID]string, n)
		for i := range ids {
			var id pgsession.ID
			rand.Read(id[:])
			ids[i], owners[i] = id[:], uuidUser()
			sessions[id] = owners[i]
		}
		expires := `now() + interval '1 day'`
		if expired {
			expires = `now() - interval '1 minute'`
		}
		_, err := e.pools[0].Exec(e.ctx, `INSERT INTO `+s.table+` (id, user_id, version, created_at, updated_at,
    last_seen_at, expires_at, idle_timeout, user_agent, ip, attrs)
SELECT x.id, x.owner, 1, now() - interval '1 day', now() - interval '1 day', now() - interval '1 day',
    `+expires+`, NULL, '', '', $3::jsonb
FROM unnest($1::bytea[], $2::text[]) AS x(id, owner)`, ids, owners, string(attrs))
		if err != nil {
			b.Fatal(err)
		}
		return sessions
	}
	// round inserts the expired sessions, sweeps them and checks what
	// followed; it returns the sweep's time and, events on, how long after
	// the sweep started the last event arrived.
	round := func(s *eventsSide) (took, delivered time.Duration) {
		want := insert(s, eventsSweepN, true)
		if _, err := e.pools[0].Exec(e.ctx, `VACUUM ANALYZE `+s.table, pgx.QueryExecModeSimpleProtocol); err != nil {
			b.Fatal(err)
		}
		if s == e.on {
			watch.expect(want, len(s.nodes))
		}
		t0 := time.Now()
		res, err := s.nodes[0].Sweep(e.ctx)
		took = time.Since(t0)
		if err != nil {
			b.Fatal(s.name, ": ", err)
		}
		if !res.Ran || !res.Complete || res.Deleted != eventsSweepN {
			b.Fatalf("%s: the sweep did not delete the %d expired sessions in one pass: %+v", s.name, eventsSweepN, res)
		}
		if s == e.on {
			last, err := watch.wait()
			if err != nil {
				b.Fatal(err)
			}
			delivered = last.Sub(t0)
			s.check(b)
		}
		s.settle()
		return took, delivered
	}
	for _, s := range e.sides(0) {
		insert(s, eventsSweepLive, false)
		round(s) // warm-up: statements prepared, the first pass's setup
	}
	var offEach, onEach, deliveredEach []time.Duration
	b.ResetTimer()
	for r := range eventsSweepRounds {
		for _, s := range e.sides(r) {
			took, delivered := round(s)
			if s == e.on {
				onEach, deliveredEach = append(onEach, took), append(deliveredEach, delivered)
			} else {
				offEach = append(offEach, took)
			}
		}
	}
	b.StopTimer()
	ms := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }
	sum := func(d []time.Duration) (t time.Duration) {
		for _, x := range d {
			t += x
		}
		return t
	}
	b.ReportMetric(float64(sum(onEach).Nanoseconds())/float64(len(onEach)), "ns/op") // one sweep, events on
	b.ReportMetric(ms(sum(offEach))/float64(len(offEach)), "off-ms/sweep")
	b.ReportMetric(ms(sum(onEach))/float64(len(onEach)), "on-ms/sweep")
	b.ReportMetric(float64(sum(onEach))/float64(sum(offEach)), "ratio")
	b.ReportMetric(float64(median(onEach))/float64(median(offEach)), "p50-ratio")
	b.ReportMetric(float64((median(onEach)-median(offEach)).Nanoseconds())/1e3/eventsSweepN, "on-extra-us/id") // p50s
	b.ReportMetric(ms(median(deliveredEach)), "on-delivered-ms")
	b.ReportMetric(eventsSweepN, "expired/sweep")
}
