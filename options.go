package pgsession

import "time"

// GetOption adjusts a Get.
type GetOption func(*getOptions)

type getOptions struct {
	noTouch      bool
	forceRefresh bool
	minVersion   int64
}

// NoTouch reads without recording the access, so the idle deadline does not
// move (for background or admin reads).
func NoTouch() GetOption { return func(o *getOptions) { o.noTouch = true } }

// ForceRefresh reads from the database even when a cached copy exists.
func ForceRefresh() GetOption { return func(o *getOptions) { o.forceRefresh = true } }

// MinVersion asks for a copy at least as new as version v: the version the
// client saw last. A cached copy older than v is never returned.
func MinVersion(v int64) GetOption { return func(o *getOptions) { o.minVersion = v } }

// UpdateOption adjusts an Update.
type UpdateOption func(*updateOptions)

type updateOptions struct {
	ifVersion int64
}

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
