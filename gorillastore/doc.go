// Package gorillastore is a gorilla/sessions Store that keeps sessions in
// pgsession, so applications written for gorilla/sessions, echo-contrib's
// session middleware or gin-contrib/sessions (through the ginstore module)
// switch by changing their store:
//
//	keyList, err := token.ParseKeys(os.Getenv("SESSION_KEYS")) // "id:secret,..."
//	keys, err := token.NewRing(keyList...)
//	store, err := gorillastore.New(m, keys) // m is a *pgsession.Manager
//
//	sess, _ := store.Get(r, "app")
//	sess.Values["n"] = n + 1
//	err = sess.Save(r, w)
//
// # Values
//
// Each entry of Session.Values is one pgsession attribute, stored as JSON
// under its key, which must be a string. So other pgsession code (the
// httpsession middleware, pgsession.Attr, an admin tool) reads the same
// data, and Save writes only what changed. Values come back as JSON decodes
// into an interface{}, with care for numbers:
//
//   - string, bool and nil come back as they went in;
//   - integers of any Go type come back as int (as float64 beyond int's
//     range); float32 and float64 come back as float64, whole ones too
//     (2.0 is stored as 2.0, not 2);
//   - []interface{} and map[string]interface{} come back as such, with the
//     same rules inside; so do flashes (AddFlash, Flashes);
//   - other slices, maps and structs come back as []interface{} and
//     map[string]interface{}, and time.Time as a string, unless WithType
//     names the Go type stored under the key: then exactly that type.
//
// Save refuses, with an error naming the key and writing nothing, a key
// that is not a string (pgsession.ErrInvalidKey), a value that does not
// encode as JSON, such as a channel, a function or a NaN
// (pgsession.ErrInvalidValue), and anything past the Manager's limits
// (pgsession.ErrAttributeTooLarge, ...). gob registrations play no part.
//
// # Cookies and tokens
//
// The cookie, named after the session, carries a pgsession token signed
// with the key ring given to New (package token), not a securecookie
// encoding made with gorilla key pairs. The token holds the session's
// 256-bit secret, of which the database keeps only the SHA-256, and the
// version of the session the client last saw: a node that reads the session
// asks for at least that version (pgsession.MinVersion), so a client that
// saved through one node never reads an older copy through another. The
// ring rotates keys (sign with the first, verify with all) and is the one
// httpsession and the pgsession CLI use (pgsession key prints a key), so one
// set of keys serves every part of an application. securecookie's
// encryption would protect nothing, since the cookie holds no data, and its
// timestamp would duplicate the server's expiry. A cookie that is missing,
// malformed, tampered with, signed with a key no longer on the ring, or whose
// session has ended gives a new session, not an error.
//
// Every Save sets the cookie again, with the new version and the session's
// Options: Path, Domain, MaxAge, Secure, HttpOnly, Partitioned and
// SameSite. The Store's Options field is each new session's default; New
// sets Path "/", MaxAge 30 days, HttpOnly, Secure and SameSite Lax. Save
// with Options.MaxAge <= 0 ends the session and expires the cookie, as
// gorilla's FilesystemStore does; WithBrowserSessionCookies gives cookies
// without Max-Age.
//
// # Lifetime
//
// MaxAge is also the session's lifetime in the database: each Save moves
// its end to MaxAge seconds from then, by the database's clock, so a
// session lasts MaxAge from its last Save, as its cookie does. Sessions this
// Store creates have no idle timeout, and loads do not record accesses.
//
// # Round trips
//
// Save of a new session is one Create; of a loaded one, one Update that
// sets the keys that changed since the load, deletes the keys removed from
// Values, and moves the session's end (changes to other keys made meanwhile
// by other requests survive). Loading is free when the node's cache has
// the session, one round trip otherwise. The Store keeps, per session it
// handed out, the snapshot it loaded, looked up by the session's address
// and dropped when the session is garbage collected; a session made
// elsewhere (sessions.NewSession) is saved as a new one.
//
// # Users
//
// WithUserKey names the key of Values that holds the user ID. Sessions are
// then bound to their users in pgsession, so Manager.ListUser lists a
// user's devices, Manager.DeleteUser logs a user out everywhere, and
// Config.MaxSessionsPerUser caps them. Setting the key in an anonymous
// session (a log in) moves the session to a new token as it is saved, so a
// cookie planted before the log in is worthless; changing or removing it
// ends the old session and starts a new one holding Values.
//
// # Failures
//
// New returns an error only with a fault (the database unreachable, the
// request cancelled), together with a new session that Save refuses to
// write, so a passing outage never replaces the client's session with an
// empty one; and when a stored value does not decode into its WithType
// type, together with the session without that key (Save then leaves the
// stored value alone). A Save that finds its session ended meanwhile (a log
// out on another device, expiry) leaves it ended, expires the cookie and
// returns an error matching pgsession.ErrNotFound. Database writes run for
// up to WithWriteTimeout even when the client has gone away.
package gorillastore
