// Package httpsession is net/http middleware for pgsession: it finds the
// session a request's token names, gives handlers accessors to read and
// change it, saves the changes before the response goes out, and hands the
// client a fresh token when there is one to hand.
//
// # Transports
//
// A token travels in a cookie (the default; HttpOnly, Secure, SameSite=Lax,
// Path=/, optionally with the __Host- prefix), in a request header (the
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
// LogIn start a session with a new token of the server's making.
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
// the session. A response that sets a token also gets
// Cache-Control: no-cache="Set-Cookie" (or the response header's name), so
// shared caches never hand one client's token to another.
//
// # Several middlewares
//
// Each Middleware keeps its request state under its own context key, so two
// of them (say, a site session and an admin session with different cookie
// names) can serve the same request. The response writer it hands down
// implements Unwrap, so http.ResponseController reaches the server's writer;
// Flush and Hijack through it save the session first.
package httpsession
