package pgsession_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession"
)

// A randomized history test of the consistency promise: workers on three
// nodes run random operations on a few users' sessions for a while, every
// call is recorded with its call and return times on one clock, and the
// history alone is then checked for what the library promises (read your
// own writes on a node, MinVersion, no resurrection of a deleted session,
// deletes honoured at once on the deleting node and within S elsewhere,
// log out everywhere, last writer wins per key). Each check only flags what
// no linearizable history could show: overlapping operations get the
// benefit of the doubt.
//
// PGSESSION_HISTORY_SEED replays the random choices of a run (not its
// interleaving, which the scheduler decides); PGSESSION_HISTORY_DURATION
// sets how long the workers run on each backend.

const (
	historyNodes     = 3
	historyWorkers   = 9  // three per node
	historyCap       = 4  // MaxSessionsPerUser, in the runs the seed caps
	historyMaxLive   = 40 // past it, workers delete rather than create
	historyMaxReport = 20
)

// historyUsers are few, so that a user's deletes race with everything done
// to its sessions. "" is anonymous.
var historyUsers = []string{"ana", "bob", "cy", "dee", ""}

// historyKeys are the attributes updates write: several per session, so
// patches of different keys interleave.
var historyKeys = []string{"a", "b", "c"}

func TestRandomHistoryKeepsTheConsistencyPromise(t *testing.T) {
	seed, d := suiteStalenesseed(t), historyDuration(t)
	t.Logf("seed %d (replay the choices with PGSESSION_HISTORY_SEED=%d), %v per backend", seed, seed, d)
	forEachBackend(t, func(t *testing.T, c *cluster) {
		runHistory(t, c, seed, d)
	})
}

func suiteStalenesseed(t *testing.T) uint64 {
	if s := os.Getenv("PGSESSION_HISTORY_SEED"); s != "" {
		seed, err := strconv.ParseUint(s, 10, 64)
		require.NoError(t, err, "PGSESSION_HISTORY_SEED")
		return seed
	}
	return rand.Uint64()
}

func historyDuration(t *testing.T) time.Duration {
	if s := os.Getenv("PGSESSION_HISTORY_DURATION"); s != "" {
		d, err := time.ParseDuration(s)
		require.NoError(t, err, "PGSESSION_HISTORY_DURATION")
		return d
	}
	return 8 * time.Second
}

// runHistory runs the workers on one cluster, then the final reads, then
// checks the recorded history.
func runHistory(t *testing.T, c *cluster, seed uint64, d time.Duration) {
	salt := uint64(1) // each backend its own streams
	if c.kind == "postgres" {
		salt = 2
	}
	capped := rand.New(rand.NewPCG(seed, salt)).IntN(4) != 0
	cfg := testConfig()
	// Last-access writes run all along. CacheMaxAge keeps its default (a
	// minute), so a stale copy left in a cache stays visible for the run.
	cfg.TouchInterval, cfg.TouchGranularity = 20*time.Millisecond, 10*time.Millisecond
	if capped {
		cfg.MaxSessionsPerUser = historyCap
	}
	cfg.Events = rand.New(rand.NewPCG(seed, salt+16)).IntN(2) == 0
	cfg.EventBuffer = 1 << 20 // a gap would be the history's fault, not the library's
	nodes := make([]*pgsession.Manager, historyNodes)
	for i := range nodes {
		nodes[i] = c.node(cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), d+time.Minute)
	defer cancel()
	var logs []*eventLog
	if cfg.Events {
		var err error
		logs, err = subscribeAll(ctx, nodes)
		require.NoError(t, err)
	}

	rec := &recorder{base: time.Now()}
	runWorkers(ctx, rec, nodes, seed, salt, d, c.kind == "memory")
	// The final reads start after every delete has had S to reach every node.
	time.Sleep(2 * suiteStaleness)
	started := time.Now()
	loggedOut := newChecker(rec.ops, capped).loggedOut()
	finalReads(ctx, nodes, rec, loggedOut)
	read := time.Since(started)
	ch := newChecker(rec.ops, capped)
	vs := ch.check()
	for _, o := range ch.failed(5) {
		t.Logf("an error, so an unknown outcome to the checks: %s", o)
	}
	var pushed uint64
	for _, m := range nodes {
		pushed += m.Stats().PushedCopies
	}
	t.Logf("%s: capped=%v, events=%v, %s; %d copies replaced by pushed rows; final reads of %d logged-out sessions on every node took %v, the checks %v",
		c.kind, capped, cfg.Events, ch.summary(), pushed, len(loggedOut), read.Round(time.Millisecond), (time.Since(started) - read).Round(time.Millisecond))
	if logs != nil {
		if bad := checkEvents(rec.ops, logs); len(bad) > 0 {
			t.Errorf("seed %d: events contradict the history on %s:\n  %s", seed, c.kind, strings.Join(bad, "\n  "))
		}
	}
	if c.kind == "postgres" && pushed == 0 {
		t.Error("no pushed row replaced a copy: the history did not exercise DESIGN C9")
	}
	if len(vs) > 0 {
		report(t, vs)
		t.Errorf("seed %d: %d violations on %s", seed, len(vs), c.kind)
		t.FailNow()
	}
}

// runWorkers runs the workers on the nodes for d.
func runWorkers(ctx context.Context, rec *recorder, nodes []*pgsession.Manager, seed, salt uint64, d time.Duration, pause bool) {
	reg := &registry{}
	until := rec.now() + d
	var wg sync.WaitGroup
	for n := range historyWorkers {
		w := &worker{n: n, home: n % len(nodes), nodes: nodes, rng: rand.New(rand.NewPCG(seed, salt<<8|uint64(n))),
			rec: rec, reg: reg, seen: map[pgsession.ID]int64{}}
		wg.Go(func() {
			for rec.now() < until {
				w.step(ctx)
				if pause {
					// Calls on the memory backend take microseconds: pause,
					// so that the run stays small and leaves the CPU to the
					// PostgreSQL run.
					time.Sleep(time.Millisecond + time.Duration(w.rng.IntN(3000))*time.Microsecond)
				}
			}
		})
	}
	wg.Wait()
}

// report shows the first few violations of every kind, and how many there
// are of each, in all and by session.
func report(t *testing.T, vs []violation) {
	byKind := map[string][]violation{}
	for _, v := range vs {
		byKind[v.kind] = append(byKind[v.kind], v)
	}
	var counts []string
	each := max(1, historyMaxReport/len(byKind))
	for _, kind := range slices.Sorted(maps.Keys(byKind)) {
		sessions := map[pgsession.ID]bool{}
		for _, v := range byKind[kind] {
			sessions[v.id] = true
		}
		counts = append(counts, fmt.Sprintf("%s %d (%d sessions)", kind, len(byKind[kind]), len(sessions)))
		for _, v := range byKind[kind][:min(each, len(byKind[kind]))] {
			t.Errorf("%s: %s", v.kind, v.text)
		}
	}
	t.Errorf("violations by kind: %s", strings.Join(counts, ", "))
}

// op is one recorded call: inputs, outputs and times.
type op struct {
	kind         opKind
	worker, node int // worker -1: the final check
	call, ret    time.Duration
	id           pgsession.ID // the session named (Update, Renew, Delete, Get, GetByID)
	user         string       // Create, DeleteUser, DropUserCache, ListUser; Renew's AsUser
	asUser       bool
	except       []pgsession.ID
	minVersion   int64
	force        bool
	set          map[string]int64 // Create's attributes, Update's patch
	out          []snap           // what came back: one session, or a list
	err          error
}

type opKind uint8

const (
	opCreate opKind = iota
	opUpdate
	opRenew
	opDelete
	opDeleteUser
	opDeleteAll
	opDropUserCache
	opGet
	opGetByID
	opListUser
	opAll
)

var opNames = [...]string{"Create", "Update", "Renew", "Delete", "DeleteUser", "DeleteAll",
	"DropUserCache", "Get", "GetByID", "ListUser", "All"}

func (o *op) ok() bool       { return o.err == nil }
func (o *op) notFound() bool { return errors.Is(o.err, pgsession.ErrNotFound) }

// isRead is true for the calls that return sessions without changing them.
func (o *op) isRead() bool {
	return o.kind == opGet || o.kind == opGetByID || o.kind == opListUser || o.kind == opAll
}

// snap is what a call saw of one session.
type snap struct {
	id      pgsession.ID
	user    string
	version int64
	attrs   map[string]int64
	cached  bool // served from the node's cache (Session.FromCache): for reports
}

func snapOf(s *pgsession.Session) snap {
	attrs := map[string]int64{}
	for _, k := range s.Keys() {
		attrs[k] = pgsession.AttrOr(s, k, int64(-1))
	}
	return snap{id: s.ID(), user: s.UserID(), version: s.Version(), attrs: attrs, cached: s.FromCache()}
}

// recorder timestamps calls on one monotonic clock.
type recorder struct {
	base time.Time
	mu   sync.Mutex
	ops  []*op
}

func (r *recorder) now() time.Duration { return time.Since(r.base) }

// do records one call of f, made by worker on node.
func (r *recorder) do(o *op, worker, node int, f func() error) {
	o.worker, o.node = worker, node
	o.call = r.now()
	o.err = f()
	o.ret = r.now()
	r.mu.Lock()
	r.ops = append(r.ops, o)
	r.mu.Unlock()
}

// sessionRef is what a client keeps of a session.
type sessionRef struct {
	id    pgsession.ID
	token string
	user  string
}

// registry shares the sessions the workers know of, so that they act on
// each other's sessions. It only steers the random choices: the checks
// never trust it.
type registry struct {
	mu   sync.Mutex
	live []sessionRef
	dead []sessionRef // recently ended: read now and then, they must stay gone
}

func (r *registry) add(s sessionRef) {
	r.mu.Lock()
	r.live = append(r.live, s)
	r.mu.Unlock()
}

func (r *registry) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.live)
}

func (r *registry) pick(rng *rand.Rand, dead bool) (sessionRef, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	from := r.live
	if dead {
		from = r.dead
	}
	if len(from) == 0 {
		return sessionRef{}, false
	}
	return from[rng.IntN(len(from))], true
}

func (r *registry) pickOf(rng *rand.Rand, user string) (sessionRef, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var of []sessionRef
	for _, s := range r.live {
		if s.user == user {
			of = append(of, s)
		}
	}
	if len(of) == 0 {
		return sessionRef{}, false
	}
	return of[rng.IntN(len(of))], true
}

// bury moves the live sessions that match to the recently dead.
func (r *registry) bury(match func(sessionRef) bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.live = slices.DeleteFunc(r.live, func(s sessionRef) bool {
		if match(s) {
			r.dead = append(r.dead, s)
			return true
		}
		return false
	})
	if n := len(r.dead); n > 32 {
		r.dead = slices.Clone(r.dead[n-32:])
	}
}

func (r *registry) buryID(id pgsession.ID) {
	r.bury(func(s sessionRef) bool { return s.id == id })
}

// worker is one client: mostly on its home node (sticky sessions), now and
// then on another.
type worker struct {
	n, home int
	nodes   []*pgsession.Manager
	rng     *rand.Rand
	rec     *recorder
	reg     *registry
	seen    map[pgsession.ID]int64 // the last version it saw of each session
	back    *readBack
	seq     int64
}

// readBack is a session a worker just wrote, to read again on the same
// node: the request that follows a write.
type readBack struct {
	ref  sessionRef
	node int
}

func (w *worker) node() int {
	if w.rng.IntN(4) == 0 {
		return w.rng.IntN(len(w.nodes))
	}
	return w.home
}

// value is unique per write, so a read tells which write it shows.
func (w *worker) value() int64 {
	w.seq++
	return int64(w.n+1)*1_000_000 + w.seq
}

// namedUser is never anonymous: DeleteUser, DropUserCache and ListUser
// need a user.
func (w *worker) namedUser() string { return historyUsers[w.rng.IntN(len(historyUsers)-1)] }

func (w *worker) do(o *op, node int, f func() error) { w.rec.do(o, w.n, node, f) }

// step makes one call, chosen at random. The mix leans on what races:
// updates read back on the same node while cache drops and user-wide
// deletes reach every node, renewals against deletes of their owner, and
// reads of sessions that ended.
func (w *worker) step(ctx context.Context) {
	if b := w.back; b != nil {
		w.back = nil
		if w.rng.IntN(10) < 7 {
			w.get(ctx, b.ref, b.node, w.rng.IntN(2) == 0, false)
			return
		}
	}
	if w.rng.IntN(4000) == 0 {
		w.deleteAll(ctx)
		return
	}
	switch x := w.rng.IntN(100); {
	case x < 12:
		w.create(ctx)
	case x < 38:
		w.update(ctx)
	case x < 58:
		if ref, ok := w.reg.pick(w.rng, false); ok {
			w.get(ctx, ref, w.node(), w.rng.IntN(3) == 0, w.rng.IntN(2) == 0)
		}
	case x < 62:
		w.delete(ctx)
	case x < 67:
		w.deleteUser(ctx)
	case x < 79:
		w.dropUserCache(ctx)
	case x < 88:
		w.renew(ctx)
	case x < 93:
		w.listUser(ctx)
	default: // a session that ended should stay ended, on any node
		if ref, ok := w.reg.pick(w.rng, true); ok {
			w.get(ctx, ref, w.rng.IntN(len(w.nodes)), true, false)
		}
	}
}

// saw notes a session a call returned; a write is read back next.
func (w *worker) saw(ref sessionRef, s *pgsession.Session, node int, write bool) {
	w.seen[ref.id] = max(w.seen[ref.id], s.Version())
	if write {
		w.back = &readBack{ref: ref, node: node}
	}
}

func (w *worker) get(ctx context.Context, ref sessionRef, node int, byID, withMin bool) {
	o := &op{kind: opGet, id: ref.id}
	if byID {
		o.kind = opGetByID
	}
	var opts []pgsession.GetOption
	if v, ok := w.seen[ref.id]; ok && withMin {
		o.minVersion = v
		opts = append(opts, pgsession.MinVersion(v))
	}
	if w.rng.IntN(2) == 0 {
		opts = append(opts, pgsession.NoTouch())
	}
	m := w.nodes[node]
	var s *pgsession.Session
	w.do(o, node, func() (err error) {
		if byID {
			s, err = m.GetByID(ctx, ref.id, opts...)
		} else {
			s, err = m.Get(ctx, ref.token, opts...)
		}
		return err
	})
	w.settle(o, ref, s, node, false)
}

// settle records what a read or an update of ref returned: the snapshot it
// saw (wrote: made by this call), or that the session is gone.
func (w *worker) settle(o *op, ref sessionRef, s *pgsession.Session, node int, wrote bool) {
	switch {
	case o.ok():
		o.out = []snap{snapOf(s)}
		w.saw(ref, s, node, wrote)
	case o.notFound():
		w.reg.buryID(ref.id)
	}
}

func (w *worker) create(ctx context.Context) {
	if w.reg.count() >= historyMaxLive {
		w.delete(ctx)
		return
	}
	user := historyUsers[w.rng.IntN(len(historyUsers))]
	o := &op{kind: opCreate, user: user, set: map[string]int64{"a": w.value()}}
	if w.rng.IntN(2) == 0 {
		o.set["b"] = w.value()
	}
	attrs := map[string]any{}
	for k, v := range o.set {
		attrs[k] = v
	}
	node := w.node()
	var s *pgsession.Session
	w.do(o, node, func() (err error) {
		s, err = w.nodes[node].Create(ctx, user, attrs)
		return err
	})
	if o.ok() {
		o.out = []snap{snapOf(s)}
		ref := sessionRef{id: s.ID(), token: s.Token(), user: user}
		w.reg.add(ref)
		w.saw(ref, s, node, true)
	}
}

func (w *worker) update(ctx context.Context) {
	ref, ok := w.reg.pick(w.rng, false)
	if !ok {
		w.create(ctx)
		return
	}
	o := &op{kind: opUpdate, id: ref.id, set: map[string]int64{}}
	for range 1 + w.rng.IntN(2) {
		o.set[historyKeys[w.rng.IntN(len(historyKeys))]] = w.value()
	}
	p := new(pgsession.Patch)
	for _, k := range slices.Sorted(maps.Keys(o.set)) {
		p.Set(k, o.set[k])
	}
	node := w.node()
	var s *pgsession.Session
	w.do(o, node, func() (err error) {
		s, err = w.nodes[node].Update(ctx, ref.id, p)
		return err
	})
	w.settle(o, ref, s, node, true)
}

func (w *worker) renew(ctx context.Context) {
	ref, ok := w.reg.pick(w.rng, false)
	if !ok {
		return
	}
	o := &op{kind: opRenew, id: ref.id}
	var opts []pgsession.SessionOption
	if w.rng.IntN(4) == 0 { // log in, or out to anonymous
		o.asUser, o.user = true, historyUsers[w.rng.IntN(len(historyUsers))]
		opts = append(opts, pgsession.AsUser(o.user))
	}
	node := w.node()
	var s *pgsession.Session
	w.do(o, node, func() (err error) {
		s, err = w.nodes[node].Renew(ctx, ref.id, opts...)
		return err
	})
	switch {
	case o.ok():
		o.out = []snap{snapOf(s)}
		w.reg.buryID(ref.id)
		renewed := sessionRef{id: s.ID(), token: s.Token(), user: s.UserID()}
		w.reg.add(renewed)
		w.saw(renewed, s, node, true)
	case o.notFound():
		w.reg.buryID(ref.id)
	}
}

func (w *worker) delete(ctx context.Context) {
	ref, ok := w.reg.pick(w.rng, w.rng.IntN(10) == 0)
	if !ok {
		return
	}
	o := &op{kind: opDelete, id: ref.id}
	node := w.node()
	w.do(o, node, func() error { return w.nodes[node].Delete(ctx, ref.id) })
	if o.ok() {
		w.reg.buryID(ref.id)
	}
}

// deleteUser logs a user out everywhere, or out of its other devices.
func (w *worker) deleteUser(ctx context.Context) {
	o := &op{kind: opDeleteUser, user: w.namedUser()}
	if ref, ok := w.reg.pickOf(w.rng, o.user); ok && w.rng.IntN(2) == 0 {
		o.except = []pgsession.ID{ref.id}
	}
	node := w.rng.IntN(len(w.nodes))
	w.do(o, node, func() error {
		_, err := w.nodes[node].DeleteUser(ctx, o.user, o.except...)
		return err
	})
	if o.ok() {
		w.reg.bury(func(s sessionRef) bool { return s.user == o.user && !slices.Contains(o.except, s.id) })
	}
}

func (w *worker) deleteAll(ctx context.Context) {
	o := &op{kind: opDeleteAll}
	node := w.rng.IntN(len(w.nodes))
	w.do(o, node, func() error {
		_, err := w.nodes[node].DeleteAll(ctx)
		return err
	})
	if o.ok() {
		w.reg.bury(func(sessionRef) bool { return true })
	}
}

func (w *worker) dropUserCache(ctx context.Context) {
	o := &op{kind: opDropUserCache, user: w.namedUser()}
	node := w.rng.IntN(len(w.nodes))
	w.do(o, node, func() error { return w.nodes[node].DropUserCache(ctx, o.user) })
}

func (w *worker) listUser(ctx context.Context) {
	o := &op{kind: opListUser, user: w.namedUser()}
	node := w.rng.IntN(len(w.nodes))
	var list []*pgsession.Session
	w.do(o, node, func() (err error) {
		list, err = w.nodes[node].ListUser(ctx, o.user)
		return err
	})
	for _, s := range list {
		o.out = append(o.out, snapOf(s))
	}
}

// finalReads reads, after the run, every logged-out session on every node
// with ForceRefresh, every user's list on every node, and every session
// there is; they join the history and go through the same checks.
func finalReads(ctx context.Context, nodes []*pgsession.Manager, rec *recorder, ids []pgsession.ID) {
	var wg sync.WaitGroup
	for n, m := range nodes {
		wg.Go(func() {
			for _, id := range ids {
				o := &op{kind: opGetByID, id: id, force: true}
				var s *pgsession.Session
				rec.do(o, -1, n, func() (err error) {
					s, err = m.GetByID(ctx, id, pgsession.ForceRefresh(), pgsession.NoTouch())
					return err
				})
				if o.ok() {
					o.out = []snap{snapOf(s)}
				}
			}
			for _, user := range historyUsers[:len(historyUsers)-1] {
				o := &op{kind: opListUser, user: user}
				var list []*pgsession.Session
				rec.do(o, -1, n, func() (err error) {
					list, err = m.ListUser(ctx, user)
					return err
				})
				for _, s := range list {
					o.out = append(o.out, snapOf(s))
				}
			}
		})
	}
	wg.Wait()
	o := &op{kind: opAll}
	rec.do(o, -1, 0, func() error {
		for s, err := range nodes[0].All(ctx, 500) {
			if err != nil {
				return err
			}
			o.out = append(o.out, snapOf(s))
		}
		return nil
	})
}

// violation is one broken promise, described for people.
type violation struct {
	kind, text string
	id         pgsession.ID // the session it concerns
}

// session is what the history says of one session.
type session struct {
	id       pgsession.ID
	owner    string
	created  *op      // the Create or Renew that returned it
	parent   *session // the session it was renewed from
	base     int64    // its version when created
	writes   map[int64]*op
	renewals []*op // successful Renews of it (one at most)

	states     []map[string]int64 // states[i]: the attributes at version base+i
	statesDone bool

	// firstKill is the earliest point from which no node may return the
	// session once S has passed; strict[n] the earliest from which node n
	// must not return it at all.
	firstKill *kill
	strict    [historyNodes]*kill
	loggedOut bool // in a DeleteUser's or a DeleteAll's set
}

// kill is an operation after which a session is gone.
type kill struct {
	at     time.Duration
	node   int
	strict bool // the node at once, others within S; else everyone within S
	by     *op
	how    string
}

// checker holds the history and its indexes.
type checker struct {
	ops        []*op // by call time
	capped     bool
	sessions   map[pgsession.ID]*session
	byOwner    map[string][]*session
	byID       map[pgsession.ID][]*op // Deletes and Renews that may have ended a session
	byUser     map[string][]*op       // DeleteUsers, and with a cap Creates and Renews, by user
	deleteAlls []*op
	ownWrites  map[nodeSession][]*op // successful writes by node and session, by return time
	byValue    map[int64]*op         // who wrote each value
	longest    time.Duration         // the longest call
	out        []violation
}

type nodeSession struct {
	node int
	id   pgsession.ID
}

func newChecker(ops []*op, capped bool) *checker {
	c := &checker{ops: slices.Clone(ops), capped: capped, sessions: map[pgsession.ID]*session{},
		byOwner: map[string][]*session{}, byID: map[pgsession.ID][]*op{}, byUser: map[string][]*op{},
		ownWrites: map[nodeSession][]*op{}, byValue: map[int64]*op{}}
	sort.SliceStable(c.ops, func(i, j int) bool { return c.ops[i].call < c.ops[j].call })
	for _, o := range c.ops {
		c.longest = max(c.longest, o.ret-o.call)
		c.index(o)
	}
	for _, ws := range c.ownWrites {
		sort.Slice(ws, func(i, j int) bool { return ws[i].ret < ws[j].ret })
	}
	c.findKills()
	return c
}

// index files an operation; sessions are created before anyone names them,
// so call order meets every Create before its session's other operations.
func (c *checker) index(o *op) {
	for _, v := range o.set {
		c.byValue[v] = o
	}
	switch o.kind {
	case opCreate:
		if c.capped && o.user != "" {
			c.byUser[o.user] = append(c.byUser[o.user], o)
		}
		if o.ok() {
			c.born(o, nil, 1)
		}
	case opRenew:
		if o.notFound() {
			return // changed nothing
		}
		c.byID[o.id] = append(c.byID[o.id], o)
		old := c.sessions[o.id]
		if owner, known := c.renewedOwner(o, old); c.capped && known && owner != "" {
			c.byUser[owner] = append(c.byUser[owner], o)
		}
		if o.ok() && old != nil {
			old.renewals = append(old.renewals, o)
			c.born(o, old, o.out[0].version)
		}
	case opUpdate:
		if s := c.sessions[o.id]; s != nil && o.ok() {
			v := o.out[0].version
			if w := s.writes[v]; w != nil {
				c.flag("lost update", s.id, "two updates made version %d of %s:\n  %s\n  %s", v, short(s.id), w, o)
			} else if v <= s.base {
				c.flag("version", s.id, "an update made version %d of %s, which began at version %d:\n  %s", v, short(s.id), s.base, o)
			}
			s.writes[v] = o
			c.ownWrite(o)
		}
	case opDelete:
		c.byID[o.id] = append(c.byID[o.id], o)
	case opDeleteUser:
		c.byUser[o.user] = append(c.byUser[o.user], o)
	case opDeleteAll:
		c.deleteAlls = append(c.deleteAlls, o)
	}
}

// renewedOwner is the user a Renew gives the session, if the history says.
func (c *checker) renewedOwner(o *op, old *session) (string, bool) {
	switch {
	case o.ok():
		return o.out[0].user, true
	case o.asUser:
		return o.user, true
	case old != nil:
		return old.owner, true
	}
	return "", false
}

// born files the session a Create or a Renew returned.
func (c *checker) born(o *op, parent *session, base int64) {
	got := o.out[0]
	s := &session{id: got.id, owner: got.user, created: o, parent: parent, base: base, writes: map[int64]*op{}}
	want := o.user
	if o.kind == opRenew && !o.asUser {
		want = parent.owner
	}
	if got.user != want {
		c.flag("owner", got.id, "%s returned a session of %q, not %q", o, got.user, want)
	}
	c.sessions[s.id] = s
	c.byOwner[s.owner] = append(c.byOwner[s.owner], s)
	c.ownWrite(o)
}

func (c *checker) ownWrite(o *op) {
	k := nodeSession{o.node, o.out[0].id}
	c.ownWrites[k] = append(c.ownWrites[k], o)
}

func (c *checker) flag(kind string, id pgsession.ID, format string, args ...any) {
	c.out = append(c.out, violation{kind: kind, id: id, text: fmt.Sprintf(format, args...)})
}

func (c *checker) addKill(s *session, k kill) {
	if s.firstKill == nil || k.at < s.firstKill.at {
		s.firstKill = &k
	}
	if k.strict && (s.strict[k.node] == nil || k.at < s.strict[k.node].at) {
		s.strict[k.node] = &k
	}
}

// findKills derives, from every operation that ended a session or saw it
// gone, from when each session must no longer be served.
func (c *checker) findKills() {
	for _, o := range c.ops {
		s := c.sessions[o.id]
		switch {
		case o.kind == opDelete && o.ok():
			if s != nil { // the deleting node drops its copy before returning
				c.addKill(s, kill{at: o.ret, node: o.node, strict: true, by: o, how: "deleted it"})
			}
		case o.kind == opRenew && o.ok():
			if s != nil {
				c.addKill(s, kill{at: o.ret, node: o.node, strict: true, by: o, how: "renewed it away"})
			}
		case o.notFound() && s != nil:
			// Gone by the time the call returned (sessions never come back),
			// whoever ended it: every node within S.
			c.addKill(s, kill{at: o.ret, node: o.node, by: o, how: "saw it gone"})
		case (o.kind == opListUser || o.kind == opAll) && o.ok():
			c.unlisted(o)
		case o.kind == opDeleteUser && o.ok():
			c.logOut(o, func(s *session) bool { return s.owner == o.user && !slices.Contains(o.except, s.id) })
		case o.kind == opDeleteAll && o.ok():
			c.logOut(o, func(*session) bool { return true })
		}
	}
}

// unlisted marks gone the sessions a list should have shown, had they been
// alive: those of its user that existed before it began.
func (c *checker) unlisted(o *op) {
	listed := map[pgsession.ID]bool{}
	for _, s := range o.out {
		listed[s.id] = true
	}
	from := c.byOwner[o.user]
	if o.kind == opAll {
		from = slices.Collect(maps.Values(c.sessions))
	}
	for _, s := range from {
		if s.created.ret < o.call && !listed[s.id] {
			c.addKill(s, kill{at: o.ret, node: o.node, by: o, how: "did not list it"})
		}
	}
}

// logOut applies a DeleteUser or DeleteAll o to the sessions in its scope
// that existed before it began, and to those a Renew made from one of them
// while it ran: a successful Renew of a session o ends must come before o,
// so o ends the new session too. A Create that overlaps o may survive it.
func (c *checker) logOut(o *op, inScope func(*session) bool) {
	var gone []*session
	seen := map[pgsession.ID]bool{}
	from := c.byOwner[o.user]
	if o.kind == opDeleteAll {
		from = slices.Collect(maps.Values(c.sessions))
	}
	for _, s := range from {
		if s.created.ret < o.call && inScope(s) {
			gone = append(gone, s)
			seen[s.id] = true
		}
	}
	for i := 0; i < len(gone); i++ {
		for _, r := range gone[i].renewals {
			child := c.sessions[r.out[0].id]
			if r.call < o.ret && child != nil && !seen[child.id] && inScope(child) {
				gone = append(gone, child)
				seen[child.id] = true
			}
		}
	}
	for _, s := range gone {
		k := kill{at: o.ret, node: o.node, by: o, how: "logged it out"}
		if s.created.ret >= o.call {
			k.how = "logged it out (a Renew that overlapped the log-out made it: " + s.created.String() + ")"
		}
		// A DeleteAll drops the node's whole cache; a DeleteUser drops the
		// copies of the sessions it deleted, which are surely those no other
		// operation could have ended first.
		k.strict = o.kind == opDeleteAll || c.killerBefore(s, o.ret, o) == nil
		c.addKill(s, k)
		s.loggedOut = true
	}
}

// killerBefore returns an operation other than self that may have ended s
// before t: one that began before t and ended after s began to exist (its
// own Create or Renew excepted: they only evict other sessions).
func (c *checker) killerBefore(s *session, t time.Duration, self *op) *op {
	may := func(k *op) bool { return k != self && k != s.created && k.call < t && k.ret > s.created.call }
	for _, k := range c.byID[s.id] {
		if may(k) {
			return k
		}
	}
	for _, k := range c.deleteAlls {
		if may(k) {
			return k
		}
	}
	if s.owner == "" {
		return nil
	}
	ks := c.byUser[s.owner]
	for i := sort.Search(len(ks), func(i int) bool { return ks[i].call >= t }) - 1; i >= 0; i-- {
		k := ks[i]
		if k.call+c.longest < s.created.call {
			break // ended before s began, as did all before it
		}
		if may(k) && (k.kind != opDeleteUser || !slices.Contains(k.except, s.id)) {
			return k
		}
	}
	return nil
}

// loggedOut lists the sessions some DeleteUser or DeleteAll ended.
func (c *checker) loggedOut() []pgsession.ID {
	var ids []pgsession.ID
	for _, s := range c.sessions {
		if s.loggedOut {
			ids = append(ids, s.id)
		}
	}
	return ids
}

// check runs every check and returns the violations found.
func (c *checker) check() []violation {
	for _, s := range c.sessions {
		if len(s.renewals) > 1 {
			c.flag("renewed twice", s.id, "%s was renewed twice:\n  %s\n  %s", short(s.id), s.renewals[0], s.renewals[1])
		}
	}
	for _, o := range c.ops {
		switch {
		case o.isRead() && o.ok():
			for _, got := range o.out {
				c.checkRead(o, got)
			}
		case o.notFound():
			c.checkGone(o, c.sessions[o.id], "not found")
		case (o.kind == opUpdate || o.kind == opRenew) && o.ok():
			c.checkWriteAlive(o)
			c.checkAttrs(o, o.out[0])
		case o.kind == opCreate && o.ok():
			c.checkAttrs(o, o.out[0])
		}
		if (o.kind == opListUser || o.kind == opAll) && o.ok() {
			c.checkUnlisted(o)
		}
	}
	return c.out
}

// checkRead checks one session a read returned.
func (c *checker) checkRead(o *op, got snap) {
	s := c.sessions[got.id]
	if s == nil {
		return // made by a call whose result was lost
	}
	if o.kind == opGet || o.kind == opGetByID {
		if got.version < o.minVersion {
			c.flag("min version", got.id, "asked for version %d or newer, got %d:\n  %s", o.minVersion, got.version, o)
		}
		if w := c.lastOwnWrite(o.node, got.id, o.call); w != nil && got.version < w.out[0].version {
			c.flag("own write", got.id, "node %d returned version %d after its own write of version %d had returned:\n  write %s\n  read  %s",
				o.node, got.version, w.out[0].version, w, o)
		}
	}
	if k := s.strict[o.node]; k != nil && o.call > k.at {
		c.flag("resurrected", s.id, "node %d returned %s after the same node %s (gone at once there):\n  by   %s\n  read %s",
			o.node, short(s.id), k.how, k.by, describeRead(o, got))
	} else if k := s.firstKill; k != nil && o.call > k.at+suiteStaleness {
		c.flag("resurrected", s.id, "node %d returned %s more than S=%v after node %d %s:\n  by   %s\n  read %s",
			o.node, short(s.id), suiteStaleness, k.node, k.how, k.by, describeRead(o, got))
	}
	c.checkAttrs(o, got)
}

// lastOwnWrite returns the newest version written to id on node by a write
// that returned before t.
func (c *checker) lastOwnWrite(node int, id pgsession.ID, t time.Duration) *op {
	var best *op
	for _, w := range c.ownWrites[nodeSession{node, id}] {
		if w.ret >= t {
			break
		}
		if best == nil || w.out[0].version > best.out[0].version {
			best = w
		}
	}
	return best
}

// checkWriteAlive flags an Update or a Renew that succeeded on a session
// already gone when it began: writes go to the database, which never
// brings a session back.
func (c *checker) checkWriteAlive(o *op) {
	if s := c.sessions[o.id]; s != nil && s.firstKill != nil && o.call > s.firstKill.at {
		k := s.firstKill
		c.flag("write after delete", s.id, "%s of %s succeeded after node %d %s:\n  by    %s\n  write %s",
			opNames[o.kind], short(s.id), k.node, k.how, k.by, o)
	}
}

// checkGone flags a session found missing with no operation that could
// have ended it before.
func (c *checker) checkGone(o *op, s *session, what string) {
	if s == nil || s.created.ret >= o.call {
		return
	}
	if c.killerBefore(s, o.ret, o) == nil {
		c.flag("phantom delete", s.id, "%s %s, though nothing that began before could have ended it:\n  made by %s\n  then    %s",
			short(s.id), what, s.created, o)
	}
}

func (c *checker) checkUnlisted(o *op) {
	listed := map[pgsession.ID]bool{}
	for _, s := range o.out {
		listed[s.id] = true
	}
	from := c.byOwner[o.user]
	if o.kind == opAll {
		from = slices.Collect(maps.Values(c.sessions))
	}
	for _, s := range from {
		if !listed[s.id] {
			c.checkGone(o, s, "missing from the list")
		}
	}
}

// checkAttrs compares the attributes a call returned at some version with
// those the recorded writes give that version. Versions with no known
// writer (an update whose outcome is unknown) are not checked.
func (c *checker) checkAttrs(o *op, got snap) {
	s := c.sessions[got.id]
	if s == nil {
		return
	}
	if got.version < s.base {
		c.flag("version", s.id, "%s returned version %d of %s, which began at version %d:\n  made by %s",
			o, got.version, short(s.id), s.base, s.created)
		return
	}
	if w := s.writes[got.version]; w != nil && w.call > o.ret {
		c.flag("future write", s.id, "a call returned version %d of %s before the update that made it began:\n  read   %s\n  update %s",
			got.version, short(s.id), describeRead(o, got), w)
	}
	states := c.statesOf(s)
	i := got.version - s.base
	if i >= int64(len(states)) {
		return
	}
	want := states[i]
	if maps.Equal(want, got.attrs) {
		return
	}
	var why []string
	for _, k := range slices.Sorted(maps.Keys(mergeKeys(want, got.attrs))) {
		w, g := want[k], got.attrs[k]
		if w != g {
			why = append(why, fmt.Sprintf("%s: want %d (from %s), got %d (from %s)", k, w, c.writerOf(w), g, c.writerOf(g)))
		}
	}
	c.flag("attributes", s.id, "version %d of %s has attributes %s, but the recorded writes give %s:\n  %s\n  %s",
		got.version, short(s.id), fmtAttrs(got.attrs), fmtAttrs(want), describeRead(o, got), strings.Join(why, "\n  "))
}

func (c *checker) writerOf(v int64) string {
	if v == 0 {
		return "nobody"
	}
	if o := c.byValue[v]; o != nil {
		return o.String()
	}
	return "unknown"
}

func mergeKeys(a, b map[string]int64) map[string]int64 {
	m := maps.Clone(a)
	maps.Copy(m, b)
	return m
}

// statesOf returns the attributes of s at each version from its first up
// to the first one whose writer is unknown. A renewed session starts with
// its parent's attributes at the version before its own first.
func (c *checker) statesOf(s *session) []map[string]int64 {
	if s.statesDone {
		return s.states
	}
	s.statesDone = true
	var start map[string]int64
	if s.parent == nil {
		start = maps.Clone(s.created.set)
	} else {
		ps := c.statesOf(s.parent)
		i := s.base - 1 - s.parent.base
		if i < 0 || i >= int64(len(ps)) {
			return nil
		}
		start = ps[i]
	}
	s.states = []map[string]int64{start}
	for v := s.base + 1; s.writes[v] != nil; v++ {
		next := maps.Clone(s.states[len(s.states)-1])
		maps.Copy(next, s.writes[v].set)
		s.states = append(s.states, next)
	}
	return s.states
}

// failed returns up to n calls that failed other than with ErrNotFound.
func (c *checker) failed(n int) []*op {
	var out []*op
	for _, o := range c.ops {
		if !o.ok() && !o.notFound() && len(out) < n {
			out = append(out, o)
		}
	}
	return out
}

// summary counts the operations by kind and outcome.
func (c *checker) summary() string {
	var n [len(opNames)]int
	var notFound, failed int
	longest := c.ops[0]
	for _, o := range c.ops {
		n[o.kind]++
		switch {
		case o.notFound():
			notFound++
		case !o.ok():
			failed++
		}
		if o.ret-o.call > longest.ret-longest.call {
			longest = o
		}
	}
	var parts []string
	for k, count := range n {
		parts = append(parts, fmt.Sprintf("%s %d", opNames[k], count))
	}
	return fmt.Sprintf("%d operations (%s), %d not found, %d other errors, %d sessions, longest call %v: %s",
		len(c.ops), strings.Join(parts, ", "), notFound, failed, len(c.sessions),
		(longest.ret - longest.call).Round(time.Microsecond), longest)
}

func short(id pgsession.ID) string { return id.String()[:8] }

func fmtTime(d time.Duration) string { return fmt.Sprintf("%.6fs", d.Seconds()) }

func fmtAttrs(m map[string]int64) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return "{" + strings.Join(parts, " ") + "}"
}

func (s snap) String() string {
	from := "database"
	if s.cached {
		from = "cache"
	}
	return fmt.Sprintf("%s v%d user %q %s (from the %s)", short(s.id), s.version, s.user, fmtAttrs(s.attrs), from)
}

// String describes a call: who, where, what with, when, and what came back.
func (o *op) String() string {
	var b strings.Builder
	if o.worker < 0 {
		fmt.Fprintf(&b, "final@n%d ", o.node)
	} else {
		fmt.Fprintf(&b, "w%d@n%d ", o.worker, o.node)
	}
	var args []string
	switch o.kind {
	case opCreate:
		args = append(args, strconv.Quote(o.user), fmtAttrs(o.set))
	case opUpdate:
		args = append(args, short(o.id), "set "+fmtAttrs(o.set))
	case opRenew:
		args = append(args, short(o.id))
		if o.asUser {
			args = append(args, "AsUser("+strconv.Quote(o.user)+")")
		}
	case opDelete, opGetByID:
		args = append(args, short(o.id))
	case opGet:
		args = append(args, "token of "+short(o.id))
	case opDeleteUser:
		args = append(args, strconv.Quote(o.user))
		for _, id := range o.except {
			args = append(args, "except "+short(id))
		}
	case opDropUserCache, opListUser:
		args = append(args, strconv.Quote(o.user))
	}
	if o.minVersion > 0 {
		args = append(args, fmt.Sprintf("MinVersion(%d)", o.minVersion))
	}
	if o.force {
		args = append(args, "ForceRefresh")
	}
	fmt.Fprintf(&b, "%s(%s) [%s - %s]", opNames[o.kind], strings.Join(args, ", "), fmtTime(o.call), fmtTime(o.ret))
	switch {
	case o.notFound():
		b.WriteString(" -> not found")
	case !o.ok():
		fmt.Fprintf(&b, " -> error %v", o.err)
	case o.kind == opListUser || o.kind == opAll:
		fmt.Fprintf(&b, " -> %d sessions", len(o.out))
	case len(o.out) == 1:
		fmt.Fprintf(&b, " -> %s", o.out[0])
	}
	return b.String()
}

// describeRead is a call, with the one session of a list that matters.
func describeRead(o *op, got snap) string {
	if o.kind == opListUser || o.kind == opAll {
		return fmt.Sprintf("%s, among them %s", o, got)
	}
	return o.String()
}
