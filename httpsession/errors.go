package httpsession

import "errors"

var (
	// ErrNoMiddleware: the request did not pass through this Middleware's
	// Handler, so it has no session state to read or change.
	ErrNoMiddleware = errors.New("httpsession: request did not pass through this middleware")
	// ErrResponseWritten: the session changed after the response's headers
	// were sent. For Set, Delete and Save the change is saved but the client
	// keeps its old token (its version hint is behind); LogIn, Ensure and
	// RenewToken refuse, since the client could never learn the new token;
	// a LogOut still ends the session but cannot clear the cookie.
	ErrResponseWritten = errors.New("httpsession: session changed after the response was written")
	// ErrReauthRequired: the user must authenticate again before this
	// action. CheckRecentAuth returns it as a *ReauthError, which says how
	// old the last authentication is.
	ErrReauthRequired = errors.New("httpsession: reauthentication required")
)
