package httpsession

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/token"
)

// state is one request's view of its session. The request as the handler
// sees it, its context and the response writer live inside it, so the
// middleware costs a request one allocation for all of them.
type state struct {
	mw  *Middleware
	req http.Request // the request passed on, whose context is ctx
	ctx stateCtx
	rw  responseWriter

	// written is set once the response's headers are on their way; it is
	// read without the lock on every Write.
	written atomic.Bool

	mu sync.Mutex
	// The fields below are guarded by mu.
	sess    *pgsession.Session     // nil: no session
	secret  [token.SecretSize]byte // sess's secret, to sign into a new token
	persist bool                   // the client asked to be remembered
	via     transport              // how the request's token came
	loadErr error                  // the database could not say whether a session exists
	lost    bool                   // the session vanished under this request: never replace it
	patch   pgsession.Patch        // changes to save
	changed bool                   // patch holds something, perhaps only an error
	late    bool                   // patch was changed after the headers went out
	issue   bool                   // send the client a new token
	expire  bool                   // tell the client its token is dead
	done    bool                   // the handler has returned
	errs    []error                // to report once mu is released
	vary    [2]string              // backs the Vary header when it is ours alone
}

// noSecret is the secret of a state without a session (crypto/rand does
// not give 32 zero bytes).
var noSecret [token.SecretSize]byte

// newState returns the state of a request, r, that mw handles and w
// answers. Pass the handler st.req and st.rw.
func newState(mw *Middleware, w http.ResponseWriter, r *http.Request) *state {
	st := &state{mw: mw}
	st.ctx = stateCtx{Context: r.Context(), st: st}
	// WithContext's copy is inlined and does not escape, so it stays on the
	// stack and the state holds the only heap copy.
	st.req = *r.WithContext(&st.ctx)
	st.rw = responseWriter{ResponseWriter: w, st: st}
	return st
}

// stateCtx is the request's context with the state added, what
// context.WithValue(parent, ctxKey{mw}, st) would make, without an
// allocation of its own.
type stateCtx struct {
	context.Context // the request's own
	st              *state
}

// Value returns the state for this Middleware's key, and asks the parent
// for every other.
func (c *stateCtx) Value(key any) any {
	if k, ok := key.(ctxKey); ok && k.mw == c.st.mw {
		return c.st
	}
	return c.Context.Value(key)
}

// String describes the context the way context.WithValue's does, without
// the state, which holds the session secret.
func (c *stateCtx) String() string {
	parent := fmt.Sprintf("%T", c.Context)
	if s, ok := c.Context.(fmt.Stringer); ok {
		parent = s.String()
	}
	return parent + ".WithValue(httpsession.ctxKey, *httpsession.state)"
}

// lock and unlock bracket every access to the guarded fields. unlock
// reports the errors gathered meanwhile, outside the lock, so a hook may
// call back into the Middleware.
func (st *state) lock() { st.mu.Lock() }

func (st *state) unlock() {
	errs := st.errs
	st.errs = nil
	st.mu.Unlock()
	for _, err := range errs {
		st.mw.report(&st.req, err)
	}
}

func (st *state) fail(err error) { st.errs = append(st.errs, err) }

// writeCtx is the context for a database write: it survives a client that
// hangs up (a log out must not be lost) but is bounded.
func (st *state) writeCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(st.req.Context()), st.mw.cfg.WriteTimeout)
}

// beforeWrite runs before the response's first byte: it saves the patch
// and puts the token and cache headers in place.
func (st *state) beforeWrite() {
	if st.written.Load() {
		return
	}
	st.lock()
	if !st.written.Load() {
		st.commitLocked()
	}
	st.unlock()
}

// commitLocked saves pending changes and writes the session's headers. The
// headers must not have been sent.
func (st *state) commitLocked() {
	if err := st.saveLocked(); err != nil {
		st.fail(err)
	}
	st.headersLocked()
	st.written.Store(true)
}

// finish runs when the handler returns.
func (st *state) finish() {
	st.lock()
	defer st.unlock()
	if !st.written.Load() {
		// Nothing written: the server sends the headers after we return.
		st.commitLocked()
	} else if st.changed {
		// Changed after the headers went out: save, and say so.
		if err := st.saveLocked(); err != nil {
			st.fail(err)
		}
	}
	st.done = true
}

// saveLocked writes the patch with one Update (creating an anonymous session
// first if the request had none). A session deleted meanwhile is never
// replaced: the error says so and the request has no session from then on.
func (st *state) saveLocked() error {
	if !st.changed {
		return nil
	}
	p := st.patch
	st.patch, st.changed = pgsession.Patch{}, false
	late := st.late
	st.late = false

	if st.sess == nil {
		switch {
		case st.lost:
			return fmt.Errorf("httpsession: save: not saved: %w", pgsession.ErrNotFound)
		case st.loadErr != nil:
			return fmt.Errorf("httpsession: save: not saved, the session could not be loaded: %w", st.loadErr)
		case late:
			return fmt.Errorf("%w: not saved: a new session's token could not be sent", ErrResponseWritten)
		}
		if err := st.createLocked(); err != nil {
			return fmt.Errorf("httpsession: save: %w", err)
		}
	}
	var opts []pgsession.UpdateOption
	if st.mw.cfg.Strict {
		opts = append(opts, pgsession.IfVersion(st.sess.Version()))
	}
	ctx, cancel := st.writeCtx()
	defer cancel()
	s, err := st.mw.cfg.Manager.Update(ctx, st.sess.ID(), &p, opts...)
	switch {
	case err == nil:
		st.sess = s
		st.issue = true // the client's token should carry the new version
		if late {
			return fmt.Errorf("%w: saved, but the client keeps its old token version", ErrResponseWritten)
		}
		return nil
	case errors.Is(err, pgsession.ErrNotFound):
		// Deleted while this request ran (a log out, an expiry): it stays
		// deleted, and nothing takes its place.
		st.sess, st.secret, st.issue, st.lost = nil, noSecret, false, true
	}
	return fmt.Errorf("httpsession: save: %w", err)
}

// createLocked starts an anonymous session with a token of our making.
func (st *state) createLocked() error {
	ua, ip := st.mw.cfg.ClientInfo(&st.req)
	ctx, cancel := st.writeCtx()
	defer cancel()
	s, err := st.mw.cfg.Manager.Create(ctx, "", nil, pgsession.WithClient(ua, ip))
	if err != nil {
		return err
	}
	st.started(s, s.Token(), st.mw.cfg.Cookie.Persist)
	return nil
}

// started makes s, fresh from Create or Renew, the request's session; tok
// is its secret token, from the Session that call returned.
func (st *state) started(s *pgsession.Session, tok string, persist bool) {
	st.sess, st.persist = s, persist
	st.issue, st.expire, st.lost, st.loadErr = true, false, false, nil
	if !decodeSecret(&st.secret, tok) {
		// Never from a Manager. If it were, the client gets no token
		// rather than one for another secret: headersLocked issues none
		// for noSecret.
		st.secret = noSecret
		st.fail(errors.New("httpsession: sign token: the session's token is not a session secret"))
	}
}

// decodeSecret reads tok, a secret token as Session.Token returns it (43
// characters of unpadded base64url), into secret.
func decodeSecret(secret *[token.SecretSize]byte, tok string) bool {
	var in [64]byte // on the stack: no allocation for the conversion
	if len(tok) != base64.RawURLEncoding.EncodedLen(token.SecretSize) {
		return false
	}
	n, err := base64.RawURLEncoding.Strict().Decode(secret[:], in[:copy(in[:], tok)])
	return err == nil && n == token.SecretSize
}

// ended records that the request's session is gone by its own doing.
func (st *state) ended() {
	st.sess, st.secret, st.persist = nil, noSecret, false
	st.patch, st.changed, st.late = pgsession.Patch{}, false, false
	st.issue, st.expire = false, true
}

// headersLocked sets Vary and, when the client needs one, a new token (or
// the news that its token is dead).
func (st *state) headersLocked() {
	mw := st.mw
	h := st.rw.Header()
	st.addVary(h)
	switch {
	case st.issue && st.sess != nil && st.secret != noSecret:
		persist := st.persist || mw.cfg.Cookie.Persist
		tok, err := mw.cfg.Keys.EncodeRaw(token.RawClaims{Secret: st.secret, Version: st.sess.Version(), Persistent: persist})
		if err != nil {
			st.fail(fmt.Errorf("httpsession: sign token: %w", err))
			break
		}
		var expires time.Time
		if persist {
			expires = st.sess.ExpiresAt()
		}
		keepPrivate(h)
		mw.sendToken(h, st.via, tok, expires)
	case st.expire:
		keepPrivate(h)
		mw.clearToken(h, st.via)
	}
	st.issue, st.expire = false, false
}

// addVary adds the middleware's Vary values, in the state's own slice when
// the handler has set no Vary: the common case costs no allocation.
func (st *state) addVary(h http.Header) {
	if _, set := h["Vary"]; !set && len(st.mw.vary) > 0 {
		n := copy(st.vary[:], st.mw.vary)
		if n == len(st.mw.vary) {
			h["Vary"] = st.vary[:n:n] // an append by the handler copies it
			return
		}
	}
	addVary(h, st.mw.vary)
}
