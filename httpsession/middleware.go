package httpsession

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/token"
)

// Middleware loads and saves sessions for the requests passing through its
// Handler. Create one with New and share it; it is safe for concurrent use.
type Middleware struct {
	cfg         Config
	cookieName  string // as sent, prefix included; "" without the cookie transport
	vary        []string
	crossOrigin *http.CrossOriginProtection // nil: the check is off

	// decode verifies a token: cfg.Keys.DecodeRaw, which a test may wrap
	// to count the verifications a request costs.
	decode func(string) (token.RawClaims, error)
}

// New checks cfg, fills its defaults and returns a Middleware.
func New(cfg Config) (*Middleware, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	mw := &Middleware{cfg: cfg, decode: cfg.Keys.DecodeRaw}
	if !cfg.CrossOrigin.Disabled {
		mw.crossOrigin, _ = cfg.CrossOrigin.protection() // checked by withDefaults
	}
	if !cfg.Cookie.Disabled {
		mw.cookieName = cfg.Cookie.fullName()
		mw.vary = append(mw.vary, "Cookie")
	}
	if cfg.Header != "" {
		mw.vary = append(mw.vary, cfg.Header)
	}
	return mw, nil
}

// Config returns the configuration in effect, defaults filled in.
func (mw *Middleware) Config() Config { return mw.cfg }

// ctxKey is this Middleware's own context key: two Middlewares on one
// request keep separate state.
type ctxKey struct{ mw *Middleware }

// Handler returns next wrapped: a cross-origin unsafe request is refused
// (see CrossOriginConfig), otherwise the session is loaded before next runs
// and saved before the response's first byte. It has the shape of any
// router's middleware, func(http.Handler) http.Handler.
func (mw *Middleware) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := ctxKey{mw}
		if r.Context().Value(key) != nil { // wrapped twice by this Middleware
			next.ServeHTTP(w, r)
			return
		}
		c, via, ok := mw.readToken(r)
		if mw.crossOriginRefused(r, ok && via == viaHeader) {
			mw.cfg.CrossOrigin.Deny.ServeHTTP(w, r)
			return
		}
		st := newState(mw, w, r)
		r = &st.req
		st.load(r, c, via, ok)
		next.ServeHTTP(&st.rw, r)
		// Not deferred: a handler that panics has its changes dropped.
		st.finish()
	})
}

// state returns the request's state, or nil if the request did not pass
// through mw.Handler.
func (mw *Middleware) state(r *http.Request) *state {
	st, _ := r.Context().Value(ctxKey{mw}).(*state)
	return st
}

// load finds the session the request's token (c, if ok) names. A missing
// or bad token, or a session that is gone, leaves the request without one;
// a good token whose session is gone is cleared from the client, which
// would otherwise send it on every request.
func (st *state) load(r *http.Request, c token.RawClaims, via transport, ok bool) {
	mw := st.mw
	st.via = via
	if !ok {
		return
	}
	s, err := mw.get(r.Context(), &c)
	switch {
	case err == nil:
		st.sess, st.secret, st.persist = s, c.Secret, c.Persistent
		// Signed with a key that no longer signs: move the client to the
		// current one while the old still verifies.
		st.issue = c.KeyID != mw.cfg.Keys.SigningKeyID()
	case errors.Is(err, pgsession.ErrNotFound):
		// Expired, revoked or renewed: no session, and the client should
		// stop sending the token.
		st.expire = true
	default:
		// The database could not say. The session may well exist, so
		// nothing may replace it in this request (see Ensure).
		st.loadErr = fmt.Errorf("httpsession: load session: %w", err)
		if r.Context().Err() == nil { // a client that left is not news
			mw.cfg.OnError(r, st.loadErr)
		}
	}
}

// get returns the session c names, at least as new as the version c
// carries. It asks by ID, the SHA-256 of the secret (see pgsession.ID),
// which DecodeRaw computed alongside the MAC: Manager.Get would decode the
// secret's text and hash it again, and the text would cost an allocation.
func (mw *Middleware) get(ctx context.Context, c *token.RawClaims) (*pgsession.Session, error) {
	return mw.cfg.Manager.GetByID(ctx, pgsession.ID(c.SecretSHA256), pgsession.MinVersion(c.Version))
}

// report hands err to the error hook.
func (mw *Middleware) report(r *http.Request, err error) { mw.cfg.OnError(r, err) }
