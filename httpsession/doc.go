// Package httpsession is net/http middleware for pgsession: it finds the
// session a request's token names, gives handlers accessors to read and
// change it, saves the changes before the response goes out, and hands the
// client a fresh token when there is one to hand.
//
// # Transports
//
// A token travels in a cookie (the default; HttpOnly, Secure, SameSite=Lax,
// Path=/, named with the __Host- prefix whenever the cookie can carry it),
// in a request header (the
// Authorization header as "Bearer <token>", or a header of the
// application's choice), or either. A new or refreshed token goes back the
// way the request's token came: a Set-Cookie for a cookie, a response header
// (Config.ResponseHeader) for a header. A session started by a request that
// brought no token is sent both ways when both transports are on.
//
// Tokens are signed and carry the session version the client last saw (see
// package token). The middleware asks the Manager for at least that version
// (pgsession.MinVersion), so a client that wrote through one node never
// reads an older copy through another.
//
// # No session is not an error
//
// A request without a token, or with one that is malformed, signed with a
// key that is no longer on the ring, tampered with, expired or revoked,
// simply has no session: Session returns nil and the handler carries on. A
// token the server did not issue never becomes a session: Ensure, Set and
// LogIn start a session with a new token of the server's making. A token
// that verifies but whose session is gone (ended elsewhere, expired) is
// cleared from the client, with an expired cookie or an empty response
// header, so it stops coming back.
//
// # Several cookies of one name
//
// A browser sends every cookie whose name, domain and path match, the
// longest path first; a sibling subdomain can add one of our name
// (cookie tossing) unless the cookie has the __Host- prefix. The middleware
// ignores values that do not verify, so junk cannot push the user's cookie
// out, and verifies at most a few token-length values per request. If the
// valid ones name different sessions, the request has no session: the
// first may be an attacker's own logged-in session, into which the user's
// actions would otherwise go. After changing Cookie.Domain or Cookie.Path,
// rename the cookie, or browsers holding both the old cookie and the new
// one will look logged out until the old one expires.
//
// # Cross-origin requests
//
// Unsafe requests (POST, PUT, PATCH, DELETE...) a browser sends from
// another origin are refused with 403 before any session work, using
// http.CrossOriginProtection: a page elsewhere cannot make the user's
// browser act with the user's cookie (CSRF). Clients that are not browsers
// pass, as do requests whose token came in the token header. See
// CrossOriginConfig for trusted origins, exempt routes and turning it off.
//
// # Logging in
//
// LogIn always issues a new token. From an anonymous session it carries
// over only the attributes named with KeepKeys; the same user logging in
// again keeps everything; a session of another user is ended and the new
// user starts with nothing. RememberMe gives a longer lifetime and idle
// timeout and a persistent cookie. LogIn records when and how the user
// authenticated; RequireRecentAuth and CheckRecentAuth ask for a recent
// log in before sensitive actions.
//
// # Saving changes
//
// Set and Delete collect a patch for the request. It is written with one
// Manager.Update just before the response's first byte (the first Write,
// WriteHeader or Flush), or when the handler returns if it wrote nothing, so
// the Set-Cookie with the new version can still go out. Save writes it
// earlier, returning the error to the handler. A session deleted meanwhile
// (a log out that raced this request) stays deleted: the update fails with
// pgsession.ErrNotFound, which goes to Config.OnError, and no session is
// created in its place.
//
// Every problem the handler cannot see through a return value goes to
// Config.OnError: failed saves, refused version-checked updates
// (Config.Strict), database errors while loading, and changes made after
// the response was already written (saved, but the client's token could
// not be refreshed; ErrResponseWritten).
//
// # Caches
//
// Every response passing through the middleware gets Vary: Cookie (and the
// token header's name, when that transport is on), since it may depend on
// the session. A response that sets or clears a token also gets
// Cache-Control: no-cache="Set-Cookie" (or the response header's name), so
// shared caches never hand one client's token to another; and if the
// handler made it cacheable by shared caches, "public" becomes "private"
// and "s-maxage" is dropped, since not every cache honours the first.
//
// # Several middlewares
//
// Each Middleware keeps its request state under its own context key, so two
// of them (say, a site session and an admin session with different cookie
// names) can serve the same request. The response writer it hands down
// implements Unwrap, so http.ResponseController reaches the server's writer;
// Flush and Hijack through it save the session first.
package httpsession
