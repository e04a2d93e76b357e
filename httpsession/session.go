package httpsession

import (
	"fmt"
	"net/http"
	"time"

	"github.com/pgsession/pgsession"
)

// Session returns the request's session, or nil if it has none. The
// snapshot is immutable: changes made with Set and Delete show in the
// snapshot Save returns, and in later requests.
func (mw *Middleware) Session(r *http.Request) *pgsession.Session {
	st := mw.state(r)
	if st == nil {
		return nil
	}
	st.lock()
	defer st.unlock()
	return st.sess
}

// Set stores value (encoded as JSON) under key. The change is saved before
// the response is written; a request without a session gets a new
// anonymous one then. Errors (a value that does not encode, a limit
// exceeded, a session deleted meanwhile) go to Config.OnError.
func (mw *Middleware) Set(r *http.Request, key string, value any) {
	mw.SetTTL(r, key, value, 0)
}

// SetTTL is Set for a value that disappears after ttl (see
// pgsession.Patch.SetTTL).
func (mw *Middleware) SetTTL(r *http.Request, key string, value any, ttl time.Duration) {
	if st := mw.change(r); st != nil {
		st.patch.SetTTL(key, value, ttl)
		st.unlock()
	}
}

// Delete removes key from the session, saved like Set.
func (mw *Middleware) Delete(r *http.Request, key string) {
	if st := mw.change(r); st != nil {
		st.patch.Delete(key)
		st.unlock()
	}
}

// change returns the request's state locked and marked changed, or nil
// (with the reason reported) if there is nothing to change.
func (mw *Middleware) change(r *http.Request) *state {
	st := mw.state(r)
	if st == nil {
		mw.report(r, ErrNoMiddleware)
		return nil
	}
	st.lock()
	if st.done {
		st.fail(fmt.Errorf("%w: after the handler returned: not saved", ErrResponseWritten))
		st.unlock()
		return nil
	}
	if st.written.Load() {
		st.late = true
	}
	st.changed = true
	return st
}

// Save writes the changes made so far now, rather than just before the
// response, and returns the session as saved; the error is returned, not
// reported. Use it to act on a failure, for example a version conflict
// under Config.Strict.
func (mw *Middleware) Save(r *http.Request) (*pgsession.Session, error) {
	st := mw.state(r)
	if st == nil {
		return nil, ErrNoMiddleware
	}
	st.lock()
	defer st.unlock()
	err := st.saveLocked()
	return st.sess, err
}

// Ensure returns the request's session, starting an anonymous one if it has
// none: call it when the application wants a session (a cart, a form
// token). It fails, rather than start a session that could replace an
// existing one, if the session could not be loaded; and once the response
// is written (ErrResponseWritten), since the new token could not be sent.
func (mw *Middleware) Ensure(r *http.Request) (*pgsession.Session, error) {
	st := mw.state(r)
	if st == nil {
		return nil, ErrNoMiddleware
	}
	st.lock()
	defer st.unlock()
	switch {
	case st.sess != nil:
		return st.sess, nil
	case st.loadErr != nil:
		return nil, st.loadErr
	case st.written.Load():
		return nil, ErrResponseWritten
	}
	if err := st.createLocked(); err != nil {
		return nil, err
	}
	return st.sess, nil
}

// Adopt makes s, a newer copy of the request's session that the handler
// wrote through the Manager itself (say, a version-checked Update retried
// in a loop), the request's session: the client's token is refreshed with
// its version, so its next request, on any node, sees at least that copy.
// s must be the request's session; an older copy changes nothing. Once the
// response is written the new version cannot reach the client
// (ErrResponseWritten).
func (mw *Middleware) Adopt(r *http.Request, s *pgsession.Session) error {
	st := mw.state(r)
	if st == nil {
		return ErrNoMiddleware
	}
	st.lock()
	defer st.unlock()
	switch {
	case s == nil || st.sess == nil || s.ID() != st.sess.ID():
		return fmt.Errorf("httpsession: adopt: not this request's session: %w", pgsession.ErrNotFound)
	case s.Version() <= st.sess.Version():
		return nil
	case st.written.Load():
		return fmt.Errorf("%w: adopt: the client keeps its old token version", ErrResponseWritten)
	}
	st.sess = s
	st.issue = true
	return nil
}
