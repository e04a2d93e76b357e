package pgsession

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/pgsession/pgsession/internal/cache"
	"github.com/pgsession/pgsession/internal/store"
)

// Create starts a session for userID ("" for an anonymous session) with
// initial attributes, removing the user's oldest sessions past
// Config.MaxSessionsPerUser in the same round trip. The returned session's
// Token is the only copy of the secret: hand it to the client.
func (m *Manager) Create(ctx context.Context, userID string, attrs map[string]any, opts ...SessionOption) (*Session, error) {
	token, id := newToken()
	return m.create(ctx, token, id, userID, attrs, opts)
}

func (m *Manager) create(ctx context.Context, token string, id ID, userID string, attrs map[string]any, opts []SessionOption) (*Session, error) {
	const name = "create"
	if err := m.checkOpen(name); err != nil {
		return nil, err
	}
	o := m.sessionOptions(opts)
	if err := checkUserID(userID, false); err != nil {
		return nil, op(name, err)
	}
	raw, err := m.limits.encodeAttrs(attrs)
	if err != nil {
		return nil, op(name, err)
	}
	ttl, err := initialTTLs(raw, o.attrTTL)
	if err != nil {
		return nil, op(name, err)
	}
	var evicted []store.ID
	s, err := m.write(store.ID(id), token, func() (rec *store.Record, err error) {
		defer m.timed(opCreate, mono())
		rec, evicted, err = m.backend.Create(ctx, store.NewSession{
			ID: store.ID(id), UserID: userID, Lifetime: o.lifetime, IdleTimeout: max(o.idle, 0),
			UserAgent: o.userAgent, IP: o.ip, Attrs: raw, AttrTTL: ttl, MaxPerUser: m.cfg.MaxSessionsPerUser,
		})
		return rec, err
	})
	if err != nil {
		return nil, op(name, err)
	}
	m.gone.forget(store.ID(id))
	m.ended(evicted...)
	m.stats.created.Add(1)
	m.stats.deleted.Add(uint64(len(evicted)))
	return s, nil
}

// initialTTLs checks a Create's WithAttrTTL options against its attributes
// and keeps the ones that expire (nil if none does).
func initialTTLs(attrs map[string]json.RawMessage, ttl map[string]time.Duration) (map[string]time.Duration, error) {
	var out map[string]time.Duration
	for k, d := range ttl {
		if _, ok := attrs[k]; !ok {
			return nil, fmt.Errorf("attribute %s: %w: WithAttrTTL names it, but Create does not set it", echo(k), ErrAttributeNotFound)
		}
		if d > 0 {
			if out == nil {
				out = make(map[string]time.Duration, len(ttl))
			}
			out[k] = d
		}
	}
	return out, nil
}

// CreateWithToken is Create for frameworks that issue their own tokens, such
// as scs (see the scsstore module): token must be 32 bytes from a
// cryptographic source in unpadded base64url (43 characters), which is what
// scs generates. Never pass a token that came from a client: that would let
// a client choose its session (fixation). If a session with that token
// exists, it fails with ErrSessionExists and changes nothing.
func (m *Manager) CreateWithToken(ctx context.Context, token, userID string, attrs map[string]any, opts ...SessionOption) (*Session, error) {
	id, ok := idFromToken(token)
	if !ok {
		return nil, op("create", fmt.Errorf("%w: not a 43-character base64url token", ErrInvalidValue))
	}
	return m.create(ctx, token, id, userID, attrs, opts)
}

func (m *Manager) sessionOptions(opts []SessionOption) sessionOptions {
	var o sessionOptions
	for _, f := range opts {
		f(&o)
	}
	if o.lifetime <= 0 {
		o.lifetime = m.cfg.Lifetime
	}
	if !o.idleSet {
		o.idle = m.cfg.idleTimeout()
	}
	o.userAgent = clip(o.userAgent, maxUserAgentLength)
	o.ip = clip(o.ip, maxIPLength)
	return o
}

// Get returns the live session a token names. A token that is malformed,
// unknown, expired or revoked gives ErrNotFound: the request has no session.
func (m *Manager) Get(ctx context.Context, token string, opts ...GetOption) (*Session, error) {
	id, ok := idFromToken(token)
	if !ok {
		if err := m.checkOpen("get"); err != nil {
			return nil, err
		}
		return nil, op("get", ErrNotFound)
	}
	return m.get(ctx, "get", id, opts)
}

// GetByID returns the live session with that ID (admin tools, session lists).
func (m *Manager) GetByID(ctx context.Context, id ID, opts ...GetOption) (*Session, error) {
	return m.get(ctx, "get by id", id, opts)
}

func (m *Manager) get(ctx context.Context, name string, id ID, opts []GetOption) (*Session, error) {
	if m.closed.Load() {
		return nil, op(name, ErrClosed)
	}
	o := mergeGetOptions(opts)
	if m.cache != nil && !o.forceRefresh {
		if s, ok := m.cache.Get(store.ID(id)); ok {
			now := coarseNow()
			if now+nearDeadline >= s.liveUntil {
				now = mono() // close to expiry: the real clock decides
			}
			if s.rec.Version >= o.minVersion && now < s.liveUntil && now-s.readAt < int64(m.cfg.CacheMaxAge) {
				m.stats.hit(id[0])
				if !o.noTouch {
					m.touch(s, now)
				}
				return s, nil
			}
		}
	}
	if !o.forceRefresh && m.gone.has(store.ID(id)) {
		m.stats.goneHits.Add(1)
		return nil, op(name, ErrNotFound)
	}
	m.stats.misses.Add(1)
	var s *Session
	var err error
	if o.forceRefresh {
		s, _, err = m.loadOnce(ctx, id) // a query of its own: sent after the call began
	} else {
		s, err = m.load(ctx, id, o.minVersion)
	}
	if err != nil {
		return nil, op(name, err)
	}
	if !o.noTouch {
		m.touch(s, mono())
	}
	return s, nil
}

// nearDeadline is how close to its expiry a cached session must be for a hit
// to read the real clock rather than the coarse one.
const nearDeadline = int64(100 * time.Millisecond)

// touch records a use of s, at most once per granularity per snapshot.
func (m *Manager) touch(s *Session, now int64) {
	last := s.touchMark.Load()
	if last != 0 && now-last < int64(m.cfg.TouchGranularity) {
		return
	}
	if s.touchMark.CompareAndSwap(last, now) {
		m.toucher.record(s.rec.ID)
	}
}

// load reads a session from the database and caches it. Concurrent loads of
// one session share one query; a caller whose minimum version the shared
// result does not reach loads again on its own. A shared query may have been
// sent just before this call began, so a newer copy this node cached
// meanwhile (its own write) wins over it.
func (m *Manager) load(ctx context.Context, id ID, minVersion int64) (*Session, error) {
	// Without a cache nothing records what this node wrote while a read was
	// in flight, so a Get could not tell a shared read sent before its own
	// write: every read is its own.
	for shared := m.cache != nil; ; shared = false {
		var s *Session
		var err error
		if shared {
			s, err = m.loadShared(ctx, id)
			if err == nil && m.cache != nil {
				if c, ok := m.cache.Get(store.ID(id)); ok && c.rec.Version > s.rec.Version {
					s = c
				}
			}
		} else {
			s, _, err = m.loadOnce(ctx, id)
		}
		if err != nil || s.rec.Version >= minVersion || !shared {
			return s, err
		}
	}
}

// flight is one database read of a session that concurrent Gets share.
type flight struct {
	done      chan struct{} // closed when s, err and overtaken are set
	s         *Session
	err       error
	overtaken bool // the cache refused s: something newer was seen meanwhile
}

// loadShared joins the read of id in progress, or starts one. It starts no
// goroutine: the first caller reads, the others wait for it or for their own
// context. A waiter reads again on its own if the reader's context ended the
// read, or if the cache refused the result as overtaken: the shared query
// may have been sent before this node's own write returned (DESIGN C6).
func (m *Manager) loadShared(ctx context.Context, id ID) (*Session, error) {
	m.flightMu.Lock()
	if f := m.flights[id]; f != nil {
		m.flightMu.Unlock()
		select {
		case <-f.done:
			if f.overtaken || f.err != nil && (errors.Is(f.err, context.Canceled) || errors.Is(f.err, context.DeadlineExceeded)) && ctx.Err() == nil {
				// (overtaken also covers a "not found" read that a create of
				// this ID on this node overlapped)
				s, _, err := m.loadOnce(ctx, id)
				return s, err
			}
			return f.s, f.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f := &flight{done: make(chan struct{})}
	m.flights[id] = f
	m.flightMu.Unlock()
	// The flight leaves the table before its copy is offered to the cache:
	// a Get that begins after that, perhaps after this node's own write or
	// delete whose effect the offer no longer sees, reads on its own.
	leave := func() {
		m.flightMu.Lock()
		delete(m.flights, id)
		m.flightMu.Unlock()
	}
	f.s, f.overtaken, f.err = m.loadThen(ctx, id, leave)
	close(f.done)
	return f.s, f.err
}

// loadOnce reads id from the database and offers the copy to the cache; it
// reports whether the cache refused it as overtaken.
func (m *Manager) loadOnce(ctx context.Context, id ID) (*Session, bool, error) {
	return m.loadThen(ctx, id, func() {})
}

// loadThen is loadOnce that runs beforeFill between the read and the offer
// to the cache, whatever the read's outcome. It keeps the node's memory of
// gone IDs up to date: a live session is forgotten there, and a session
// not found is remembered unless a write of it on this node overlapped the
// read (the read may then predate a create).
func (m *Manager) loadThen(ctx context.Context, id ID, beforeFill func()) (*Session, bool, error) {
	var t cache.Ticket
	if m.cache != nil {
		t = m.cache.Begin(store.ID(id))
	}
	start := mono()
	rec, err := m.backend.Get(ctx, store.ID(id))
	m.timed(opGet, start)
	beforeFill()
	if err != nil {
		overtaken := false
		if m.cache != nil {
			overtaken = m.cache.AbandonRead(t, errors.Is(err, ErrNotFound))
			if errors.Is(err, ErrNotFound) && !overtaken {
				m.gone.notFound(store.ID(id))
			}
		}
		return nil, overtaken, err
	}
	m.gone.forget(store.ID(id))
	if f := m.hooks.afterLoad.Load(); f != nil {
		(*f)(id)
	}
	if m.cache == nil {
		return loadedSession(rec, ""), false, nil
	}
	cached, s := loadedPair(rec, "")
	return s, m.cache.Fill(t, cached) == cache.Overtaken, nil
}

// write runs a backend write whose result becomes the cached copy, guarded
// like a load so an invalidation seen meanwhile wins (DESIGN C2). It returns
// the caller's own snapshot of the result, carrying token (the secret of a
// Create or Renew; "" for an Update), which the cached copy never holds.
func (m *Manager) write(id store.ID, token string, do func() (*store.Record, error)) (*Session, error) {
	var t cache.Ticket
	if m.cache != nil {
		t = m.cache.Begin(id)
	}
	rec, err := do()
	if err != nil {
		if m.cache != nil {
			m.cache.Abandon(t)
		}
		return nil, err
	}
	if m.cache == nil {
		return loadedSession(rec, token), nil
	}
	cached, s := loadedPair(rec, token)
	m.cache.Fill(t, cached)
	return s, nil
}

// Update applies a patch to the session's current data in one round trip and
// returns the new snapshot. Keys the patch does not name are left as they
// are, so concurrent updates of different keys all survive. A session deleted
// meanwhile stays deleted (ErrNotFound): nothing is ever upserted.
func (m *Manager) Update(ctx context.Context, id ID, p *Patch, opts ...UpdateOption) (*Session, error) {
	const name = "update"
	if !m.writes.enter() {
		return nil, op(name, ErrClosed)
	}
	defer m.writes.leave()
	var o updateOptions
	for _, f := range opts {
		f(&o)
	}
	if p == nil {
		p = &Patch{}
	}
	sets, dels, err := p.build(m.limits)
	if err != nil {
		return nil, op(name, err)
	}
	var placed uint64 // the change log reader's placement before the statement
	if m.changes != nil {
		placed = m.changes.placement()
	}
	s, err := m.write(store.ID(id), "", func() (*store.Record, error) {
		defer m.timed(opUpdate, mono())
		return m.backend.Update(ctx, store.Patch{ID: store.ID(id), Set: sets, Delete: dels,
			IfVersion: o.ifVersion, KeysSince: o.keysSince, MaxAttributes: m.cfg.MaxAttributes, Lifetime: o.lifetime})
	})
	var conflict *store.ConflictError
	switch {
	case err == nil:
		m.stats.updated.Add(1)
		if m.changes != nil && s.rec.ChangeSeq > 0 {
			m.changes.hearOwn(placed, s.rec.ChangeSeq) // this node holds what its row says
		}
		if f := m.hooks.beforeAnnounce.Load(); f != nil {
			(*f)(id, s.rec.Version)
		}
		if !o.noNotify && !m.cfg.SkipUpdateNotify {
			var keys []string
			if m.cfg.Events {
				keys = p.keys()
			}
			m.bus.announce(store.ID(id), s.rec.Version, s.rec, keys)
		}
		return s, nil
	case errors.Is(err, ErrNotFound):
		m.ended(store.ID(id))
	case errors.Is(err, ErrOutcomeUnknown):
		// It may have committed at a version we do not know: no copy here
		// or elsewhere may be trusted until read again.
		m.invalidate(store.ID(id), unknownVersion)
		m.bus.announce(store.ID(id), unknownVersion, nil, nil)
	case errors.As(err, &conflict):
		// Our copy, and maybe others', is older than the row.
		m.invalidate(store.ID(id), conflict.Current)
		if m.cfg.NotifyOnConflict {
			m.bus.announce(store.ID(id), conflict.Current, nil, nil)
		}
	}
	return nil, op(name, err)
}

// unknownVersion announces a change of unknown version: every copy is older.
const unknownVersion = cache.Deleted

// Delete ends a session (log out). Deleting a session that is already gone
// is not an error.
func (m *Manager) Delete(ctx context.Context, id ID) error {
	if err := m.checkOpen("delete"); err != nil {
		return err
	}
	start := mono()
	existed, err := m.backend.Delete(ctx, store.ID(id))
	m.timed(opDelete, start)
	if err == nil {
		m.ended(store.ID(id))
		if existed {
			m.stats.deleted.Add(1)
		}
	}
	return op("delete", err)
}

// ended records, on this node, that sessions no longer exist: their cached
// copies go, their pending touches are dropped, and their IDs are
// remembered as gone.
func (m *Manager) ended(ids ...store.ID) {
	for _, id := range ids {
		m.invalidate(id, cache.Deleted)
		m.toucher.forget(id)
	}
	m.gone.ended(ids...)
}

// DeleteUser ends all of a user's sessions except the listed ones ("log out
// everywhere", or "log out my other devices" with the current ID in except).
// It returns how many sessions it ended.
func (m *Manager) DeleteUser(ctx context.Context, userID string, except ...ID) (int, error) {
	const name = "delete user"
	if err := m.checkOpen(name); err != nil {
		return 0, err
	}
	if err := checkUserID(userID, true); err != nil {
		return 0, op(name, err)
	}
	keep := make([]store.ID, len(except))
	for i, id := range except {
		keep[i] = store.ID(id)
	}
	start := mono()
	ids, err := m.backend.DeleteUser(ctx, userID, keep)
	m.timed(opDeleteUser, start)
	m.ended(ids...)
	m.stats.deleted.Add(uint64(len(ids)))
	return len(ids), op(name, err)
}

// DeleteAll ends every session. It returns how many it ended.
func (m *Manager) DeleteAll(ctx context.Context) (int, error) {
	if err := m.checkOpen("delete all"); err != nil {
		return 0, err
	}
	start := mono()
	n, err := m.backend.DeleteAll(ctx)
	m.timed(opDeleteAll, start)
	if err == nil && m.cache != nil {
		m.cache.DropAll()
	}
	m.stats.deleted.Add(uint64(max(n, 0)))
	return n, op("delete all", err)
}

// DropUserCache makes every node forget its cached copies of a user's
// sessions, without ending them: the next read of each goes to the
// database. Use it after changing user data that sessions copy, or when a
// node may have missed announcements.
func (m *Manager) DropUserCache(ctx context.Context, userID string) error {
	const name = "drop user cache"
	if err := m.checkOpen(name); err != nil {
		return err
	}
	if err := checkUserID(userID, true); err != nil {
		return op(name, err)
	}
	if m.cache != nil {
		m.cache.DropWhere(func(s *Session) bool { return s.rec.UserID == userID })
	}
	return op(name, m.backend.DropUserCache(ctx, userID))
}

// ListUser returns a user's live sessions, newest first, with the metadata a
// "your devices" page shows.
func (m *Manager) ListUser(ctx context.Context, userID string) ([]*Session, error) {
	const name = "list user"
	if err := m.checkOpen(name); err != nil {
		return nil, err
	}
	if err := checkUserID(userID, true); err != nil {
		return nil, op(name, err)
	}
	recs, err := m.backend.ListUser(ctx, userID)
	if err != nil {
		return nil, op(name, err)
	}
	out := make([]*Session, len(recs))
	for i, r := range recs {
		out[i] = loadedSession(r, "")
	}
	return out, nil
}

// All iterates over every live session in ID order, reading pages of
// pageSize (1000 if <= 0), one round trip each, so memory stays bounded
// however many there are. Stop early by returning false from the loop body;
// an error ends the iteration with a nil session. For admin tools and store
// adapters; sessions created or deleted during the walk may or may not
// appear.
func (m *Manager) All(ctx context.Context, pageSize int) iter.Seq2[*Session, error] {
	if pageSize <= 0 {
		pageSize = 1000
	}
	return func(yield func(*Session, error) bool) {
		var after store.ID
		for {
			if err := m.checkOpen("all"); err != nil {
				yield(nil, err)
				return
			}
			recs, err := m.backend.Page(ctx, after, pageSize)
			if err != nil {
				yield(nil, op("all", err))
				return
			}
			for _, r := range recs {
				if !yield(loadedSession(r, ""), nil) {
					return
				}
			}
			if len(recs) < pageSize {
				return
			}
			after = recs[len(recs)-1].ID
		}
	}
}

// Renew gives a live session a new token and ID, keeping its data, in one
// transaction: the old token stops working as the new one starts. Call it at
// log in (with AsUser) and on privilege changes, so a token known before
// cannot follow the user in (session fixation).
func (m *Manager) Renew(ctx context.Context, id ID, opts ...SessionOption) (*Session, error) {
	const name = "renew"
	if err := m.checkOpen(name); err != nil {
		return nil, err
	}
	o := m.sessionOptions(opts)
	if o.attrTTL != nil {
		return nil, op(name, fmt.Errorf("WithAttrTTL: %w: Renew keeps the attributes as they are", errors.ErrUnsupported))
	}
	if o.setUser {
		if err := checkUserID(o.userID, false); err != nil {
			return nil, op(name, err)
		}
	}
	idle := time.Duration(0) // keep the session's own
	if o.idleSet && o.idle > 0 {
		idle = o.idle
	}
	noIdle := o.idleSet && o.idle < 0 // WithIdleTimeout(-1): idle expiry off from now on
	token, newID := newToken()
	var evicted []store.ID
	s, err := m.write(store.ID(newID), token, func() (rec *store.Record, err error) {
		defer m.timed(opRenew, mono())
		rec, evicted, err = m.backend.Renew(ctx, store.Renewal{
			OldID: store.ID(id), NewID: store.ID(newID), SetUser: o.setUser, UserID: o.userID,
			Lifetime: o.lifetime, IdleTimeout: idle, NoIdleTimeout: noIdle, UserAgent: o.userAgent, IP: o.ip,
			MaxPerUser: m.cfg.MaxSessionsPerUser,
		})
		return rec, err
	})
	switch {
	case err == nil, errors.Is(err, ErrNotFound):
		m.ended(store.ID(id)) // renewed away, or never was
	default:
		m.invalidate(store.ID(id), cache.Deleted) // may be either: read it again
	}
	if err != nil {
		return nil, op(name, err)
	}
	m.ended(evicted...)
	m.stats.renewed.Add(1)
	m.stats.deleted.Add(uint64(len(evicted)))
	return s, nil
}
