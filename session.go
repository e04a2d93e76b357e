package pgsession

import (
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
}

func newSession(rec *store.Record, token string) *Session {
	now := mono()
	until := now + int64(rec.ExpiresAt.Sub(rec.Now))
	if rec.IdleTimeout > 0 {
		until = min(until, now+int64(rec.LastSeenAt.Add(rec.IdleTimeout).Sub(rec.Now)))
	}
	return &Session{rec: rec, token: token, readAt: now, liveUntil: until}
}

// withToken returns a copy carrying the secret for the caller of Create or
// Renew; the cached snapshot never holds it.
func (s *Session) withToken(token string) *Session {
	return &Session{rec: s.rec, token: token, readAt: s.readAt, liveUntil: s.liveUntil}
}

// sizeOf estimates a snapshot's memory for the cache's byte bound.
func sizeOf(s *Session) int {
	// Decoded attributes take about twice their encoded size.
	return 400 + len(s.rec.UserID) + len(s.rec.UserAgent) + len(s.rec.IP) + 2*s.rec.AttrBytes()
}

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
