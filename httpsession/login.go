package httpsession

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/pgsession/pgsession"
)

// LoginOption adjusts LogIn.
type LoginOption func(*loginOptions)

type loginOptions struct {
	remember bool
	keep     []string
	method   string
	session  []pgsession.SessionOption
}

// RememberMe(true) gives the session Config.RememberLifetime and
// Config.RememberIdleTimeout, and the client a persistent cookie (Max-Age
// and Expires) that outlives the browser session. RememberMe(false), the
// default, gives the Manager's lifetime and idle timeout and a cookie that
// ends with the browser session (unless Config.Cookie.Persist).
func RememberMe(remember bool) LoginOption {
	return func(o *loginOptions) { o.remember = remember }
}

// KeepKeys names the attributes of an anonymous session that LogIn carries
// into the user's session: a cart, a chosen language. Everything else the
// anonymous session held is dropped, since whoever used the browser before
// (or planted the session in it) chose those values. It has no effect on a
// session of the same user, which keeps all its data, nor on another
// user's, of which nothing is ever kept. Calls add up.
func KeepKeys(keys ...string) LoginOption {
	return func(o *loginOptions) { o.keep = append(o.keep, keys...) }
}

// AuthMethod records how the user proved who they are ("password",
// "webauthn", "totp", ...), for AuthenticatedAt to report. Without it the
// session records none.
func AuthMethod(method string) LoginOption {
	return func(o *loginOptions) { o.method = method }
}

// WithSessionOptions passes options to the Renew or Create that LogIn
// makes, after the middleware's own (so they win): for example
// pgsession.WithLifetime or pgsession.WithIdleTimeout.
func WithSessionOptions(opts ...pgsession.SessionOption) LoginOption {
	return func(o *loginOptions) { o.session = append(o.session, opts...) }
}

// LogIn binds the request to userID under a new token: call it once the
// user is authenticated, before the response is written. The token the
// client held before stops working, so a token planted before log in is
// worthless (session fixation). What the user's session holds depends on
// the session the request brought:
//
//   - none, or one that is gone: a new session, empty;
//   - an anonymous one: that session, renewed as the user's, keeping only
//     the attributes named with KeepKeys (none by default);
//   - one of the same user (logging in again, to re-authenticate): that
//     session, renewed, keeping all its data;
//   - one of another user: that session is ended, as by LogOut, and a new,
//     empty one started. One user never inherits another's data.
//
// Changes this request made with Set and Delete before LogIn are saved to
// the new session. LogIn records when the user authenticated, and how
// (AuthMethod), in the reserved attributes AuthTimeKey and AuthMethodKey,
// for AuthenticatedAt and RequireRecentAuth. userID must not be empty
// (pgsession.ErrInvalidUserID).
func (mw *Middleware) LogIn(r *http.Request, userID string, opts ...LoginOption) (*pgsession.Session, error) {
	st := mw.state(r)
	if st == nil {
		return nil, ErrNoMiddleware
	}
	if userID == "" {
		return nil, fmt.Errorf("httpsession: log in: %w: empty", pgsession.ErrInvalidUserID)
	}
	var o loginOptions
	for _, f := range opts {
		f(&o)
	}
	sopts := mw.loginSessionOptions(r, o)

	st.lock()
	defer st.unlock()
	if st.written.Load() {
		return nil, fmt.Errorf("%w: cannot log in", ErrResponseWritten)
	}
	s, secret, err := st.logInLocked(userID, o, sopts, time.Now())
	if err != nil {
		return nil, fmt.Errorf("httpsession: log in: %w", err)
	}
	st.started(s, secret, o.remember)
	return s, nil
}

// loginSessionOptions returns the options for the session LogIn renews or
// creates.
func (mw *Middleware) loginSessionOptions(r *http.Request, o loginOptions) []pgsession.SessionOption {
	ua, ip := mw.cfg.ClientInfo(r)
	opts := []pgsession.SessionOption{pgsession.WithClient(ua, ip)}
	if o.remember {
		opts = append(opts,
			pgsession.WithLifetime(mw.cfg.RememberLifetime),
			pgsession.WithIdleTimeout(mw.cfg.RememberIdleTimeout))
	} else {
		// Renew keeps the session's own idle timeout: a session remembered
		// before goes back to the Manager's.
		opts = append(opts, pgsession.WithIdleTimeout(mw.cfg.Manager.Config().IdleTimeout))
	}
	return append(opts, o.session...)
}

// logInLocked makes the user's session, as LogIn describes, and returns it
// with its secret token.
func (st *state) logInLocked(userID string, o loginOptions, sopts []pgsession.SessionOption, now time.Time) (*pgsession.Session, string, error) {
	m := st.mw.cfg.Manager
	ctx, cancel := st.writeCtx()
	defer cancel()
	if cur := st.sess; cur != nil {
		switch cur.UserID() {
		case "", userID:
			s, err := m.Renew(ctx, cur.ID(), append(sopts, pgsession.AsUser(userID))...)
			if err == nil {
				done, err := st.finishRenewedLocked(s, cur.UserID() == "", o, now)
				return done, s.Token(), err
			}
			if !errors.Is(err, pgsession.ErrNotFound) {
				return nil, "", err
			}
			// Gone meanwhile: start afresh below. The user has just proved
			// who they are, so a new session is what this request asks for.
		default:
			// Another user's session: it ends here. If it cannot, nothing
			// has changed and the client keeps its token.
			if err := m.Delete(ctx, cur.ID()); err != nil {
				return nil, "", err
			}
			st.sess, st.secret, st.persist = nil, noSecret, false
			st.expire = true // until the new session's token replaces it
		}
	}
	attrs := map[string]any{AuthTimeKey: now.UnixMilli()}
	if o.method != "" {
		attrs[AuthMethodKey] = o.method
	}
	s, err := m.Create(ctx, userID, attrs, sopts...)
	if err != nil {
		if st.expire {
			st.ended() // the other user's session is gone: so is this request's
		}
		return nil, "", err
	}
	return s, s.Token(), nil
}

// finishRenewedLocked records the authentication in s, just renewed for
// the user, and returns the result (whose Token is empty: Update's) and drops what an anonymous session must not carry over (keys
// from Renew's own snapshot, so a key another request added just before
// is dropped too). The new token is ours alone until the response, so no
// request sees the session in between. If the write fails, the session is
// ended: the old token is dead already, and the new session may hold what
// the user must not get.
func (st *state) finishRenewedLocked(s *pgsession.Session, anonymous bool, o loginOptions, now time.Time) (*pgsession.Session, error) {
	m := st.mw.cfg.Manager
	var p pgsession.Patch
	if anonymous {
		for _, k := range s.Keys() {
			if !slices.Contains(o.keep, k) {
				p.Delete(k)
			}
		}
	}
	p.Set(AuthTimeKey, now.UnixMilli())
	if o.method != "" {
		p.Set(AuthMethodKey, o.method)
	} else {
		p.Delete(AuthMethodKey)
	}
	ctx, cancel := st.writeCtx()
	defer cancel()
	done, err := m.Update(ctx, s.ID(), &p)
	if err != nil {
		ctx, cancel := st.writeCtx() // the first may be what ran out
		defer cancel()
		if derr := m.Delete(ctx, s.ID()); derr != nil {
			st.fail(fmt.Errorf("httpsession: log in: end the unfinished session: %w", derr))
		}
		st.ended()
		return nil, err
	}
	return done, nil
}
