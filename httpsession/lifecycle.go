package httpsession

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/pgsession/pgsession"
)

// RenewToken moves the request's session to a new token, keeping its user
// and data: call it when the session's privileges change other than by
// LogIn. Like LogIn it restarts the session's lifetime (RememberLifetime for
// a remembered session). It returns pgsession.ErrNotFound if there is no
// session.
func (mw *Middleware) RenewToken(r *http.Request) (*pgsession.Session, error) {
	st := mw.state(r)
	if st == nil {
		return nil, ErrNoMiddleware
	}
	st.lock()
	defer st.unlock()
	switch {
	case st.written.Load():
		return nil, fmt.Errorf("%w: cannot renew the token", ErrResponseWritten)
	case st.sess == nil:
		return nil, fmt.Errorf("httpsession: renew token: %w", pgsession.ErrNotFound)
	}
	ua, ip := mw.cfg.ClientInfo(r)
	opts := []pgsession.SessionOption{pgsession.WithClient(ua, ip)}
	if st.persist {
		// Renew restarts the lifetime; a remembered session keeps the
		// longer one.
		opts = append(opts, pgsession.WithLifetime(mw.cfg.RememberLifetime))
	}
	ctx, cancel := st.writeCtx()
	defer cancel()
	s, err := mw.cfg.Manager.Renew(ctx, st.sess.ID(), opts...)
	if err != nil {
		if errors.Is(err, pgsession.ErrNotFound) {
			st.sess, st.secret, st.issue, st.lost = nil, noSecret, false, true
		}
		return nil, fmt.Errorf("httpsession: renew token: %w", err)
	}
	st.started(s, s.Token(), st.persist)
	return s, nil
}

// LogOut ends the request's session and tells the client to drop its
// token (an expired cookie, or an empty response header). Changes not yet
// saved are dropped. Without a session it only clears the client's token.
// After the response is written the session still ends, and OnError hears
// that the client's token could not be cleared.
func (mw *Middleware) LogOut(r *http.Request) error {
	_, err := mw.logOut(r, "log out", false)
	return err
}

// LogOutEverywhere ends every session of the request's user, this one
// included ("log out everywhere"), and clears the client's token like
// LogOut. For an anonymous session it ends just that one. It returns how
// many sessions it ended.
func (mw *Middleware) LogOutEverywhere(r *http.Request) (int, error) {
	return mw.logOut(r, "log out everywhere", true)
}

func (mw *Middleware) logOut(r *http.Request, name string, everywhere bool) (int, error) {
	st := mw.state(r)
	if st == nil {
		return 0, ErrNoMiddleware
	}
	st.lock()
	defer st.unlock()
	n := 0
	if st.sess != nil {
		ctx, cancel := st.writeCtx()
		defer cancel()
		var err error
		if user := st.sess.UserID(); everywhere && user != "" {
			n, err = mw.cfg.Manager.DeleteUser(ctx, user)
		} else if err = mw.cfg.Manager.Delete(ctx, st.sess.ID()); err == nil {
			n = 1
		}
		if err != nil {
			// The session may still be live: keep the client's token.
			return n, fmt.Errorf("httpsession: %s: %w", name, err)
		}
	}
	st.ended()
	if st.written.Load() {
		st.fail(fmt.Errorf("%w: %s: the session ended, but the client's token could not be cleared", ErrResponseWritten, name))
	}
	return n, nil
}

// LogOutOtherDevices ends every other session of the request's user,
// keeping this one ("log out my other devices"). It returns how many it
// ended: 0 without a session or for an anonymous one.
func (mw *Middleware) LogOutOtherDevices(r *http.Request) (int, error) {
	st := mw.state(r)
	if st == nil {
		return 0, ErrNoMiddleware
	}
	st.lock()
	defer st.unlock()
	if st.sess == nil || st.sess.UserID() == "" {
		return 0, nil
	}
	ctx, cancel := st.writeCtx()
	defer cancel()
	n, err := mw.cfg.Manager.DeleteUser(ctx, st.sess.UserID(), st.sess.ID())
	if err != nil {
		return n, fmt.Errorf("httpsession: log out other devices: %w", err)
	}
	return n, nil
}
