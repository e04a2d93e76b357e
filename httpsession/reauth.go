package httpsession

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/pgsession/pgsession"
)

// The attributes LogIn writes to record an authentication. They are
// stored like any attribute, so session lists and other nodes see them;
// the application should not write them itself.
const (
	// AuthTimeKey holds when the user last authenticated, in Unix
	// milliseconds of the clock of the node that ran LogIn.
	AuthTimeKey = "_auth_at"
	// AuthMethodKey holds how (see AuthMethod), absent if LogIn was not
	// told.
	AuthMethodKey = "_auth_method"
)

// ReauthError is the error CheckRecentAuth returns when the request's user
// must authenticate again before a sensitive action (changing a password
// or an e-mail address, a payment). It matches ErrReauthRequired.
type ReauthError struct {
	// AuthenticatedAt is when the user last authenticated; zero if the
	// request has no logged-in session or the session holds no record.
	AuthenticatedAt time.Time
	// Method is how, as given to AuthMethod; "" if unknown.
	Method string
	// Age is how long ago AuthenticatedAt was; 0 if it is zero.
	Age time.Duration
	// MaxAge is the age the check allowed.
	MaxAge time.Duration
}

func (e *ReauthError) Error() string {
	if e.AuthenticatedAt.IsZero() {
		return "httpsession: reauthentication required: no authentication recorded"
	}
	return fmt.Sprintf("httpsession: reauthentication required: authenticated %v ago, more than %v",
		e.Age.Round(time.Millisecond), e.MaxAge)
}

// Is makes errors.Is(err, ErrReauthRequired) true.
func (e *ReauthError) Is(target error) bool { return target == ErrReauthRequired }

// AuthenticatedAt returns when and how the request's user last
// authenticated (as recorded by LogIn). ok is false if the request has no
// logged-in session or the session holds no record.
func (mw *Middleware) AuthenticatedAt(r *http.Request) (at time.Time, method string, ok bool) {
	s := mw.Session(r)
	if s == nil || s.UserID() == "" {
		return time.Time{}, "", false
	}
	ms, err := pgsession.Attr[int64](s, AuthTimeKey)
	if err != nil {
		return time.Time{}, "", false
	}
	return time.UnixMilli(ms), pgsession.AttrOr(s, AuthMethodKey, ""), true
}

// CheckRecentAuth returns nil if the request's user authenticated (logged
// in, or logged in again) at most maxAge ago, and a *ReauthError otherwise:
// also without a logged-in session, or without a record of the
// authentication. The application answers it by asking the user to log in
// again, which refreshes the time. A maxAge of 0 or less refuses every
// request. Nodes compare the time with their own clocks, so keep them in
// step to well within maxAge.
func (mw *Middleware) CheckRecentAuth(r *http.Request, maxAge time.Duration) error {
	if mw.state(r) == nil {
		return ErrNoMiddleware
	}
	at, method, ok := mw.AuthenticatedAt(r)
	if !ok {
		return &ReauthError{MaxAge: maxAge}
	}
	age := max(time.Since(at), 0) // a clock a little behind another node's
	if maxAge <= 0 || age > maxAge {
		return &ReauthError{AuthenticatedAt: at, Method: method, Age: age, MaxAge: maxAge}
	}
	return nil
}

// RequireRecentAuth returns middleware for the routes of sensitive
// actions: a request whose user did not authenticate within maxAge (see
// CheckRecentAuth) gets Config.OnReauth's answer instead of the route's.
// Place it inside mw.Handler:
//
//	mux.Handle("POST /account/password", mw.RequireRecentAuth(5*time.Minute)(changePassword))
//	http.ListenAndServe(addr, mw.Handler(mux))
//
// A request that did not pass through mw.Handler is answered 500 Internal
// Server Error, and reported to Config.OnError.
func (mw *Middleware) RequireRecentAuth(maxAge time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			err := mw.CheckRecentAuth(r, maxAge)
			var reauth *ReauthError
			switch {
			case err == nil:
				next.ServeHTTP(w, r)
			case errors.As(err, &reauth):
				mw.cfg.OnReauth(w, r, reauth)
			default:
				mw.report(r, err)
				http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
			}
		})
	}
}

func refuseReauth(w http.ResponseWriter, r *http.Request, err *ReauthError) {
	http.Error(w, "reauthentication required", http.StatusForbidden)
}
