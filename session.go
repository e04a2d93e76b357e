package pgsession

import (
	"bytes"
	"encoding/json"
	"slices"
	"sync/atomic"
	"time"

	"github.com/pgsession/pgsession/internal/store"
)

// Session is an immutable snapshot of a session as it was read or written.
// It is safe to share between goroutines; changes go through Manager.Update,
// which returns a new snapshot.
type Session struct {
	rec   *store.Record
	token string
	// readAt is the local monotonic time (see mono) when rec.Now was read;
	// liveUntil is when, by the same clock, the session expires (absolute or
	// idle), so a cache hit judges expiry with one comparison.
	readAt, liveUntil int64
	// touchMark is when a touch of this snapshot was last recorded, so a hot
	// session costs the toucher one lock per granularity, not per read.
	touchMark atomic.Int64
	// loaded marks a snapshot handed to the call that read or wrote it in
	// the database. The copy the cache holds never has it, so a cache hit
	// says "from cache" by returning that copy as it is (see FromCache).
	loaded bool
}

// newSession returns a snapshot as the cache holds it: FromCache reports
// true for it.
func newSession(rec *store.Record, token string) *Session {
	now := mono()
	return &Session{rec: rec, token: token, readAt: now, liveUntil: liveUntil(rec, now)}
}

// liveUntil is when, on the local monotonic clock, a record read at now
// expires (absolute or idle).
func liveUntil(rec *store.Record, now int64) int64 {
	until := now + int64(rec.ExpiresAt.Sub(rec.Now))
	if rec.IdleTimeout > 0 {
		until = min(until, now+int64(rec.LastSeenAt.Add(rec.IdleTimeout).Sub(rec.Now)))
	}
	return until
}

// loadedPair returns two snapshots of rec: cached, for the cache, and
// loaded, for the call that read or wrote rec, which alone carries token.
// Both share the record. Without a token they share one allocation, which
// keeps a miss or an update as cheap as when the caller got the cached
// snapshot itself, at a few dozen bytes per cached entry. With a token (a
// Create or Renew) they are allocated apart, as before: the cache's copy
// would otherwise keep the secret reachable for as long as it is cached.
func loadedPair(rec *store.Record, token string) (cached, loaded *Session) {
	if token != "" {
		cached = newSession(rec, "")
		loaded = &Session{rec: rec, token: token, readAt: cached.readAt, liveUntil: cached.liveUntil, loaded: true}
		return cached, loaded
	}
	pair := new([2]Session)
	cached, loaded = &pair[0], &pair[1]
	now := mono()
	until := liveUntil(rec, now)
	*cached = Session{rec: rec, readAt: now, liveUntil: until}
	*loaded = Session{rec: rec, readAt: now, liveUntil: until, loaded: true}
	return cached, loaded
}

// loadedSession is a snapshot for the caller alone, never cached (lists,
// and reads or writes on a node without a cache).
func loadedSession(rec *store.Record, token string) *Session {
	s := newSession(rec, token)
	s.loaded = true
	return s
}

// sizeOf estimates a snapshot's memory for the cache's byte bound.
func sizeOf(s *Session) int {
	// Decoded attributes take about twice their encoded size.
	return 400 + len(s.rec.UserID) + len(s.rec.UserAgent) + len(s.rec.IP) + 2*s.rec.AttrBytes()
}

// FromCache reports whether the snapshot came from this node's memory
// rather than from the database during the call that returned it: true for
// a Get served by a cache hit, false for a Get that read the database
// (alone or sharing a read with concurrent Gets) and for what Create,
// Update, Renew, ListUser and All return. A hit costs nothing extra: the
// cache holds its own copy of each snapshot, which says true.
func (s *Session) FromCache() bool { return !s.loaded }

// ID returns the session's ID, safe to show to its owner.
func (s *Session) ID() ID { return ID(s.rec.ID) }

// Token returns the secret token to hand to the client. It is set only on
// sessions returned by Create and Renew: the server never stores it.
func (s *Session) Token() string { return s.token }

// UserID returns the user the session belongs to ("" for an anonymous session).
func (s *Session) UserID() string { return s.rec.UserID }

// Version counts the writes to the session; it only grows.
func (s *Session) Version() int64 { return s.rec.Version }

// CreatedAt is when the session was created or last renewed (database clock).
func (s *Session) CreatedAt() time.Time { return s.rec.CreatedAt }

// UpdatedAt is the time of the last attribute write (database clock).
func (s *Session) UpdatedAt() time.Time { return s.rec.UpdatedAt }

// LastSeenAt is the last recorded use, accurate to Config.TouchGranularity
// plus Config.TouchInterval.
func (s *Session) LastSeenAt() time.Time { return s.rec.LastSeenAt }

// ExpiresAt is the absolute end of the session, whatever its activity.
func (s *Session) ExpiresAt() time.Time { return s.rec.ExpiresAt }

// IdleTimeout is how long the session may go unused (0: no idle expiry).
func (s *Session) IdleTimeout() time.Duration { return s.rec.IdleTimeout }

// UserAgent is the client description given at creation, for session lists.
func (s *Session) UserAgent() string { return s.rec.UserAgent }

// IP is the client address given at creation, for session lists.
func (s *Session) IP() string { return s.rec.IP }

// dbNow estimates the database clock now: the database time of the read
// plus local monotonic time elapsed since. No two clocks are compared.
func (s *Session) dbNow() time.Time { return s.rec.Now.Add(time.Duration(mono() - s.readAt)) }

// attr returns a live attribute (one whose expiry, if any, has not passed).
func (s *Session) attr(key string) (*store.Attr, bool) {
	a, ok := s.rec.AttrMap()[key]
	if !ok || (!a.ExpiresAt.IsZero() && !s.dbNow().Before(a.ExpiresAt)) {
		return nil, false
	}
	return a, true
}

// Has reports whether the session holds a live attribute named key.
func (s *Session) Has(key string) bool {
	_, ok := s.attr(key)
	return ok
}

// Keys returns the names of the live attributes, sorted.
func (s *Session) Keys() []string {
	attrs := s.rec.AttrMap()
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		if s.Has(k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// Attrs returns every live attribute's JSON encoding in a new map. The map
// and the encodings are copies the caller owns and may change; the
// snapshot, which other goroutines may be reading, stays as it was.
// Expiry is judged once, so the map is one consistent view.
func (s *Session) Attrs() map[string]json.RawMessage {
	attrs := s.rec.AttrMap()
	now := s.dbNow()
	out := make(map[string]json.RawMessage, len(attrs))
	for k, a := range attrs {
		if a.ExpiresAt.IsZero() || now.Before(a.ExpiresAt) {
			out[k] = bytes.Clone(a.Raw)
		}
	}
	return out
}

// Raw returns an attribute's JSON encoding. The caller must not modify it.
func (s *Session) Raw(key string) (json.RawMessage, bool) {
	a, ok := s.attr(key)
	if !ok {
		return nil, false
	}
	return a.Raw, true
}

// AttrExpiresAt returns when an attribute stops being visible (zero: never).
func (s *Session) AttrExpiresAt(key string) (time.Time, bool) {
	a, ok := s.attr(key)
	if !ok {
		return time.Time{}, false
	}
	return a.ExpiresAt, true
}

// Decode unmarshals an attribute into v, afresh on every call, so v is the
// caller's to modify. See Attr for a decode that is done once per snapshot.
func (s *Session) Decode(key string, v any) error {
	a, ok := s.attr(key)
	if !ok {
		return attrNotFound(key)
	}
	return json.Unmarshal(a.Raw, v)
}
