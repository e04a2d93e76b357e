// Package memory is the in-process backend: the same behaviour as PostgreSQL
// for one process (the demo's embedded default and fast unit tests). Several
// Managers may share one Store, as several nodes share one database.
package memory

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/pgsession/pgsession/internal/notify"
	"github.com/pgsession/pgsession/internal/store"
)

// Store holds sessions in memory. The zero value is not usable; use New.
type Store struct {
	now func() time.Time

	mu     sync.Mutex
	rows   map[store.ID]*store.Record // guarded by mu; records are never mutated once stored
	byUser map[string]map[store.ID]struct{}
	// sweep lease, as the maintenance row in PostgreSQL
	sweepHolder string
	sweepUntil  time.Time
	subs        map[int]func(store.Event) // guarded by mu; the Managers sharing the store
	nextSub     int
	// keyVer is, per session, the version at which each key was last
	// written or removed (the attr_ver column in PostgreSQL).
	keyVer map[store.ID]map[string]int64
	locks  map[lockKey]store.LockInfo // guarded by mu
	fence  int64                      // guarded by mu; the last fencing token issued
}

var _ store.Backend = (*Store)(nil)

// New returns an empty store on the process clock.
func New() *Store {
	return &Store{now: time.Now, rows: map[store.ID]*store.Record{}, byUser: map[string]map[store.ID]struct{}{},
		subs: map[int]func(store.Event){}, keyVer: map[store.ID]map[string]int64{},
		locks: map[lockKey]store.LockInfo{}}
}

// Subscribe delivers every event published on the store to fn, in order,
// until the returned cancel is called. fn runs under the store's lock (as a
// notification is part of the transaction that sends it), so it must not
// call the store.
func (s *Store) Subscribe(fn func(store.Event)) (cancel func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.nextSub
	s.nextSub++
	s.subs[id] = fn
	return func() {
		s.mu.Lock()
		delete(s.subs, id)
		s.mu.Unlock()
	}
}

// publish runs with mu held.
func (s *Store) publish(e store.Event) {
	for _, fn := range s.subs {
		fn(e)
	}
}

// publishGone announces sessions deleted for reason, owned by user; with
// ReasonRenewed, newID is the successor. The memory store always says
// what session events need: it costs nothing here.
func (s *Store) publishGone(reason store.DeleteReason, ids []store.ID, user string, newID store.ID) {
	if len(ids) == 0 {
		return
	}
	e := store.Event{Kind: store.EventDeleted, Reason: reason, IDs: ids, Users: make([]string, len(ids))}
	for i := range ids {
		e.Users[i] = user
		if reason == store.ReasonRenewed {
			e.NewIDs = append(e.NewIDs, newID)
		}
	}
	s.publish(e)
}

// Announce delivers payloads, in internal/notify's format, to every
// subscriber, as PostgreSQL delivers them to every listener; one that
// cannot be read fails the call, and none is delivered.
func (s *Store) Announce(_ context.Context, payloads []string) error {
	events := make([]store.Event, 0, len(payloads))
	for _, p := range payloads {
		e, err := notify.Decode(p)
		if err != nil {
			return err
		}
		events = append(events, e)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range events {
		s.publish(e)
	}
	return nil
}

// DropUserCache tells every subscriber to forget the user's cached sessions.
func (s *Store) DropUserCache(_ context.Context, user string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.publish(store.Event{Kind: store.EventUserDropped, User: user})
	return nil
}

func isLive(r *store.Record, now time.Time) bool {
	if !now.Before(r.ExpiresAt) {
		return false
	}
	return r.IdleTimeout <= 0 || now.Before(r.LastSeenAt.Add(r.IdleTimeout))
}

// snapshot returns a copy the caller may keep: the attribute map is new, the
// attributes themselves are immutable and shared.
func snapshot(r *store.Record, now time.Time) *store.Record {
	c := *r
	c.Attrs = maps.Clone(r.Attrs)
	if c.Attrs == nil {
		c.Attrs = map[string]*store.Attr{}
	}
	c.Now = now
	return &c
}

func (s *Store) put(r *store.Record) {
	s.rows[r.ID] = r
	if r.UserID != "" {
		set := s.byUser[r.UserID]
		if set == nil {
			set = map[store.ID]struct{}{}
			s.byUser[r.UserID] = set
		}
		set[r.ID] = struct{}{}
	}
}

func (s *Store) remove(id store.ID) bool {
	r, ok := s.rows[id]
	if !ok {
		return false
	}
	delete(s.rows, id)
	delete(s.keyVer, id)
	s.dropLocks(id)
	if set := s.byUser[r.UserID]; set != nil {
		delete(set, id)
		if len(set) == 0 {
			delete(s.byUser, r.UserID)
		}
	}
	return true
}

// evict removes the user's live sessions beyond the newest keep-1.
func (s *Store) evict(user string, keep int, now time.Time) []store.ID {
	if keep <= 0 || user == "" {
		return nil
	}
	live := s.liveOf(user, now)
	if len(live) < keep {
		return nil
	}
	var out []store.ID
	for _, r := range live[keep-1:] {
		s.remove(r.ID)
		out = append(out, r.ID)
	}
	return out
}

// liveOf returns a user's live sessions, newest first (ties by id, as in SQL).
func (s *Store) liveOf(user string, now time.Time) []*store.Record {
	var out []*store.Record
	for id := range s.byUser[user] {
		if r := s.rows[id]; isLive(r, now) {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b *store.Record) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return slices.Compare(b.ID[:], a.ID[:])
	})
	return out
}

// Create inserts a session and evicts the user's oldest beyond the cap.
func (s *Store) Create(_ context.Context, n store.NewSession) (*store.Record, []store.ID, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.rows[n.ID]; dup {
		return nil, nil, store.ErrExists // before evicting: a refused create changes nothing
	}
	now := s.now()
	evicted := s.evict(n.UserID, n.MaxPerUser, now)
	attrs := make(map[string]*store.Attr, len(n.Attrs))
	for k, v := range n.Attrs {
		a := &store.Attr{Raw: slices.Clone(v)}
		if ttl := n.AttrTTL[k]; ttl > 0 {
			a.ExpiresAt = now.Add(ttl).Truncate(time.Millisecond) // as Update does
		}
		attrs[k] = a
	}
	r := &store.Record{ID: n.ID, UserID: n.UserID, Version: 1, CreatedAt: now, UpdatedAt: now,
		LastSeenAt: now, ExpiresAt: now.Add(n.Lifetime), IdleTimeout: max(n.IdleTimeout, 0),
		UserAgent: n.UserAgent, IP: n.IP, Attrs: attrs}
	s.put(r)
	s.publishGone(store.ReasonEvicted, evicted, n.UserID, store.ID{})
	s.publish(store.Event{Kind: store.EventCreated, IDs: []store.ID{n.ID}, Users: []string{n.UserID}})
	return snapshot(r, now), evicted, nil
}

// Get reads a live session.
func (s *Store) Get(_ context.Context, id store.ID) (*store.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	r, ok := s.rows[id]
	if !ok || !isLive(r, now) {
		return nil, store.ErrNotFound
	}
	return snapshot(r, now), nil
}

// Update applies a patch to the live row (never to a deleted one).
func (s *Store) Update(_ context.Context, p store.Patch) (*store.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	r, ok := s.rows[p.ID]
	if !ok || !isLive(r, now) {
		return nil, store.ErrNotFound
	}
	if p.IfVersion != 0 && r.Version != p.IfVersion {
		return nil, &store.ConflictError{Current: r.Version}
	}
	kv := s.keyVer[p.ID]
	if p.KeysSince != 0 {
		for _, k := range p.Delete {
			if kv[k] > p.KeysSince {
				return nil, &store.ConflictError{Current: r.Version}
			}
		}
		for _, w := range p.Set {
			if kv[w.Key] > p.KeysSince {
				return nil, &store.ConflictError{Current: r.Version}
			}
		}
	}
	attrs := maps.Clone(r.Attrs)
	if attrs == nil {
		attrs = map[string]*store.Attr{}
	}
	for _, k := range p.Delete {
		delete(attrs, k)
	}
	for _, w := range p.Set {
		a := &store.Attr{Raw: slices.Clone(w.Raw)}
		if w.TTL > 0 {
			a.ExpiresAt = now.Add(w.TTL).Truncate(time.Millisecond)
		}
		attrs[w.Key] = a
	}
	if len(attrs) > p.MaxAttributes {
		return nil, store.ErrTooManyAttributes
	}
	next := *r
	next.Attrs = attrs
	next.Version++
	next.UpdatedAt = now
	if p.Lifetime > 0 {
		next.ExpiresAt = now.Add(p.Lifetime)
	}
	s.rows[p.ID] = &next
	if kv == nil {
		kv = map[string]int64{}
		s.keyVer[p.ID] = kv
	}
	for _, k := range p.Delete {
		kv[k] = next.Version
	}
	for _, w := range p.Set {
		kv[w.Key] = next.Version
	}
	return snapshot(&next, now), nil
}

// Delete removes a session.
func (s *Store) Delete(_ context.Context, id store.ID) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.rows[id]
	if !ok {
		return false, nil
	}
	s.remove(id)
	s.publishGone(store.ReasonDeleted, []store.ID{id}, r.UserID, store.ID{})
	return true, nil
}

// DeleteUser removes a user's sessions but those in except.
func (s *Store) DeleteUser(_ context.Context, user string, except []store.ID) ([]store.ID, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.ID
	for id := range s.byUser[user] {
		if !slices.Contains(except, id) {
			out = append(out, id)
		}
	}
	for _, id := range out {
		s.remove(id)
	}
	if len(out) > 0 {
		s.publish(store.Event{Kind: store.EventUserDeleted, User: user})
	}
	return out, nil
}

// DeleteAll removes every session.
func (s *Store) DeleteAll(context.Context) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.rows)
	s.rows = map[store.ID]*store.Record{}
	s.byUser = map[string]map[store.ID]struct{}{}
	s.keyVer = map[store.ID]map[string]int64{}
	s.locks = map[lockKey]store.LockInfo{}
	s.publish(store.Event{Kind: store.EventAllDeleted})
	return n, nil
}

// ListUser returns a user's live sessions, newest first.
func (s *Store) ListUser(_ context.Context, user string) ([]*store.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	live := s.liveOf(user, now)
	out := make([]*store.Record, len(live))
	for i, r := range live {
		out[i] = snapshot(r, now)
	}
	return out, nil
}

// Page returns live sessions after an ID, in ID order.
func (s *Store) Page(_ context.Context, after store.ID, limit int) ([]*store.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	var out []*store.Record
	for id, r := range s.rows {
		if slices.Compare(id[:], after[:]) > 0 && isLive(r, now) {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b *store.Record) int { return slices.Compare(a.ID[:], b.ID[:]) })
	out = out[:min(limit, len(out))]
	for i, r := range out {
		out[i] = snapshot(r, now)
	}
	return out, nil
}

// Renew moves a live session to a new id.
func (s *Store) Renew(_ context.Context, rn store.Renewal) (*store.Record, []store.ID, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	old, ok := s.rows[rn.OldID]
	if !ok || !isLive(old, now) {
		return nil, nil, store.ErrNotFound
	}
	if _, dup := s.rows[rn.NewID]; dup {
		return nil, nil, store.ErrExists
	}
	kv := s.keyVer[rn.OldID]
	s.remove(rn.OldID)
	if kv != nil {
		s.keyVer[rn.NewID] = kv
	}
	next := *old
	next.ID = rn.NewID
	if rn.SetUser {
		next.UserID = rn.UserID
	}
	next.Version++
	next.CreatedAt, next.UpdatedAt, next.LastSeenAt = now, now, now
	next.ExpiresAt = now.Add(rn.Lifetime)
	switch {
	case rn.NoIdleTimeout:
		next.IdleTimeout = 0
	case rn.IdleTimeout > 0:
		next.IdleTimeout = rn.IdleTimeout
	}
	if rn.UserAgent != "" {
		next.UserAgent = rn.UserAgent
	}
	if rn.IP != "" {
		next.IP = rn.IP
	}
	evicted := s.evict(next.UserID, rn.MaxPerUser, now)
	s.put(&next)
	s.publishGone(store.ReasonRenewed, []store.ID{rn.OldID}, old.UserID, rn.NewID)
	s.publishGone(store.ReasonEvicted, evicted, next.UserID, store.ID{})
	return snapshot(&next, now), evicted, nil
}

// Touch records last access, forward only, never reviving an expired session.
func (s *Store) Touch(_ context.Context, touches []store.Touch, granularity time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for _, t := range touches {
		r, ok := s.rows[t.ID]
		seen := now.Add(-t.Ago)
		if !ok || !isLive(r, now) || !r.LastSeenAt.Before(seen.Add(-granularity)) {
			continue
		}
		next := *r
		next.LastSeenAt = seen
		s.rows[t.ID] = &next
	}
	return nil
}

// SweepBatch deletes up to batch expired sessions while holding the sweep lease.
func (s *Store) SweepBatch(_ context.Context, holder string, batch int, lease, every time.Duration) (store.SweepBatch, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if s.sweepHolder != holder && now.Before(s.sweepUntil) {
		return store.SweepBatch{}, nil
	}
	r := store.SweepBatch{Claimed: true}
	var dead []store.ID
	for id, row := range s.rows {
		r.Scanned++
		if !isLive(row, now) {
			dead = append(dead, id)
			if len(dead) == batch {
				break
			}
		} else if s.trimExpiredAttrs(row, now) {
			r.Trimmed++
		}
	}
	for _, id := range dead {
		s.publishGone(store.ReasonExpired, []store.ID{id}, s.rows[id].UserID, store.ID{})
		s.remove(id)
	}
	r.Deleted = len(dead)
	r.Done = len(dead) < batch
	if r.Done {
		s.sweepHolder, s.sweepUntil = "", now.Add(every)
	} else {
		s.sweepHolder, s.sweepUntil = holder, now.Add(lease)
	}
	return r, nil
}

// trimExpiredAttrs removes a live row's expired attributes (already
// invisible to reads). Runs with mu held.
func (s *Store) trimExpiredAttrs(r *store.Record, now time.Time) bool {
	var keep map[string]*store.Attr
	for k, a := range r.Attrs {
		if !a.ExpiresAt.IsZero() && !now.Before(a.ExpiresAt) {
			if keep == nil {
				keep = maps.Clone(r.Attrs)
			}
			delete(keep, k)
		}
	}
	if keep == nil {
		return false
	}
	next := *r
	next.Attrs = keep
	s.rows[r.ID] = &next
	return true
}

// AttrCount returns how many attributes a session holds, expired or not.
func (s *Store) AttrCount(id store.ID) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.rows[id]; ok {
		return len(r.Attrs)
	}
	return -1
}

// Close does nothing: the store outlives the Managers that share it.
func (s *Store) Close() {}

// Len returns how many rows the store holds, expired or not.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.rows)
}
