package pgsession_test

import (
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession"
)

// history records operations with call and return times on one clock.
type history struct {
	mu   sync.Mutex
	base time.Time
	ops  []porcupine.Operation
}

func newHistory() *history { return &history{base: time.Now()} }

func (h *history) now() int64 { return int64(time.Since(h.base)) }

func (h *history) add(client int, in, out any, call, ret int64) {
	h.mu.Lock()
	h.ops = append(h.ops, porcupine.Operation{ClientId: client, Input: in, Output: out, Call: call, Return: ret})
	h.mu.Unlock()
}

// lockIn names the handle an operation uses: each acquire makes a new one.
type lockIn struct {
	acquire bool
	handle  int
}

// lockModel: one holder or none; acquire succeeds only when free, release
// only for the handle that holds it.
var lockModel = porcupine.Model{
	Init: func() any { return -1 },
	Step: func(state, input, output any) (bool, any) {
		holder, in, ok := state.(int), input.(lockIn), output.(bool)
		switch {
		case in.acquire && ok:
			return holder == -1, in.handle
		case in.acquire:
			return holder != -1, holder
		case ok:
			return holder == in.handle, -1
		default:
			return holder != in.handle, holder
		}
	},
}

// Randomized lock histories across two nodes are linearizable.
func TestLockHistoryIsLinearizable(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		nodes := []*pgsession.Manager{c.node(testConfig()), c.node(testConfig())}
		s, err := nodes[0].Create(ctx, "", nil)
		require.NoError(t, err)
		h := newHistory()
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for client := 0; client < 4; client++ {
			m := nodes[client%2]
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(client), 7))
				var held, old *pgsession.Lock
				var heldID, oldID int
				for i := 0; i < 40; i++ {
					time.Sleep(time.Duration(rng.IntN(300)) * time.Microsecond) // interleave the clients
					call := h.now()
					switch {
					case held == nil:
						l, err := m.Lock(ctx, s.ID(), "r", quickLock())
						ret := h.now()
						if err != nil && !errors.Is(err, pgsession.ErrLockHeld) {
							errs <- err
							return
						}
						handle := client*1000 + i
						h.add(client, lockIn{acquire: true, handle: handle}, err == nil, call, ret)
						held, heldID = l, handle
					case rng.IntN(3) == 0 && old != nil: // a stale handle tries to release
						err := old.Release(ctx)
						h.add(client, lockIn{handle: oldID}, err == nil, call, h.now())
					default:
						err := held.Release(ctx)
						h.add(client, lockIn{handle: heldID}, err == nil, call, h.now())
						old, oldID, held = held, heldID, nil
					}
				}
				if held != nil { // recorded too: the others see the lock free from here
					call := h.now()
					err := held.Release(ctx)
					h.add(client, lockIn{handle: heldID}, err == nil, call, h.now())
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		require.Equal(t, porcupine.Ok, porcupine.CheckOperationsTimeout(lockModel, h.ops, 30*time.Second))
	})
}

type casIn struct {
	read   bool
	expect int64
	value  int
}

type casOut struct {
	ok      bool
	version int64
	value   int
}

type casState struct {
	version int64
	value   int
}

// casModel: reads see the current state; an update applies only at the
// version it expects.
var casModel = porcupine.Model{
	Init: func() any { return casState{version: 1} },
	Step: func(state, input, output any) (bool, any) {
		st, in, out := state.(casState), input.(casIn), output.(casOut)
		switch {
		case in.read:
			return out.version == st.version && out.value == st.value, st
		case out.ok:
			return st.version == in.expect, casState{version: st.version + 1, value: in.value}
		default:
			return st.version != in.expect, st
		}
	},
}

// Version-checked updates from several nodes, with reads that bypass the
// cache (ForceRefresh), form a linearizable history.
func TestStrictUpdateHistoryIsLinearizable(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		cfg := testConfig()
		cfg.CacheSize = -1
		nodes := []*pgsession.Manager{c.node(cfg), c.node(cfg), c.node(cfg)}
		s, err := nodes[0].Create(ctx, "", map[string]any{"v": 0})
		require.NoError(t, err)
		h := newHistory()
		var wg sync.WaitGroup
		errs := make(chan error, 6)
		for client := 0; client < 6; client++ {
			m := nodes[client%3]
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(client), 9))
				for i := 0; i < 25; i++ {
					time.Sleep(time.Duration(rng.IntN(300)) * time.Microsecond) // interleave the clients
					call := h.now()
					got, err := m.GetByID(ctx, s.ID(), pgsession.NoTouch(), pgsession.ForceRefresh())
					ret := h.now()
					if err != nil {
						errs <- err
						return
					}
					v := pgsession.AttrOr(got, "v", -1)
					h.add(client, casIn{read: true}, casOut{version: got.Version(), value: v}, call, ret)

					value := client*1000 + i
					call = h.now()
					_, err = m.Update(ctx, s.ID(), new(pgsession.Patch).Set("v", value), pgsession.IfVersion(got.Version()))
					ret = h.now()
					if err != nil && !errors.Is(err, pgsession.ErrVersionConflict) {
						errs <- err
						return
					}
					h.add(client, casIn{expect: got.Version(), value: value}, casOut{ok: err == nil}, call, ret)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		require.Equal(t, porcupine.Ok, porcupine.CheckOperationsTimeout(casModel, h.ops, 30*time.Second))
	})
}
