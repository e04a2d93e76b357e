package pgsession

import "time"

// GetOption adjusts a Get. It is a small value, not a closure, so passing
// options to a cache hit allocates nothing.
type GetOption struct {
	noTouch      bool
	forceRefresh bool
	minVersion   int64
}

func mergeGetOptions(opts []GetOption) GetOption {
	var o GetOption
	for _, x := range opts {
		o.noTouch = o.noTouch || x.noTouch
		o.forceRefresh = o.forceRefresh || x.forceRefresh
		o.minVersion = max(o.minVersion, x.minVersion)
	}
	return o
}

// NoTouch reads without recording the access, so the idle deadline does not
// move (for background or admin reads).
func NoTouch() GetOption { return GetOption{noTouch: true} }

// ForceRefresh reads from the database even when a cached copy exists, with
// a query of its own (not shared with concurrent Gets, which may have been
// sent before this call began), and caches what it reads.
func ForceRefresh() GetOption { return GetOption{forceRefresh: true} }

// MinVersion asks for a copy at least as new as version v: the version the
// client saw last. A cached copy older than v is never returned; the
// session is read from the database instead (DESIGN C3).
func MinVersion(v int64) GetOption { return GetOption{minVersion: v} }

// UpdateOption adjusts an Update.
type UpdateOption func(*updateOptions)

type updateOptions struct {
	lifetime  time.Duration
	ifVersion int64
	keysSince int64
	noNotify  bool
}

// IfKeysUnchanged makes the update conditional on its own keys only: it
// applies if none of the keys it sets or deletes was written after version
// v (the version the caller read), else fails with ErrVersionConflict.
// Changes to other keys do not block it, unlike IfVersion.
func IfKeysUnchanged(v int64) UpdateOption { return func(o *updateOptions) { o.keysSince = v } }

// SetLifetime moves the session's absolute deadline to now + d (database
// clock) with the update: "remember me" chosen after the session began, or
// a store adapter whose framework sets deadlines.
func SetLifetime(d time.Duration) UpdateOption { return func(o *updateOptions) { o.lifetime = d } }

// NoNotify skips announcing this update to other nodes: their cached copies
// stay as they are until they read the change log (about
// Config.ChangePollInterval; Config.CacheMaxAge with it off) or a client
// asks for this version (MinVersion). For writes only this node's readers
// need.
func NoNotify() UpdateOption { return func(o *updateOptions) { o.noNotify = true } }

// IfVersion makes the update conditional: it applies only if the session is
// still at version v, else fails with ErrVersionConflict. Without it, an
// update patches the current row, whatever its version.
func IfVersion(v int64) UpdateOption { return func(o *updateOptions) { o.ifVersion = v } }

// SessionOption adjusts a Create or a Renew.
type SessionOption func(*sessionOptions)

type sessionOptions struct {
	lifetime  time.Duration
	idle      time.Duration
	idleSet   bool
	userAgent string
	ip        string
	setUser   bool
	userID    string
	attrTTL   map[string]time.Duration // Create only; nil when none is given
}

// WithLifetime overrides Config.Lifetime for this session ("remember me").
// Values <= 0 keep the default.
func WithLifetime(d time.Duration) SessionOption {
	return func(o *sessionOptions) { o.lifetime = d }
}

// WithIdleTimeout overrides Config.IdleTimeout for this session; -1
// disables idle expiry. Renew keeps the session's own unless given this.
func WithIdleTimeout(d time.Duration) SessionOption {
	return func(o *sessionOptions) { o.idle, o.idleSet = d, true }
}

// WithClient records the client's user agent and address, shown in session
// lists. Long values are clipped; they never fail a request.
func WithClient(userAgent, ip string) SessionOption {
	return func(o *sessionOptions) { o.userAgent, o.ip = userAgent, ip }
}

// AsUser binds the renewed session to a user: the log-in step, which should
// always change the token (so a token planted before log-in is worthless).
func AsUser(userID string) SessionOption {
	return func(o *sessionOptions) { o.setUser, o.userID = true, userID }
}

// WithAttrTTL makes the initial attribute key of a Create expire ttl after
// the session is created (judged by the database clock), as Patch.SetTTL
// does for an update: the expiry is written by the insert itself, so a
// session that starts with a one-time code or a flash message still costs
// one round trip. ttl <= 0 means no expiry. Create fails with
// ErrAttributeNotFound if key is not among its attributes; Renew, which
// keeps the attributes as they are, refuses the option.
func WithAttrTTL(key string, ttl time.Duration) SessionOption {
	return func(o *sessionOptions) {
		if o.attrTTL == nil {
			o.attrTTL = map[string]time.Duration{}
		}
		o.attrTTL[key] = ttl
	}
}
