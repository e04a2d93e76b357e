package gorillastore

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"reflect"
	"slices"
	"time"

	"github.com/gorilla/sessions"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/token"
)

var _ sessions.Store = (*Store)(nil)

// DefaultMaxAge is the MaxAge of Store.Options unless changed: 30 days, as
// in gorilla's own stores.
const DefaultMaxAge = 86400 * 30

// DefaultWriteTimeout bounds each database write of a Save unless
// WithWriteTimeout says otherwise.
const DefaultWriteTimeout = 5 * time.Second

// Store is a gorilla/sessions Store on a pgsession Manager. Create it with
// New; it is safe for concurrent use. It owns nothing: close the Manager as
// usual.
type Store struct {
	// Options are the cookie options each new session starts with (the
	// session gets a copy). New sets Path "/", MaxAge DefaultMaxAge,
	// HttpOnly, Secure and SameSite Lax. Change them before serving, as
	// with gorilla's own stores.
	Options *sessions.Options

	m              *pgsession.Manager
	keys           *token.Ring
	userKey        string
	types          map[string]reflect.Type
	browserCookies bool
	writeTimeout   time.Duration
	states         states
}

// Option adjusts a Store.
type Option func(*Store) error

// WithUserKey names the Values key that holds the user ID (a string, or an
// integer, stored as its decimal form). A session is bound to that user in
// pgsession when it is saved, so Manager.ListUser, DeleteUser ("log out
// everywhere") and Config.MaxSessionsPerUser work for it. A Save that sets
// the key in an anonymous session (a log in) moves the session to a new
// token, so a token planted before the log in is worthless; one that changes
// or removes it (another user, a log out) ends the old session and starts a
// new one with the session's Values. Each of these costs two round trips.
func WithUserKey(key string) Option {
	return func(s *Store) error {
		if key == "" {
			return errors.New("WithUserKey: empty key")
		}
		s.userKey = key
		return nil
	}
}

// WithType decodes the value stored under key as a T, which must be the type
// the application stores there (a struct, a pointer to one, a slice of
// strings, a time.Time...): without it the value comes back as JSON decodes
// into an interface{} (see the package documentation). Calls add up; a
// later call for the same key replaces an earlier one.
func WithType[T any](key string) Option {
	return func(s *Store) error {
		if key == "" {
			return errors.New("WithType: empty key")
		}
		s.types[key] = reflect.TypeFor[T]()
		return nil
	}
}

// WithBrowserSessionCookies leaves Max-Age and Expires out of every cookie,
// so browsers drop it when they close, while MaxAge still sets how long the
// session lives on the server. (In gorilla's Options, MaxAge 0 asks for such
// a cookie, but Save, as in gorilla's FilesystemStore, reads MaxAge <= 0 as
// "delete the session".)
func WithBrowserSessionCookies() Option {
	return func(s *Store) error {
		s.browserCookies = true
		return nil
	}
}

// WithWriteTimeout bounds each database write a Save makes. Writes do not
// end when the client goes away, so a log out is never lost to a closed
// connection. Defaults to DefaultWriteTimeout.
func WithWriteTimeout(d time.Duration) Option {
	return func(s *Store) error {
		if d <= 0 {
			return fmt.Errorf("WithWriteTimeout: %v is not positive", d)
		}
		s.writeTimeout = d
		return nil
	}
}

// New returns a Store that keeps sessions in m and signs the tokens its
// cookies carry with keys (see package token for keys and rotation; use the
// same ring on every node).
func New(m *pgsession.Manager, keys *token.Ring, opts ...Option) (*Store, error) {
	if m == nil || keys == nil {
		return nil, fmt.Errorf("gorillastore: %w: a Manager and a key ring are required", pgsession.ErrInvalidConfig)
	}
	s := &Store{
		Options: &sessions.Options{
			Path:     "/",
			MaxAge:   DefaultMaxAge,
			HttpOnly: true,
			Secure:   true,
			SameSite: http.SameSiteLaxMode,
		},
		m:            m,
		keys:         keys,
		types:        map[string]reflect.Type{},
		writeTimeout: DefaultWriteTimeout,
	}
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, fmt.Errorf("gorillastore: %w: %v", pgsession.ErrInvalidConfig, err)
		}
	}
	return s, nil
}

// MaxAge sets Options.MaxAge, the lifetime of new sessions in seconds, as
// gorilla's own stores do.
func (s *Store) MaxAge(age int) { s.Options.MaxAge = age }

// Get returns the request's session of that name, loading it once per
// request through gorilla's registry; see New for what it returns.
func (s *Store) Get(r *http.Request, name string) (*sessions.Session, error) {
	return sessions.GetRegistry(r).Get(s, name)
}

// New loads the session the request's cookie of that name names. With no
// cookie, or one that is malformed, tampered with, signed with a key the
// ring no longer holds, or whose session has ended or expired, it returns a
// new, empty session (IsNew) and no error. It returns an error only with a
// fault (the database is unreachable, the request was cancelled) and then a
// new session that Save refuses to write, so it never replaces the one the
// client holds; and when a stored value does not decode into the type
// WithType gave its key, the session with that key left out of Values
// (Save leaves the stored value as it is unless Values sets the key again).
func (s *Store) New(r *http.Request, name string) (*sessions.Session, error) {
	sess := sessions.NewSession(s, name)
	opts := *s.Options
	sess.Options = &opts
	sess.IsNew = true
	st := &state{}
	s.states.track(sess, st)

	claims, ok := s.token(r, name)
	if !ok {
		return sess, nil
	}
	ps, err := s.m.GetByID(r.Context(), pgsession.ID(claims.SecretSHA256),
		pgsession.MinVersion(claims.Version), pgsession.NoTouch())
	switch {
	case errors.Is(err, pgsession.ErrNotFound):
		return sess, nil
	case err != nil:
		st.loadErr = err
		return sess, fmt.Errorf("gorillastore: load session %q: %w", name, err)
	}
	st.snap, st.secret = ps, claims.Secret
	sess.ID = ps.ID().String()
	sess.IsNew = false
	var bad []error
	for _, k := range ps.Keys() {
		raw, _ := ps.Raw(k)
		v, err := s.decode(k, raw)
		if err != nil {
			if st.undecoded == nil {
				st.undecoded = map[string]bool{}
			}
			st.undecoded[k] = true
			bad = append(bad, fmt.Errorf("value %q as %v: %w", k, s.types[k], err))
			continue
		}
		sess.Values[k] = v
	}
	if bad != nil {
		return sess, fmt.Errorf("gorillastore: load session %q: %w", name, errors.Join(bad...))
	}
	return sess, nil
}

// maxCookies bounds how many cookies of one name New verifies.
const maxCookies = 4

// token returns the claims of the first cookie of that name that carries a
// token of ours. A browser sends every cookie whose name, domain and path
// match; one planted by a sibling subdomain may come first, and must not
// hide the real one.
func (s *Store) token(r *http.Request, name string) (token.RawClaims, bool) {
	for i, c := range r.CookiesNamed(name) {
		if i == maxCookies {
			break
		}
		if claims, err := s.keys.DecodeRaw(c.Value); err == nil {
			return claims, true
		}
	}
	return token.RawClaims{}, false
}

// Save writes the session and sets its cookie, with a token that carries
// the version written, so the client's next request reads at least that
// version on any node. Call it before the response is written.
//
// With Options.MaxAge <= 0 it ends the session and expires the cookie.
// Otherwise it creates the session (one round trip) or writes the keys of
// Values that changed since it was loaded, and deletes the ones removed,
// in one Update (one round trip) that also moves the session's end to
// MaxAge seconds from now; a change of the user (WithUserKey) costs one
// more. Nothing is written if Values holds a key that is not a string or a
// value that does not encode as JSON (pgsession.ErrInvalidKey,
// pgsession.ErrInvalidValue), or breaks one of the Manager's limits; the
// error names the key.
//
// If the session was ended meanwhile (a log out elsewhere, expiry), it
// stays ended: Save expires the cookie and returns an error matching
// pgsession.ErrNotFound.
func (s *Store) Save(r *http.Request, w http.ResponseWriter, sess *sessions.Session) error {
	fail := func(err error) error { return fmt.Errorf("gorillastore: save session %q: %w", sess.Name(), err) }
	st := s.states.lookup(sess)
	if st == nil {
		st = &state{} // not loaded by this Store: saved as a new session
		s.states.track(sess, st)
	}
	if st.loadErr != nil {
		return fail(fmt.Errorf("not written, since it could not be loaded: %w", st.loadErr))
	}
	opts := sess.Options
	if opts == nil {
		opts = s.Options
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), s.writeTimeout)
	defer cancel()

	if opts.MaxAge <= 0 {
		if st.snap != nil {
			if err := s.m.Delete(ctx, st.snap.ID()); err != nil {
				return fail(err)
			}
		}
		s.ended(w, sess, st, opts)
		return nil
	}

	values, err := encodeValues(sess.Values)
	if err != nil {
		return fail(err)
	}
	user, err := userIDOf(sess.Values, s.userKey)
	if err != nil {
		return fail(err)
	}
	lifetime := time.Duration(min(opts.MaxAge, math.MaxInt64/int(time.Second))) * time.Second
	born := []pgsession.SessionOption{pgsession.WithLifetime(lifetime), pgsession.WithIdleTimeout(-1)}

	var ps *pgsession.Session
	switch {
	case st.snap == nil:
		ps, err = s.create(ctx, r, st, user, values, born)
	case s.userKey != "" && user != st.snap.UserID() && st.snap.UserID() != "":
		// Another user, or none: end the old user's session, start anew.
		if err = s.m.Delete(ctx, st.snap.ID()); err == nil {
			st.snap = nil
			ps, err = s.create(ctx, r, st, user, values, born)
		}
	default:
		var p *pgsession.Patch
		if p, err = s.patch(st, values); err != nil {
			return fail(err)
		}
		if s.userKey != "" && user != st.snap.UserID() {
			// A log in: a new token, bound to the user, then the changes.
			var renewed *pgsession.Session
			renewed, err = s.m.Renew(ctx, st.snap.ID(), append(born, pgsession.AsUser(user), withClient(r))...)
			if err == nil {
				st.snap, st.secret, ps = renewed, secretOf(renewed), renewed
				if p.Len() > 0 {
					// On failure the client still gets the new token: the
					// old one no longer works.
					var updated *pgsession.Session
					if updated, err = s.m.Update(ctx, renewed.ID(), p); err == nil {
						ps = updated
					}
				}
			}
		} else {
			ps, err = s.m.Update(ctx, st.snap.ID(), p, pgsession.SetLifetime(lifetime))
		}
	}
	if errors.Is(err, pgsession.ErrNotFound) {
		s.ended(w, sess, st, opts)
		return fail(fmt.Errorf("the session was ended meanwhile: %w", err))
	}
	if ps != nil {
		st.snap = ps
		for k := range values {
			delete(st.undecoded, k) // written by this Save: no longer left alone
		}
		sess.ID = ps.ID().String()
		if cerr := s.setCookie(w, sess, st, opts); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fail(err)
	}
	return nil
}

// create starts a session with every value, and remembers its secret.
func (s *Store) create(ctx context.Context, r *http.Request, st *state, user string, values map[string]json.RawMessage, born []pgsession.SessionOption) (*pgsession.Session, error) {
	attrs := make(map[string]any, len(values))
	for k, v := range values {
		attrs[k] = v
	}
	ps, err := s.m.Create(ctx, user, attrs, append(born, withClient(r))...)
	if err != nil {
		return nil, err
	}
	st.secret, st.undecoded = secretOf(ps), nil
	return ps, nil
}

// patch lists the changes from the session as loaded (or last saved) to
// values: keys added or changed, and keys removed, except the ones New
// could not decode, which stay as stored unless values sets them.
func (s *Store) patch(st *state, values map[string]json.RawMessage) (*pgsession.Patch, error) {
	p := new(pgsession.Patch)
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	slices.Sort(keys) // a stable order for errors and statements
	for _, k := range keys {
		raw := values[k]
		if old, ok := st.snap.Raw(k); ok && !st.undecoded[k] {
			a, err := canonical(old)
			if err == nil {
				b, err := canonical(raw)
				if err == nil && bytes.Equal(a, b) {
					continue
				}
			}
		}
		p.SetRaw(k, raw)
	}
	for _, k := range st.snap.Keys() {
		if _, ok := values[k]; !ok && !st.undecoded[k] {
			p.Delete(k)
		}
	}
	return p, p.Err()
}

// setCookie sends the token of the session as saved.
func (s *Store) setCookie(w http.ResponseWriter, sess *sessions.Session, st *state, opts *sessions.Options) error {
	tok, err := s.keys.EncodeRaw(token.RawClaims{Secret: st.secret, Version: st.snap.Version()})
	if err != nil {
		return fmt.Errorf("sign token: %w", err)
	}
	c := sessions.NewCookie(sess.Name(), tok, opts)
	if s.browserCookies {
		c.MaxAge, c.Expires = 0, time.Time{}
	}
	http.SetCookie(w, c)
	return nil
}

// ended forgets the session and tells the client to drop its cookie.
func (s *Store) ended(w http.ResponseWriter, sess *sessions.Session, st *state, opts *sessions.Options) {
	st.snap, st.undecoded = nil, nil
	sess.ID = ""
	expired := *opts
	expired.MaxAge = -1
	http.SetCookie(w, sessions.NewCookie(sess.Name(), "", &expired))
}

// withClient records the request's user agent and address with a session
// that Create or Renew starts, for session lists.
func withClient(r *http.Request) pgsession.SessionOption {
	ip := r.RemoteAddr
	if host, _, err := net.SplitHostPort(ip); err == nil {
		ip = host
	}
	return pgsession.WithClient(r.UserAgent(), ip)
}

// secretOf returns the secret of a session from Create or Renew.
func secretOf(ps *pgsession.Session) [token.SecretSize]byte {
	var secret [token.SecretSize]byte
	base64.RawURLEncoding.Decode(secret[:], []byte(ps.Token()))
	return secret
}
