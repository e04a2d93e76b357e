package pgsession_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/pgsessiontest"
)

// loadLog records what a load against several nodes saw: acknowledged
// versions per session, and every read, on one clock.
type loadLog struct {
	mu    sync.Mutex
	acked map[pgsession.ID][]ack
	reads []loadRead
}

type ack struct {
	version int64
	at      time.Time // when the update returned
}

type loadRead struct {
	node    int
	id      pgsession.ID
	version int64
	start   time.Time
}

func (l *loadLog) ack(id pgsession.ID, v int64) {
	l.mu.Lock()
	l.acked[id] = append(l.acked[id], ack{v, time.Now()})
	l.mu.Unlock()
}

func (l *loadLog) read(node int, id pgsession.ID, v int64, start time.Time) {
	l.mu.Lock()
	l.reads = append(l.reads, loadRead{node, id, v, start})
	l.mu.Unlock()
}

// stale returns the reads that, starting more than bound after an update
// was acknowledged, returned an older version.
func (l *loadLog) stale(bound time.Duration) []loadRead {
	var out []loadRead
	for _, r := range l.reads {
		for _, a := range l.acked[r.id] {
			if a.version > r.version && r.start.After(a.at.Add(bound)) {
				out = append(out, r)
				break
			}
		}
	}
	return out
}

// faultRestart restarts the server in mode while three nodes update and
// read: every node recovers without a process restart, no read is stale
// past S_fault, nothing acknowledged is lost, and an update no one
// announces is honoured after the restart (after a crash the change log
// starts over, and readers must follow it).
func faultRestart(t *testing.T, e *faultEnv, mode pgsessiontest.ShutdownMode) {
	ctx := ctxT(t)
	const nodes, perWriter = 3, 4
	ms := make([]*pgsession.Manager, nodes)
	for i := range ms {
		cfg := testConfig()
		cfg.ListenerPingInterval, cfg.ListenerPingTimeout = 200*time.Millisecond, 200*time.Millisecond
		ms[i] = e.node(e.pool(nil, nil), cfg)
	}
	log := &loadLog{acked: map[pgsession.ID][]ack{}}
	var ids []pgsession.ID
	for i := range nodes * perWriter {
		s, err := ms[i%nodes].Create(ctx, "", map[string]any{"n": 0})
		require.NoError(t, err)
		ids = append(ids, s.ID())
		log.ack(s.ID(), 1)
	}

	var stop atomic.Bool
	var restarted atomic.Int64 // unix nanoseconds when the server was back
	recovered := make([]atomic.Int64, nodes)
	var wg sync.WaitGroup
	for w := range nodes { // one writer per node, each owning its sessions
		wg.Go(func() {
			mine := ids[w*perWriter : (w+1)*perWriter]
			for i := 0; !stop.Load(); i++ {
				octx, cancel := context.WithTimeout(ctx, time.Second)
				u, err := ms[w].Update(octx, mine[i%perWriter], new(pgsession.Patch).Set("n", i))
				cancel()
				if err != nil {
					time.Sleep(20 * time.Millisecond)
					continue
				}
				log.ack(u.ID(), u.Version())
				if back := restarted.Load(); back != 0 && recovered[w].Load() == 0 {
					recovered[w].Store(time.Now().UnixNano() - back)
				}
			}
		})
		wg.Go(func() { // and a reader on every node
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for !stop.Load() {
				id := ids[rng.IntN(len(ids))]
				start := time.Now()
				octx, cancel := context.WithTimeout(ctx, time.Second)
				s, err := ms[w].GetByID(octx, id, pgsession.NoTouch())
				cancel()
				if err == nil {
					log.read(w, id, s.Version(), start)
				} else if !errors.Is(err, context.DeadlineExceeded) && errors.Is(err, pgsession.ErrNotFound) {
					t.Errorf("node %d: a live session read as not found", w)
				}
				time.Sleep(time.Millisecond)
			}
		})
	}
	// Move the change log far ahead of what the load will write after the
	// restart: if the readers did not notice that a crash started the log
	// over, they would wait past the new rows forever.
	e.exec("INSERT INTO " + e.schema + ".pgsession_changes (id, version) SELECT '\\x00', 1 FROM generate_series(1, 20000)")
	time.Sleep(time.Second) // every reader is past them
	down := time.Now()
	e.server.Restart(t, mode)
	restarted.Store(time.Now().UnixNano())
	t.Logf("server %s-restarted in %v", mode, time.Since(down))
	require.Eventually(t, func() bool {
		for i := range recovered {
			if recovered[i].Load() == 0 {
				return false
			}
		}
		return true
	}, 10*time.Second, 5*time.Millisecond, "every node writes again without a process restart")
	time.Sleep(faultBound) // load on, past the bound
	stop.Store(true)
	wg.Wait()
	for i := range recovered {
		t.Logf("node %d recovered %v after the server was back", i, time.Duration(recovered[i].Load()))
	}

	stale := log.stale(faultBound)
	require.Empty(t, stale, "reads older than an update acknowledged more than S_fault before they began")
	for _, id := range ids {
		acks := log.acked[id]
		require.GreaterOrEqual(t, e.storedVersion(id), acks[len(acks)-1].version, "an acknowledged update was lost")
	}
	t.Logf("%d updates acknowledged, %d reads checked", len(log.acked), len(log.reads))

	// An update no one announces still reaches the other nodes: the change
	// log's readers followed the server through the restart.
	silent := testConfig()
	silent.SkipUpdateNotify = true
	w := e.node(e.pool(nil, nil), silent)
	for i, m := range ms { // each node serves from its cache again, or the check below proves nothing
		require.Eventually(t, func() bool { return !m.Stats().CacheBypassed }, faultBound, time.Millisecond)
		require.True(t, cachedAt(m, ids[0], e.storedVersion(ids[0])))
		hits := m.Stats().CacheHits
		require.True(t, cachedAt(m, ids[0], e.storedVersion(ids[0])))
		require.Equal(t, hits+1, m.Stats().CacheHits, "node %d serves from its cache", i)
	}
	u, err := w.Update(ctx, ids[0], new(pgsession.Patch).Set("silent", true))
	require.NoError(t, err)
	for i, m := range ms {
		t.Logf("node %d served the unannounced v%d %v after commit", i, u.Version(), honoured(t, m, ids[0], u.Version(), time.Now()))
	}
}
