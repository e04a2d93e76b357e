package pgsession

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pgsession/pgsession/internal/notify"
	"github.com/pgsession/pgsession/internal/store"
)

// bus carries invalidations between nodes: PostgreSQL LISTEN/NOTIFY, or the
// memory store's subscribers.
type bus interface {
	// announce tells other nodes, after commit and coalesced with other
	// announcements, that a session changed; rec, if not nil, is its row
	// at that version, which other nodes' older copies may be replaced by;
	// keys, for an update (nil for a hint), are the keys it wrote.
	announce(id store.ID, version int64, rec *store.Record, keys []string)
	downFor() time.Duration
	reconnects() uint64
	// announcements counts the announcements sent, each one commit.
	announcements() uint64
	// close stops the bus, sending what is still pending (bounded by ctx).
	close(ctx context.Context) error
}

// onEvent applies an invalidation from any node (this one included) to the
// cache. It runs on the listener goroutine, or under the memory store's lock.
func (m *Manager) onEvent(e store.Event) {
	if m.cfg.Events {
		m.events.publish(sessionEvents(e)...)
	}
	switch e.Kind {
	case store.EventCreated:
		return // for events only: nothing cached can be older than a new session
	case store.EventLogged:
		if m.changes != nil {
			m.changes.hear(e.Logged...)
		}
		return
	}
	m.stats.invalidations.Add(1)
	switch e.Kind {
	case store.EventUpdated:
		for i, id := range e.IDs {
			m.invalidate(id, e.Versions[i])
		}
	case store.EventPushed:
		for _, rec := range e.Records {
			m.advance(rec)
		}
	case store.EventDeleted:
		m.ended(e.IDs...)
	case store.EventUserDeleted, store.EventUserDropped:
		if m.cache != nil {
			m.cache.DropWhere(func(s *Session) bool { return s.rec.UserID == e.User })
		}
	case store.EventAllDeleted:
		if m.cache != nil {
			m.cache.DropAll()
		}
	}
	if f := m.hooks.afterEvent.Load(); f != nil {
		(*f)(e)
	}
}

// advance replaces this node's older copy of a session with the row another
// node's update returned (DESIGN C9); without a copy here it acts as an
// invalidation. The row was read at its writer's commit, a moment ago: its
// age here starts on arrival.
func (m *Manager) advance(rec *store.Record) {
	if m.cache != nil && m.cache.Advance(rec.ID, newSession(rec, "")) {
		m.stats.pushed.Add(1)
	}
}

func (m *Manager) invalidate(id store.ID, version int64) {
	if m.cache != nil {
		m.cache.Invalidate(id, version)
	}
}

// trust is what the cache's use depends on: a listener that hears every
// announcement (DESIGN C1), and, where there is one, a change log read
// recently enough to catch the announcements never sent (C7).
type trust struct {
	mu        sync.Mutex
	listening bool // guarded by mu
	stale     bool // guarded by mu; the change log has not been read for too long
}

// setTrust changes what the node knows and switches the cache to match:
// off at once when either is lost; on again only after everything cached
// is dropped, since what was missed meanwhile is not known.
func (m *Manager) setTrust(change func(*trust)) {
	m.trust.mu.Lock()
	defer m.trust.mu.Unlock()
	was := m.trust.listening && !m.trust.stale
	change(&m.trust)
	now := m.trust.listening && !m.trust.stale
	if m.cache == nil || now == was {
		return
	}
	if now {
		m.cache.DropAll()
	}
	m.cache.SetEnabled(now)
}

// listenerUp runs once LISTEN is in place again: notifications sent while
// the node was deaf are lost, so everything cached is dropped before the
// cache serves again (DESIGN C1), and the change log is read from where it
// ends now (after a crash it starts over).
func (m *Manager) listenerUp() {
	if m.changes != nil && m.listener.Reconnects() > 0 {
		m.changes.restart.Store(true)
	}
	if m.cfg.Events && m.listener.Reconnects() > 0 {
		m.events.publish(Event{Kind: EventsMissed}) // what was announced meanwhile is lost
	}
	m.setTrust(func(t *trust) { t.listening = true })
}

// listenerDown runs as soon as the listener is known lost: reads go to the
// database from now on.
func (m *Manager) listenerDown(error) {
	m.setTrust(func(t *trust) { t.listening = false })
}

// changeLogFresh runs after each attempt to read the change log.
func (m *Manager) changeLogFresh(ok bool) {
	m.setTrust(func(t *trust) { t.stale = !ok })
}

// applyChanges invalidates what the change log says changed; copies at or
// past each version, this node's own writes among them, stay.
func (m *Manager) applyChanges(rows []store.Change) {
	for _, c := range rows {
		m.invalidate(c.ID, c.Version)
	}
}

// inProcess is a backend that delivers its events in process, to
// subscribers (the memory store).
type inProcess interface {
	Subscribe(fn func(store.Event)) (cancel func())
	Announce(ctx context.Context, payloads []string) error
}

// memoryBus is the bus of Managers sharing a MemoryStore: delivery is
// synchronous and cannot fail, so it is always healthy.
type memoryBus struct {
	st       inProcess
	instance string
	events   bool
	cancel   func()
	sent     atomic.Uint64
}

// newMemoryBus subscribes m to st's events except its own update
// announcements, as the PostgreSQL listener skips them: the writer already
// cached what it wrote. With events on it keeps them, for its subscribers.
func newMemoryBus(st inProcess, m *Manager) *memoryBus {
	instance := m.instance
	return &memoryBus{st: st, instance: instance, events: m.cfg.Events, cancel: st.Subscribe(func(e store.Event) {
		if e.Kind == store.EventUpdated && e.Instance == instance && !m.cfg.Events {
			return
		}
		m.onEvent(e)
	})}
}

// announce goes through the backend's Announce in the wire format, as on
// PostgreSQL, at once: the memory store delivers before it returns.
func (b *memoryBus) announce(id store.ID, version int64, rec *store.Record, keys []string) {
	b.sent.Add(1)
	e := store.Event{Kind: store.EventUpdated, Instance: b.instance, IDs: []store.ID{id}, Versions: []int64{version}}
	if b.events && keys != nil && rec != nil {
		e.Users, e.Keys = []string{rec.UserID}, [][]string{keys}
	}
	b.st.Announce(context.Background(), notify.Encode(e)) // our own payload: always readable
}
func (b *memoryBus) downFor() time.Duration { return 0 }
func (b *memoryBus) reconnects() uint64     { return 0 }
func (b *memoryBus) announcements() uint64  { return b.sent.Load() }
func (b *memoryBus) close(context.Context) error {
	b.cancel()
	return nil
}

// postgresBus listens on a dedicated connection and announces updates
// through the pool, coalesced by an announcer.
type postgresBus struct {
	listener  *notify.Listener
	announcer *announcer
}

func (b *postgresBus) announce(id store.ID, version int64, rec *store.Record, keys []string) {
	b.announcer.add(id, version, rec, keys)
}
func (b *postgresBus) downFor() time.Duration { return b.listener.DownFor() }
func (b *postgresBus) reconnects() uint64     { return b.listener.Reconnects() }
func (b *postgresBus) announcements() uint64  { return b.announcer.sent.Load() }
func (b *postgresBus) close(ctx context.Context) error {
	_, err := b.announcer.flush(ctx)
	return err
}
