package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pgsession/pgsession"
)

// The many-node workload: 2, 8 and 32 Managers on one PostgreSQL, each with
// a pool and a listener connection of its own, as that many processes
// would have. A few of them update sessions at a fixed total rate; all of
// them hold the sessions under test in their caches. Per node count, on a
// fresh schema of a database made for the workload, it measures:
//
//   - load: what the updates cost the server (CPU of the postgres
//     processes, NOTIFY statements, change-log rows read) per update;
//   - invalidation: from a probe update returning on its writer to each
//     other node first serving the new version from a read through its
//     cache, for every (update, other node) pair, under the same load;
//   - idle: what the nodes cost the server with no update at all (the
//     change-log reads and the listeners' heartbeats);
//   - WAL per update, from updates made one at a time.

// nodeCounts are the cluster sizes measured, in this order.
var nodeCounts = []int{2, 8, 32}

const (
	partNodes = "many nodes" // the part's name in the progress bar

	nodesRate       = 400 // background updates a second, all writer nodes together
	nodesMaxWriters = 4   // nodes that write (fewer when there are fewer nodes); the rest only read
	nodesWriterPool = 2   // MaxConns of a writer node's pool
	nodesReaderPool = 1   // MaxConns of every other node's pool
	nodesHeadroom   = 5   // connections left free for the server's other clients
	nodesWALUpdates = 100 // updates per run of the WAL measurement
	nodesBgSessions = 16  // sessions each writer node updates in turn for the load
	nodesProbes     = 4   // sessions each writer node updates for the invalidation trials
	nodesUSERHZ     = 100 // units of utime and stime in /proc/<pid>/stat (USER_HZ)

	// nodesPollEvery is how long an observer waits between two reads of a
	// probe session that still shows the old version: the resolution of
	// the invalidation latency.
	nodesPollEvery = 200 * time.Microsecond
)

// nodesWindows are the lengths of one node count's windows.
type nodesWindows struct {
	load, probe  time.Duration // load window; invalidation window (at most)
	settle, idle time.Duration // quiet before the idle window; the idle window
	maxTrials    int           // probe updates at most
	walRuns      int           // runs of the WAL measurement; the least is kept
	connWait     time.Duration // how long to wait for enough free connections
}

func (s settings) nodesWindows() nodesWindows {
	if s.quick {
		return nodesWindows{load: 400 * time.Millisecond, probe: 400 * time.Millisecond,
			settle: 100 * time.Millisecond, idle: 400 * time.Millisecond, maxTrials: 40, walRuns: 2, connWait: 5 * time.Second}
	}
	// settle passes ListenerPingInterval (1 s), so the idle window sees
	// the heartbeats of quiet listeners.
	return nodesWindows{load: 3 * time.Second, probe: 3 * time.Second,
		settle: 1200 * time.Millisecond, idle: 2 * time.Second, maxTrials: 400, walRuns: 10, connWait: time.Minute}
}

// nodesPart is the workload's entry in the progress bar's plan.
func nodesPart(s settings) part {
	w := s.nodesWindows()
	var total time.Duration
	for _, n := range nodeCounts {
		total += w.load + w.probe + w.settle + w.idle + time.Duration(w.walRuns)*150*time.Millisecond +
			time.Duration(n)*30*time.Millisecond + 300*time.Millisecond
	}
	return part{partNodes, total}
}

// nodesResult is one node count.
type nodesResult struct {
	nodes, writers int
	skipped        string // why the count did not run (connections), or ""

	conns, serverConns int64 // connections the nodes held (listeners included); all of the server's

	// The load window.
	window        time.Duration
	updates       int64
	announcements int64 // NOTIFY statements of the announcers
	heartbeats    int64 // NOTIFY statements of the listeners' probes
	logRows       int64 // change-log rows the nodes read
	cpuOK         bool  // the postgres processes' CPU could be read
	cpuServer     time.Duration
	cpuListeners  time.Duration // the nodes' listener backends
	cpuPools      time.Duration // the nodes' pool backends

	// The invalidation window.
	lat      []time.Duration // per (probe update, other node), sorted
	lastNode []time.Duration // per probe update: its slowest node, sorted
	trials   int

	// The idle window.
	idle          time.Duration
	idleCPU       time.Duration // the nodes' backends, listeners and pools
	idleListenCPU time.Duration // of which the listeners
	idleStmts     int64         // statements the pools sent
	idleHeartbeat int64

	walBytes int64 // WAL of nodesWALUpdates sequential updates: the least of walRuns runs
}

// runNodes measures each of nodeCounts in turn, releasing one's
// connections before the next starts.
func runNodes(ctx context.Context, e *env, s settings) (_ []nodesResult, err error) {
	all := e.mark() // the database goes last
	defer func() { err = errors.Join(err, e.release(all)) }()
	db, err := nodesDatabase(ctx, e)
	if err != nil {
		return nil, err
	}
	var out []nodesResult
	for _, n := range nodeCounts {
		mark := e.mark()
		r, err := measureNodes(ctx, e, db, s, n)
		err = errors.Join(err, e.release(mark))
		if err != nil {
			return nil, fmt.Errorf("%d nodes: %w", n, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// nodesDatabase creates a database for the workload, dropped by e's
// release. A schema of its own would not do: PostgreSQL (up to 17 at
// least) wakes every listener of a database at each notifying commit in
// it, whatever the channel, so in a database shared with other clients the
// nodes' listeners would also pay for those clients' notifications.
func nodesDatabase(ctx context.Context, e *env) (string, error) {
	var b [5]byte
	rand.Read(b[:])
	name := "pgsbench_nodes_" + hex.EncodeToString(b[:])
	if _, err := e.admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("create database: %w", err)
	}
	e.defer_(func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := e.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
		return err
	})
	return name, nil
}

func measureNodes(ctx context.Context, e *env, db string, s settings, n int) (nodesResult, error) {
	w := s.nodesWindows()
	res := nodesResult{nodes: n, writers: min(nodesMaxWriters, n)}
	// The server is shared: wait a while for enough free connections.
	need := int64(n + res.writers*nodesWriterPool + (n-res.writers)*nodesReaderPool)
	for deadline := time.Now().Add(w.connWait); ; time.Sleep(time.Second) {
		var maxConns, used int64
		if err := e.admin.QueryRow(ctx, `SELECT current_setting('max_connections')::bigint,
			(SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')`).Scan(&maxConns, &used); err != nil {
			return res, err
		}
		free := maxConns - used - nodesHeadroom
		if need <= free {
			break
		}
		if time.Now().After(deadline) {
			res.skipped = fmt.Sprintf("skipped: needs up to %d connections, %d free (max_connections %d, %d in use, %d kept free)",
				need, max(free, 0), maxConns, used, nodesHeadroom)
			return res, nil
		}
		progress("many nodes: %d: waiting for %d free connections (%d now)", n, need, free)
	}

	progress("many nodes: %d: starting the nodes", n)
	ns, err := startNodes(ctx, e, db, n, res.writers)
	if err != nil {
		return res, err
	}
	// The sessions: each writer node's own, for the load and for the
	// probes; every node reads every probe session of the other nodes, so
	// it holds them in its cache.
	bg, probes := make([][]pgsession.ID, res.writers), make([][]pgsession.ID, res.writers)
	for wr := range res.writers {
		for k := range nodesBgSessions + nodesProbes {
			ss, err := ns.nodes[wr].Create(ctx, "", sessionAttrs)
			if err != nil {
				return res, err
			}
			if k < nodesBgSessions {
				bg[wr] = append(bg[wr], ss.ID())
			} else {
				probes[wr] = append(probes[wr], ss.ID())
			}
		}
	}
	if err := ns.each(func(j int, m *pgsession.Manager) error {
		for wr, ids := range probes {
			for _, id := range ids {
				if wr == j {
					continue
				}
				if _, err := m.GetByID(ctx, id, pgsession.NoTouch()); err != nil {
					return err
				}
			}
		}
		return nil
	}); err != nil {
		return res, err
	}

	load := startNodesLoad(ctx, ns, bg)
	defer load.halt()
	time.Sleep(200 * time.Millisecond) // the announcers' gaps find their level

	// The load window.
	progress("many nodes: %d: load window", n)
	a0 := ns.snap(load)
	time.Sleep(w.load)
	a1 := ns.snap(load)
	listeners, pools, err := ns.backends(ctx, e)
	if err != nil {
		return res, err
	}
	res.window = a1.at.Sub(a0.at)
	res.updates = a1.updates - a0.updates
	res.announcements = a1.announcements - a0.announcements
	res.heartbeats = a1.beats - a0.beats
	res.logRows = a1.logRows - a0.logRows
	if a0.cpu != nil && a1.cpu != nil {
		res.cpuOK = true
		res.cpuServer = cpuDelta(a0.cpu, a1.cpu, nil)
		res.cpuListeners, res.cpuPools = cpuDelta(a0.cpu, a1.cpu, listeners), cpuDelta(a0.cpu, a1.cpu, pools)
	}

	// The invalidation window, under the same load.
	progress("many nodes: %d: invalidation window", n)
	if err := probeNodes(ctx, ns, probes, w, &res); err != nil {
		return res, err
	}
	if err := e.admin.QueryRow(ctx, `SELECT count(*) FILTER (WHERE application_name IN ($1, $2)), count(*)
		FROM pg_stat_activity WHERE backend_type = 'client backend'`, ns.appListen, ns.appPool).Scan(&res.conns, &res.serverConns); err != nil {
		return res, err
	}
	if err := load.halt(); err != nil {
		return res, fmt.Errorf("load: %w", err)
	}

	// The idle window: nothing but the nodes' own background work.
	progress("many nodes: %d: idle window", n)
	time.Sleep(w.settle)
	i0 := ns.snap(load)
	time.Sleep(w.idle)
	i1 := ns.snap(load)
	listeners, pools, err = ns.backends(ctx, e)
	if err != nil {
		return res, err
	}
	res.idle = i1.at.Sub(i0.at)
	res.idleStmts = i1.stmts - i0.stmts
	res.idleHeartbeat = i1.beats - i0.beats
	if i0.cpu != nil && i1.cpu != nil {
		l, p := cpuDelta(i0.cpu, i1.cpu, listeners), cpuDelta(i0.cpu, i1.cpu, pools)
		res.idleCPU, res.idleListenCPU = l+p, l
	}

	// WAL per update: updates one at a time on one node, with nothing else
	// of ours writing; the least of a few runs, since the server is shared.
	progress("many nodes: %d: WAL per update", n)
	res.walBytes = -1
	for range w.walRuns {
		var lsn0 string
		if err := e.admin.QueryRow(ctx, "SELECT pg_current_wal_lsn()::text").Scan(&lsn0); err != nil {
			return res, err
		}
		for i := range nodesWALUpdates {
			if _, err := ns.nodes[0].Update(ctx, bg[0][i%len(bg[0])], new(pgsession.Patch).Set("n", i)); err != nil {
				return res, err
			}
		}
		time.Sleep(20 * time.Millisecond) // the last announcement
		var wal int64
		if err := e.admin.QueryRow(ctx, "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::bigint", lsn0).Scan(&wal); err != nil {
			return res, err
		}
		if res.walBytes < 0 || wal < res.walBytes {
			res.walBytes = wal
		}
	}
	return res, nil
}

// nodeSet is one cluster of nodes on one schema.
type nodeSet struct {
	schema  string
	nodes   []*pgsession.Manager
	pools   []*pgxpool.Pool
	writers int
	stmts   *stmtCounter   // every statement the pools sent
	beats   *notifyCounter // heartbeats the listeners sent

	// appListen and appPool are the application_name of the nodes'
	// listener and pool connections, to find them in pg_stat_activity.
	appListen, appPool string
}

// startNodes starts n nodes on a fresh schema of database db, the first
// writers of them with larger pools; everything is closed by e's release.
func startNodes(ctx context.Context, e *env, db string, n, writers int) (*nodeSet, error) {
	var b [3]byte
	rand.Read(b[:])
	suffix := hex.EncodeToString(b[:])
	schema, tag := fmt.Sprintf("nodes%d_%s", n, suffix), "pgsbench-nodes-"+suffix
	ns := &nodeSet{schema: schema, writers: writers, stmts: &stmtCounter{}, beats: &notifyCounter{},
		nodes: make([]*pgsession.Manager, n), pools: make([]*pgxpool.Pool, n),
		appListen: tag + "-listener", appPool: tag + "-pool"}
	e.defer_(ns.close)

	// Each listener connects straight to the server with a connection of
	// its own (as it must when the pools go through PgBouncer), under a
	// name of ours and with a tracer counting its heartbeats.
	lcfg, err := pgx.ParseConfig(e.dsn)
	if err != nil {
		return nil, err
	}
	lcfg.Database = db
	lcfg.RuntimeParams["application_name"] = ns.appListen
	lcfg.Tracer = ns.beats
	connect := func(ctx context.Context) (*pgx.Conn, error) { return pgx.ConnectConfig(ctx, lcfg.Copy()) }

	start := func(i int) error {
		pcfg, err := pgxpool.ParseConfig(e.dsn)
		if err != nil {
			return err
		}
		pcfg.ConnConfig.Database = db
		pcfg.ConnConfig.RuntimeParams["application_name"] = ns.appPool
		pcfg.ConnConfig.Tracer = ns.stmts
		pcfg.MaxConns = nodesReaderPool
		if i < writers {
			pcfg.MaxConns = nodesWriterPool
		}
		cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		if ns.pools[i], err = pgxpool.NewWithConfig(cctx, pcfg); err != nil {
			return err
		}
		ns.nodes[i], err = pgsession.New(cctx, ns.pools[i], pgsession.Config{
			Schema: schema, CreateSchema: true, NodeID: fmt.Sprintf("n%02d", i),
			TouchInterval: -1, SweepInterval: -1, ListenerConnect: connect,
		})
		return err
	}
	if err := start(0); err != nil { // migrates the schema
		return nil, err
	}
	sem := make(chan struct{}, 8)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 1; i < n; i++ {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = start(i)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	// A node serves from its cache once its listener is up and it has read
	// the change log.
	if err := ns.each(func(_ int, m *pgsession.Manager) error {
		for deadline := time.Now().Add(10 * time.Second); m.Stats().CacheBypassed; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				return errors.New("a node's cache did not start serving within 10s")
			}
		}
		return nil
	}); err != nil {
		return nil, err
	}
	return ns, nil
}

// each runs f on every node at once and joins the errors.
func (ns *nodeSet) each(f func(i int, m *pgsession.Manager) error) error {
	errs := make([]error, len(ns.nodes))
	var wg sync.WaitGroup
	for i, m := range ns.nodes {
		wg.Go(func() { errs[i] = f(i, m) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// close closes the nodes, all at once, then their pools.
func (ns *nodeSet) close() error {
	errs := make([]error, len(ns.nodes))
	var wg sync.WaitGroup
	for i, m := range ns.nodes {
		if m == nil {
			continue
		}
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			errs[i] = m.Close(ctx)
		})
	}
	wg.Wait()
	for _, p := range ns.pools {
		if p != nil {
			p.Close()
		}
	}
	return errors.Join(errs...)
}

// backends returns the server process ids of the nodes' listener and pool
// connections.
func (ns *nodeSet) backends(ctx context.Context, e *env) (listeners, pools map[int]bool, err error) {
	rows, err := e.admin.Query(ctx, "SELECT pid, application_name FROM pg_stat_activity WHERE application_name IN ($1, $2)",
		ns.appListen, ns.appPool)
	if err != nil {
		return nil, nil, err
	}
	listeners, pools = map[int]bool{}, map[int]bool{}
	var pid int
	var app string
	_, err = pgx.ForEachRow(rows, []any{&pid, &app}, func() error {
		if app == ns.appListen {
			listeners[pid] = true
		} else {
			pools[pid] = true
		}
		return nil
	})
	return listeners, pools, err
}

// nodesSnap is a cluster's counters at one moment.
type nodesSnap struct {
	at                                            time.Time
	cpu                                           map[int]time.Duration // nil if /proc could not be read
	updates, announcements, beats, logRows, stmts int64
}

func (ns *nodeSet) snap(load *nodesLoad) nodesSnap {
	s := nodesSnap{at: time.Now(), updates: load.updates.Load(), beats: ns.beats.n.Load(), stmts: ns.stmts.total()}
	for _, m := range ns.nodes {
		st := m.Stats()
		s.announcements += int64(st.Announcements)
		s.logRows += int64(st.ChangeLogRows)
	}
	s.cpu, _ = postgresCPU()
	return s
}

// nodesLoad is the background load: one goroutine per writer node updating
// that node's sessions in turn, paced so that together they make
// nodesRate updates a second.
type nodesLoad struct {
	stop    chan struct{}
	once    sync.Once
	wg      sync.WaitGroup
	updates atomic.Int64 // updates made
	err     atomic.Pointer[error]
}

func startNodesLoad(ctx context.Context, ns *nodeSet, bg [][]pgsession.ID) *nodesLoad {
	l := &nodesLoad{stop: make(chan struct{})}
	every := time.Second * time.Duration(len(bg)) / nodesRate
	for wr, ids := range bg {
		m := ns.nodes[wr]
		l.wg.Go(func() {
			phase := time.Duration(wr) * every / time.Duration(len(bg)) // the writers take turns
			next := time.Now().Add(phase)
			t := time.NewTimer(phase)
			defer t.Stop()
			for i := 0; ; i++ {
				select {
				case <-l.stop:
					return
				case <-t.C:
				}
				if _, err := m.Update(ctx, ids[i%len(ids)], new(pgsession.Patch).Set("n", i)); err != nil {
					l.err.CompareAndSwap(nil, &err)
					return
				}
				l.updates.Add(1)
				// The next update at its time; one fallen far behind
				// starts again from now rather than catching up in a burst.
				next = next.Add(every)
				if late := time.Since(next); late > 50*time.Millisecond {
					next = time.Now()
				}
				t.Reset(time.Until(next))
			}
		})
	}
	return l
}

// halt stops the load and reports its first error.
func (l *nodesLoad) halt() error {
	l.once.Do(func() { close(l.stop) })
	l.wg.Wait()
	if err := l.err.Load(); err != nil {
		return *err
	}
	return nil
}

// probeReq asks an observer to read a session until it serves version.
type probeReq struct {
	id      pgsession.ID
	version int64
	since   time.Time // when the update returned on its writer
}

type probeRes struct {
	d   time.Duration
	err error
}

// probeNodes runs the invalidation trials until w.probe has passed or
// w.maxTrials ran: a writer node (in turn) updates one of its probe
// sessions, and as soon as the update returns every other node reads the
// session through its cache until it serves the new version. The latency
// of a pair is from the update's return to the start of the read that
// served the new version. One trial at a time, with 1-3 ms between them.
func probeNodes(ctx context.Context, ns *nodeSet, probes [][]pgsession.ID, w nodesWindows, res *nodesResult) error {
	reqs := make([]chan probeReq, len(ns.nodes))
	results := make(chan probeRes, len(ns.nodes))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer func() { close(stop); wg.Wait() }()
	for j, m := range ns.nodes {
		reqs[j] = make(chan probeReq, 1)
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				case r := <-reqs[j]:
					results <- observe(ctx, m, r)
				}
			}
		})
	}
	rng := mrand.New(mrand.NewPCG(uint64(len(ns.nodes)), 13))
	for deadline := time.Now().Add(w.probe); res.trials < w.maxTrials && time.Now().Before(deadline); res.trials++ {
		wr := res.trials % ns.writers
		id := probes[wr][res.trials/ns.writers%len(probes[wr])]
		u, err := ns.nodes[wr].Update(ctx, id, new(pgsession.Patch).Set("probe", res.trials))
		since := time.Now()
		if err != nil {
			return err
		}
		for j := range ns.nodes {
			if j != wr {
				reqs[j] <- probeReq{id: id, version: u.Version(), since: since}
			}
		}
		var last time.Duration
		for range len(ns.nodes) - 1 {
			r := <-results
			if r.err != nil {
				return r.err
			}
			res.lat = append(res.lat, r.d)
			last = max(last, r.d)
		}
		res.lastNode = append(res.lastNode, last)
		time.Sleep(time.Millisecond + time.Duration(rng.Int64N(int64(2*time.Millisecond))))
	}
	slices.Sort(res.lat)
	slices.Sort(res.lastNode)
	return nil
}

// observe reads r's session on m, through the cache and without touching
// it, until it serves r.version.
func observe(ctx context.Context, m *pgsession.Manager, r probeReq) probeRes {
	for {
		start := time.Now()
		ss, err := m.GetByID(ctx, r.id, pgsession.NoTouch())
		if err != nil {
			return probeRes{err: err}
		}
		if ss.Version() >= r.version {
			return probeRes{d: start.Sub(r.since)}
		}
		if time.Since(r.since) > 10*time.Second {
			return probeRes{err: fmt.Errorf("node %s served version %d for 10s after version %d was written",
				m.Config().NodeID, ss.Version(), r.version)}
		}
		time.Sleep(nodesPollEvery)
	}
}

// notifyCounter is a pgx tracer counting the statements that send a NOTIFY.
type notifyCounter struct{ n atomic.Int64 }

func (c *notifyCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	if strings.Contains(d.SQL, "pg_notify") {
		c.n.Add(1)
	}
	return ctx
}

func (c *notifyCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// postgresCPU returns the CPU time so far of every process whose command
// name starts with "postgres": the server and all its backends, when the
// server runs on this machine and /proc can be read (as root). A process's
// time is the scheduler's run time from /proc/<pid>/schedstat, in
// nanoseconds, or utime+stime from /proc/<pid>/stat (in USER_HZ ticks of
// 10 ms) where schedstat is missing. The two agree for busy processes, but
// stat came out 10-15% lower for the listener backends, whose work is
// thousands of wake-ups of some tens of microseconds a second. It returns
// nil and an error when it finds no such process.
func postgresCPU() (map[int]time.Duration, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	out := map[int]time.Duration{}
	for _, d := range ents {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + d.Name() + "/stat")
		if err != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid ...: comm may hold spaces and parentheses.
		open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
		if open < 0 || end < open || !bytes.HasPrefix(b[open+1:end], []byte("postgres")) {
			continue
		}
		if sb, err := os.ReadFile("/proc/" + d.Name() + "/schedstat"); err == nil {
			if v, _, ok := strings.Cut(string(sb), " "); ok {
				if ns, err := strconv.ParseInt(v, 10, 64); err == nil {
					out[pid] = time.Duration(ns)
					continue
				}
			}
		}
		// f[0] is field 3 (state); utime and stime are fields 14 and 15.
		f := strings.Fields(string(b[end+1:]))
		if len(f) < 13 {
			continue
		}
		ut, err1 := strconv.ParseInt(f[11], 10, 64)
		st, err2 := strconv.ParseInt(f[12], 10, 64)
		if err1 == nil && err2 == nil {
			out[pid] = time.Duration(ut+st) * time.Second / nodesUSERHZ
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no postgres process in /proc")
	}
	return out, nil
}

// cpuDelta is the CPU the processes of after used since before: of those
// in only (all when nil). A process started meanwhile counts from zero; one
// that ended meanwhile is missed.
func cpuDelta(before, after map[int]time.Duration, only map[int]bool) time.Duration {
	var d time.Duration
	for pid, a := range after {
		if only == nil || only[pid] {
			d += a - before[pid]
		}
	}
	return d
}

// nodesTable is the terminal and Markdown table of runNodes' results.
func nodesTable(res []nodesResult, s settings) table {
	w := s.nodesWindows()
	t := table{
		title: fmt.Sprintf("Invalidation across many nodes on one PostgreSQL (%d background updates/s on up to %d writer nodes; "+
			"load %s, invalidation up to %s or %d probe updates, idle %s per node count)",
			nodesRate, nodesMaxWriters, w.load, w.probe, w.maxTrials, w.idle),
		header: []string{"nodes", "library", "conns held", "updates/s", "pairs", "p50", "p99", "p99, last node",
			"NOTIFYs/1k upd", "PG CPU ms/1k upd", "of which listeners", "of which pools", "WAL bytes/upd",
			"log rows read/upd", "idle PG CPU ms/s", "of which listeners", "idle stmts/s", "idle NOTIFYs/s", "note"},
	}
	for _, r := range res {
		name := fmt.Sprintf("%d (%d writing)", r.nodes, r.writers)
		if r.skipped != "" {
			row := []string{name, libPgsession}
			for range len(t.header) - 3 {
				row = append(row, "-")
			}
			t.rows = append(t.rows, append(row, r.skipped))
			continue
		}
		perK := func(v float64) string { return fmt.Sprintf("%.1f", v*1000/float64(max(r.updates, 1))) }
		cpuK := func(d time.Duration) string {
			if !r.cpuOK {
				return "-"
			}
			return fmt.Sprintf("%.0f", float64(d)/1e6*1000/float64(max(r.updates, 1)))
		}
		pct := func(d []time.Duration, q int) time.Duration {
			if len(d) == 0 {
				return 0
			}
			return d[min(len(d)-1, len(d)*q/100)]
		}
		idleCPU := func(d time.Duration) string {
			if !r.cpuOK {
				return "-"
			}
			return fmt.Sprintf("%.1f", float64(d)/1e6/r.idle.Seconds())
		}
		t.rows = append(t.rows, []string{name, libPgsession, fmt.Sprint(r.conns),
			fmt.Sprintf("%.0f", float64(r.updates)/r.window.Seconds()), fmt.Sprint(len(r.lat)),
			ms(pct(r.lat, 50)), ms(pct(r.lat, 99)), ms(pct(r.lastNode, 99)),
			perK(float64(r.announcements + r.heartbeats)), cpuK(r.cpuServer), cpuK(r.cpuListeners), cpuK(r.cpuPools),
			fmt.Sprintf("%.0f", float64(r.walBytes)/nodesWALUpdates),
			fmt.Sprintf("%.1f", float64(r.logRows)/float64(max(r.updates, 1))),
			idleCPU(r.idleCPU), idleCPU(r.idleListenCPU), fmt.Sprintf("%.1f", float64(r.idleStmts)/r.idle.Seconds()),
			fmt.Sprintf("%.1f", float64(r.idleHeartbeat)/r.idle.Seconds()),
			fmt.Sprintf("%d connections on the server in all", r.serverConns)})
	}
	return t
}

// nodesHow is the "How it is measured" entry of runNodes.
func nodesHow() string {
	w := settings{}.nodesWindows()
	return fmt.Sprintf(`- **Many nodes.** For each node count, that many Managers in this one process, on a fresh schema
  of a database created for the workload (PostgreSQL wakes every listener of a database at each
  notifying commit in it, whatever the channel, so in the shared test database the listeners
  would also pay for other clients' notifications). Each node has a pool of its own (at most %d
  connections on a writer node, %d on the others) and a listener connection of its own, made
  through `+"`Config.ListenerConnect`"+`; default intervals (change log read every 500 ms, listener
  heartbeat after 1 s of silence), no touches, no sweep. Up to %d nodes write: one goroutine on
  each updates that node's %d sessions in turn, paced so that together they make %d updates a
  second, and all other nodes only read. Per node count, in this order:
  - *Load* (%s): updates/s is what the writers achieved. NOTIFYs counts the statements that
    sent notifications: the announcers' (`+"`Stats().Announcements`"+`) and the listeners' heartbeats (a
    tracer on the listener connections). PG CPU is the CPU time of every process whose command
    name starts with "postgres", after minus before, so it includes whatever else the server did
    meanwhile; "of which listeners" and "of which pools" are the nodes' own backends (found in
    `+"`pg_stat_activity`"+` by application_name). A process's CPU time is its run time from
    `+"`/proc/<pid>/schedstat`"+` (nanoseconds), or utime+stime from `+"`/proc/<pid>/stat`"+` where that is
    missing: on this workload stat's 10 ms ticks came out 10-15%% lower for the listener
    backends, whose work is thousands of short wake-ups a second. Log rows read is
    `+"`Stats().ChangeLogRows`"+`, summed over the nodes.
  - *Invalidation* (up to %s or %d probe updates, under the same load): a writer node, in turn,
    updates one of its %d probe sessions, which every other node holds in its cache; as soon as
    `+"`Update`"+` returns, each other node reads the session with `+"`GetByID`"+` (through its cache,
    `+"`NoTouch`"+`, no `+"`MinVersion`"+`) every %s until it serves the new version. A pair's latency is
    from the update's return to the start of that read; p50 and p99 are over all (update, other
    node) pairs, "p99, last node" over each update's slowest node. One probe update at a time,
    1-3 ms apart. conns held is the nodes' connections in `+"`pg_stat_activity`"+` at the end of this
    window, listeners included.
  - *Idle* (%s, after %s without updates, longer than the heartbeat interval): the CPU of the
    nodes' backends ("of which listeners" as above), the statements their pools sent and the
    heartbeats their listeners sent, per second.
  - *WAL*: %d updates one at a time on one node, each announced as usual, `+"`pg_current_wal_lsn()`"+`
    after minus before, per update. The count is server-wide, so the least of %d runs is kept.

  The workload runs last, once the earlier ones have closed their connections. A node count
  whose connections (listeners plus every pool's maximum, with %d kept free) do not fit in
  `+"`max_connections`"+` waits up to %.0f s for other clients to leave, and is skipped if they do
  not. Nodes, load and PostgreSQL share the machine's CPUs, with whatever else runs there: the
  figures are noisy.
`, nodesWriterPool, nodesReaderPool, nodesMaxWriters, nodesBgSessions, nodesRate, w.load,
		w.probe, w.maxTrials, nodesProbes, nodesPollEvery, w.idle, w.settle, nodesWALUpdates, w.walRuns,
		nodesHeadroom, w.connWait.Seconds())
}
