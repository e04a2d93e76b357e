// Package scsstore lets an application that uses the scs session manager
// (github.com/alexedwards/scs/v2) keep its sessions in pgsession, with one
// line:
//
//	sessionManager.Store = scsstore.New(m) // m is a *pgsession.Manager
//
// The Store implements scs.Store, scs.CtxStore, scs.IterableStore and
// scs.IterableCtxStore. Handlers, cookies and the scs API stay as they are.
//
// # Storage
//
// Each scs session is a pgsession session whose token is the scs token
// (scs makes 32 random bytes in base64url, the shape pgsession takes from
// CreateWithToken). The database keeps only the SHA-256 of the token, as for
// every pgsession session. scs's encoded data (an opaque blob) is one
// attribute, "scs" unless WithAttributeKey says otherwise, holding the blob
// as a base64 JSON string. Reads are served from the node's cache, kept
// coherent across nodes by pgsession, so a cache hit costs no round trip;
// every commit is one Update (one round trip), and a new session one Create.
// Last-access times are not recorded: scs implements its own idle timeout by
// committing a new expiry, and the sessions this Store creates have
// pgsession's idle expiry turned off.
//
// The blob must fit pgsession.Config.MaxAttributeSize once base64 encoded
// (64 KiB by default, so about 48 KiB of scs data); a larger commit fails
// with pgsession.ErrAttributeTooLarge and writes nothing.
//
// # Users
//
// WithUserKey names the scs key whose value is the user ID (a string, or
// an integer, bound as its decimal form), so Manager.ListUser, DeleteUser
// ("log out everywhere") and Config.MaxSessionsPerUser work for scs
// sessions:
//
//	sessionManager.Store = scsstore.New(m, scsstore.WithUserKey("userID"))
//
//	// log in, as scs recommends:
//	sessionManager.RenewToken(r.Context())
//	sessionManager.Put(r.Context(), "userID", id)
//
// A store sees only scs's encoded data, so the Store decodes it at each
// commit with the SessionManager's codec (scs.GobCodec unless WithCodec
// names another); reading the value from the request instead is not
// possible, as scs holds the session's lock while it commits. RenewToken's
// new token is created bound to the user (evicting the user's oldest
// sessions past the cap); later commits are Updates whose result names the
// bound user, so binding costs a decode per commit but no round trip until
// the user changes. A session without the key, or with "", is anonymous.
//
// pgsession changes a session's user only with a new token (Renew), which a
// store cannot hand scs. So when the user changes under a token (a log in
// or out without RenewToken), the commit ends the session and starts it
// again under the same token, bound to the new user or none, with the new
// data: two more round trips. It works, but call RenewToken at log in and
// log out: a token known before a log in would otherwise stay valid after
// it (session fixation). A commit through a key from All (scs's Iterate)
// has no token to do that with, so one that changes the user fails and
// writes nothing; Destroy such a session instead.
//
// A value under the key that is neither a string nor an integer, or that
// pgsession refuses (over 256 bytes, not UTF-8, holding NUL), fails the
// commit with an error wrapping pgsession.ErrInvalidUserID and writes
// nothing (scs answers 500), rather than store a user that the user's
// DeleteUser would miss. So does data the codec cannot decode.
//
// # Reads across nodes
//
// A read is served from the node's cache; a write on another node reaches
// it within pgsession's staleness bound (milliseconds while listeners are
// healthy; see the pgsession package). pgsession's own middleware closes
// that window with the version its tokens carry, which an scs token cannot.
// So a request that follows, that closely, a write made on another node may
// read the data from before it, and if it then commits, write that data
// back over the newer one: the lost update that two concurrent requests can
// cause under any scs store, here also possible for two consecutive ones.
// Sticky routing avoids it (a node always reads its own writes), and so
// does WithFreshReads, which reads from the database on every request (one
// round trip, as scs's postgresstore does). A session deleted on one node
// may likewise still be read on another within the bound, but never
// written back (see below).
//
// # Expiry
//
// scs names an absolute expiry time read from the node's clock. Commit turns
// it into a duration at once (time.Until) and the database applies that
// duration to its own clock, so clock skew between nodes and the database
// never shortens or lengthens a session by more than the time the call
// takes. A commit whose expiry has already passed deletes the session.
//
// # No resurrection
//
// scs commits a session by token, and a store that answers a commit with an
// upsert brings back a session that another request deleted (a log out on
// another node, an admin revoking it) while this request was running. This
// Store never does. It remembers, per process, the sessions it found (and
// the ones it created or deleted); a commit of such a session is an Update,
// and if the session is gone by then the commit does nothing and returns
// nil, as the deleting request wanted. Only a token this process has never
// seen, which for scs means one it has just generated (a new session, or
// RenewToken's new token), makes a new session. Since scs loads
// and commits a request's session on the same node, this holds across nodes.
//
// The memory is bounded (WithSeenCapacity, 200,000 sessions by default,
// kept in two generations): a session is remembered at least until half
// that many other sessions have been loaded on the node after it. A request
// that outlives that, and whose session is deleted while it runs, may still
// bring the session back when it commits; size the capacity to the number
// of distinct sessions a node loads during its longest request.
//
// # Iteration
//
// pgsession keeps no token, so All cannot return the tokens scs issued.
// Instead each live session holding scs data is returned under a key of the
// form "i.<session ID in hex>.<tag>", where the tag is an HMAC-SHA-256 of
// the ID under a random key the Store makes in New. Find, Commit and Delete
// accept these keys and act on the session by ID, so scs's Iterate can read,
// change, commit and destroy sessions. A key is accepted only with a valid
// tag (checked in constant time), so a client cannot forge one; such keys
// work only with the Store that minted them, in that process, until it
// restarts. They are credentials for the session they name: never hand one
// to a client. A commit through such a key never creates a session.
//
// All reads every live session (in pages) into the map scs asks for, so its
// memory grows with the number of sessions. Sessions without scs data
// (pgsession sessions made by other code in the same tables) are left out,
// and Find reports them as not found.
//
// # Errors
//
// As scs requires, a token that is missing, malformed, tampered with,
// expired or deleted is "not found" (found false, nil error); errors are
// system faults only (the database, a cancelled context, a closed Manager).
//
// # Notes for scs users
//
// scs.New starts a cleanup goroutine for its default in-memory store that
// keeps running after Store is replaced; that is scs's behaviour and costs
// one idle goroutine. With scs's HashTokenInStore set, sessions are stored
// under the hash scs computes (also a 43-character base64url string), which
// works; scs's Iterate then hashes the keys All returns a second time, so
// its commits cannot reach the sessions — true of every scs store.
package scsstore
