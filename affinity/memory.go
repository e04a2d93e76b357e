package affinity

import (
	"context"
	"sync"
	"time"
)

// Memory is a Store in process memory, for a single proxy, the demo and
// tests. Its clock is the process's. Every worker's entries are indexed, so
// per-worker operations cost in proportion to that worker's entries.
type Memory struct {
	cfg Config
	now func() time.Time

	mu       sync.Mutex
	seq      int64                        // guarded by mu; last version handed out
	entries  map[Key]*memEntry            // guarded by mu
	byWorker map[string]map[Key]*memEntry // guarded by mu
}

type memEntry struct {
	key        Key
	worker     string
	userSub    string
	created    time.Time
	lastAccess time.Time
	version    int64
}

var (
	_ Store      = (*Memory)(nil)
	_ KeySweeper = (*Memory)(nil)
)

// NewMemory returns an empty in-memory store.
func NewMemory(cfg Config) (*Memory, error) {
	cfg, err := cfg.WithDefaults()
	if err != nil {
		return nil, Op("new memory store", err)
	}
	return &Memory{
		cfg:      cfg,
		now:      time.Now,
		entries:  map[Key]*memEntry{},
		byWorker: map[string]map[Key]*memEntry{},
	}, nil
}

// Config returns the configuration in force.
func (m *Memory) Config() Config { return m.cfg }

// live reports whether e is still live at now. Called with mu held.
func (m *Memory) live(e *memEntry, now time.Time) bool {
	return now.Sub(e.lastAccess) < m.cfg.IdleTimeout
}

func (m *Memory) entry(e *memEntry, now time.Time) Entry {
	return Entry{
		Key: e.key, App: m.cfg.App, WorkerID: e.worker, UserSub: e.userSub,
		Created: e.created, LastAccess: e.lastAccess, Version: e.version,
		ExpiresIn: m.cfg.IdleTimeout - now.Sub(e.lastAccess),
	}
}

// remove drops e from both maps. Called with mu held.
func (m *Memory) remove(e *memEntry) {
	delete(m.entries, e.key)
	if w := m.byWorker[e.worker]; w != nil {
		delete(w, e.key)
		if len(w) == 0 {
			delete(m.byWorker, e.worker)
		}
	}
}

func (m *Memory) index(e *memEntry) {
	w := m.byWorker[e.worker]
	if w == nil {
		w = map[Key]*memEntry{}
		m.byWorker[e.worker] = w
	}
	w[e.key] = e
}

// Get returns the live entry of sessionID, or ErrNotFound.
func (m *Memory) Get(ctx context.Context, sessionID string) (Entry, error) {
	if err := CheckSessionID(sessionID); err != nil {
		return Entry{}, Op("get", err)
	}
	if err := ctx.Err(); err != nil {
		return Entry{}, Op("get", err)
	}
	k := KeyOf(sessionID)
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	e := m.entries[k]
	if e == nil || !m.live(e, now) {
		return Entry{}, Op("get", ErrNotFound)
	}
	return m.entry(e, now), nil
}

// Set pins sessionID to workerID.
func (m *Memory) Set(ctx context.Context, sessionID, workerID, userSub string) (Entry, error) {
	if err := CheckPin(sessionID, workerID, userSub); err != nil {
		return Entry{}, Op("set", err)
	}
	if err := ctx.Err(); err != nil {
		return Entry{}, Op("set", err)
	}
	k := KeyOf(sessionID)
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	m.seq++
	e := m.entries[k]
	if e != nil && !m.live(e, now) {
		m.remove(e)
		e = nil
	}
	if e == nil {
		e = &memEntry{key: k, created: now}
		m.entries[k] = e
	} else if e.worker != workerID {
		m.remove(e)
		m.entries[k] = e
	}
	e.worker, e.userSub, e.lastAccess, e.version = workerID, userSub, now, m.seq
	m.index(e)
	return m.entry(e, now), nil
}

// Touch records an access to a live entry.
func (m *Memory) Touch(ctx context.Context, sessionID string) (Entry, error) {
	if err := CheckSessionID(sessionID); err != nil {
		return Entry{}, Op("touch", err)
	}
	if err := ctx.Err(); err != nil {
		return Entry{}, Op("touch", err)
	}
	k := KeyOf(sessionID)
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	e := m.entries[k]
	if e == nil || !m.live(e, now) {
		return Entry{}, Op("touch", ErrNotFound)
	}
	if now.Sub(e.lastAccess) >= m.cfg.Granularity() {
		e.lastAccess = now
	}
	return m.entry(e, now), nil
}

// Delete removes the entry of sessionID.
func (m *Memory) Delete(ctx context.Context, sessionID string) error {
	if err := CheckSessionID(sessionID); err != nil {
		return Op("delete", err)
	}
	if err := ctx.Err(); err != nil {
		return Op("delete", err)
	}
	k := KeyOf(sessionID)
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.entries[k]
	if e == nil {
		return Op("delete", ErrNotFound)
	}
	m.remove(e)
	if !m.live(e, m.now()) {
		return Op("delete", ErrNotFound)
	}
	return nil
}

// DeleteByWorker removes every entry of workerID.
func (m *Memory) DeleteByWorker(ctx context.Context, workerID string) (int, error) {
	if err := CheckWorkerID(workerID); err != nil {
		return 0, Op("delete by worker", err)
	}
	if err := ctx.Err(); err != nil {
		return 0, Op("delete by worker", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	n := 0
	for _, e := range m.byWorker[workerID] {
		if m.live(e, now) {
			n++
		}
		delete(m.entries, e.key)
	}
	delete(m.byWorker, workerID)
	return n, nil
}

// CountForWorker counts the live entries of workerID.
func (m *Memory) CountForWorker(ctx context.Context, workerID string) (int, error) {
	n, err := m.CountForWorkers(ctx, []string{workerID})
	if err != nil {
		return 0, Op("count for worker", err)
	}
	return n, nil
}

// CountForWorkers counts the live entries of workerIDs.
func (m *Memory) CountForWorkers(ctx context.Context, workerIDs []string) (int, error) {
	for _, w := range workerIDs {
		if err := CheckWorkerID(w); err != nil {
			return 0, Op("count for workers", err)
		}
	}
	if err := ctx.Err(); err != nil {
		return 0, Op("count for workers", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	n := 0
	for _, w := range uniq(workerIDs) {
		for _, e := range m.byWorker[w] {
			if m.live(e, now) {
				n++
			}
		}
	}
	return n, nil
}

// RerouteWorker moves every live entry of oldWorkerID to newWorkerID.
func (m *Memory) RerouteWorker(ctx context.Context, oldWorkerID, newWorkerID string) (int, error) {
	if err := CheckWorkerID(oldWorkerID); err != nil {
		return 0, Op("reroute worker", err)
	}
	if err := CheckWorkerID(newWorkerID); err != nil {
		return 0, Op("reroute worker", err)
	}
	if err := ctx.Err(); err != nil {
		return 0, Op("reroute worker", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	n := 0
	for _, e := range m.byWorker[oldWorkerID] {
		if !m.live(e, now) {
			continue
		}
		n++
		if oldWorkerID == newWorkerID {
			continue
		}
		m.remove(e)
		m.entries[e.key] = e
		m.seq++
		e.worker, e.version = newWorkerID, m.seq
		m.index(e)
	}
	return n, nil
}

// EntriesForWorker returns the live entries of workerID.
func (m *Memory) EntriesForWorker(ctx context.Context, workerID string) ([]Entry, error) {
	if err := CheckWorkerID(workerID); err != nil {
		return nil, Op("entries for worker", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, Op("entries for worker", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	out := make([]Entry, 0, len(m.byWorker[workerID]))
	for _, e := range m.byWorker[workerID] {
		if m.live(e, now) {
			out = append(out, m.entry(e, now))
		}
	}
	return out, nil
}

// SweepIdle removes entries idle for longer than maxIdle.
func (m *Memory) SweepIdle(ctx context.Context, maxIdle time.Duration) (int, error) {
	keys, err := m.sweep(ctx, maxIdle)
	return len(keys), Op("sweep idle", err)
}

// SweepIdleKeys is SweepIdle returning the removed keys.
func (m *Memory) SweepIdleKeys(ctx context.Context, maxIdle time.Duration) ([]Key, error) {
	keys, err := m.sweep(ctx, maxIdle)
	return keys, Op("sweep idle", err)
}

func (m *Memory) sweep(ctx context.Context, maxIdle time.Duration) ([]Key, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	maxIdle = SweepCutoff(m.cfg, maxIdle)
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	var keys []Key
	for _, e := range m.entries {
		if now.Sub(e.lastAccess) >= maxIdle {
			m.remove(e)
			keys = append(keys, e.key)
		}
	}
	return keys, nil
}

// SweepCutoff is the idle time past which SweepIdle(maxIdle) removes an
// entry: maxIdle, or cfg.IdleTimeout when maxIdle is <= 0 or longer.
func SweepCutoff(cfg Config, maxIdle time.Duration) time.Duration {
	if maxIdle <= 0 || maxIdle > cfg.IdleTimeout {
		return cfg.IdleTimeout
	}
	return maxIdle
}

func uniq(ids []string) []string {
	if len(ids) < 2 {
		return ids
	}
	seen := make(map[string]bool, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
