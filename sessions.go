package pgsession

import (
	"context"
	"time"

	"github.com/pgsession/pgsession/internal/store"
)

// Create starts a session for userID ("" for an anonymous session) with
// initial attributes, removing the user's oldest sessions past
// Config.MaxSessionsPerUser in the same round trip. The returned session's
// Token is the only copy of the secret: hand it to the client.
func (m *Manager) Create(ctx context.Context, userID string, attrs map[string]any, opts ...SessionOption) (*Session, error) {
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
	token, id := newToken()
	rec, _, err := m.backend.Create(ctx, store.NewSession{
		ID: store.ID(id), UserID: userID, Lifetime: o.lifetime, IdleTimeout: max(o.idle, 0),
		UserAgent: o.userAgent, IP: o.ip, Attrs: raw, MaxPerUser: m.cfg.MaxSessionsPerUser,
	})
	if err != nil {
		return nil, op(name, err)
	}
	return newSession(rec, token), nil
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
	if err := m.checkOpen(name); err != nil {
		return nil, err
	}
	var o getOptions
	for _, f := range opts {
		f(&o)
	}
	rec, err := m.backend.Get(ctx, store.ID(id))
	if err != nil {
		return nil, op(name, err)
	}
	if !o.noTouch {
		m.toucher.record(rec.ID)
	}
	return newSession(rec, ""), nil
}

// Update applies a patch to the session's current data in one round trip and
// returns the new snapshot. Keys the patch does not name are left as they
// are, so concurrent updates of different keys all survive. A session deleted
// meanwhile stays deleted (ErrNotFound): nothing is ever upserted.
func (m *Manager) Update(ctx context.Context, id ID, p *Patch, opts ...UpdateOption) (*Session, error) {
	const name = "update"
	if err := m.checkOpen(name); err != nil {
		return nil, err
	}
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
	rec, err := m.backend.Update(ctx, store.Patch{ID: store.ID(id), Set: sets, Delete: dels,
		IfVersion: o.ifVersion, MaxAttributes: m.cfg.MaxAttributes})
	if err != nil {
		return nil, op(name, err)
	}
	return newSession(rec, ""), nil
}

// Delete ends a session (log out). Deleting a session that is already gone
// is not an error.
func (m *Manager) Delete(ctx context.Context, id ID) error {
	if err := m.checkOpen("delete"); err != nil {
		return err
	}
	_, err := m.backend.Delete(ctx, store.ID(id))
	m.toucher.forget(store.ID(id))
	return op("delete", err)
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
	ids, err := m.backend.DeleteUser(ctx, userID, keep)
	for _, id := range ids {
		m.toucher.forget(id)
	}
	return len(ids), op(name, err)
}

// DeleteAll ends every session. It returns how many it ended.
func (m *Manager) DeleteAll(ctx context.Context) (int, error) {
	if err := m.checkOpen("delete all"); err != nil {
		return 0, err
	}
	n, err := m.backend.DeleteAll(ctx)
	return n, op("delete all", err)
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
		out[i] = newSession(r, "")
	}
	return out, nil
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
	if o.setUser {
		if err := checkUserID(o.userID, false); err != nil {
			return nil, op(name, err)
		}
	}
	idle := time.Duration(0) // keep the session's own
	if o.idleSet && o.idle > 0 {
		idle = o.idle
	}
	token, newID := newToken()
	rec, _, err := m.backend.Renew(ctx, store.Renewal{
		OldID: store.ID(id), NewID: store.ID(newID), SetUser: o.setUser, UserID: o.userID,
		Lifetime: o.lifetime, IdleTimeout: idle, UserAgent: o.userAgent, IP: o.ip,
		MaxPerUser: m.cfg.MaxSessionsPerUser,
	})
	if err != nil {
		return nil, op(name, err)
	}
	m.toucher.forget(store.ID(id))
	return newSession(rec, token), nil
}
