// Package demo is the web app behind `pgsession demo`: two nodes of one
// small site that share their sessions, so a visitor can log in on one node
// and find themselves logged in on the other, count on both, list their
// devices and log out everywhere.
//
// # Backends
//
// Without a database URL both nodes run in one process on one
// pgsession.MemoryStore, each with its own Manager. With one, each node opens
// its own Manager with pgsession.Open (its own pool and LISTEN connection),
// exactly as two processes would, and the schema is migrated at start.
//
// # Pages
//
// GET / shows the log-in form, or for a logged-in visitor: which node served
// the page, a counter with a +1 button, the user's sessions (device, created,
// last seen, a marker on the current one and a revoke button on the others)
// and the log out buttons. The forms post to /login, /counter, /revoke,
// /logout, /logout-others and /logout-everywhere, which answer with a
// redirect to /.
//
// # Sessions per user
//
// A user holds at most MaxSessionsPerUser (10) live sessions, through
// pgsession.Config.MaxSessionsPerUser: the 11th log-in ends the user's
// oldest session, in the same round trip.
//
// # Metrics
//
// GET /metrics serves the node's pgsession counters (cache hits and misses,
// invalidations, listener health) in Prometheus's text format, through
// package github.com/pgsession/pgsession/metrics/prometheus. It is outside
// the session middleware: a scrape neither needs nor makes a session.
//
// /metrics has no authentication. The demo answers it only to clients
// connected from a loopback address (127.0.0.1, ::1), and 403 to the rest,
// going by the connection, not by any header. A real deployment serves its
// metrics on an internal port that only the scraper can reach, or behind
// authentication, never on the public site.
//
// # JSON API
//
//	POST   /api/login              {"user": NAME} -> 200 {"user","node","version"} and the session cookie
//	GET    /api/me                 -> 200 {"user","node","version","counter"}, 401 without a live session
//	POST   /api/counter            -> 200 {"counter","node","version"}: adds one
//	GET    /api/sessions           -> 200 [{"id","current","created","last_seen","user_agent"}]
//	DELETE /api/sessions/{id}      -> 204; 404 unless it is one of the caller's sessions
//	POST   /api/logout             -> 204
//	POST   /api/logout-everywhere  -> 204
//	POST   /api/logout-others      -> 200 {"ended": N}
//
// A request with a body must declare it as JSON, Content-Type
// application/json (parameters such as charset allowed), or it is refused
// with 415 before it reaches a handler: another site can make a browser
// post a form or text/plain anywhere, but JSON only after a CORS preflight,
// which the demo never grants. Without the check, a page on any site could
// log its visitors in as the attacker.
//
// Errors are {"error": "..."} with a 4xx or 5xx status. Every response names
// the node that served it in the X-Pgsession-Node header.
//
// # Counting on two nodes
//
// The counter is a compare-and-set loop: read the session from the database
// (Manager.GetByID with ForceRefresh), write counter+1 only if the counter
// has not changed since that version (pgsession.IfKeysUnchanged), and on
// ErrVersionConflict read again after a short jittered pause. Concurrent
// increments from both nodes are never lost. The middleware then saves one
// more attribute, so the version in the client's cookie covers the count
// (counter.go says why).
//
// # Forms and cross-site requests
//
// The session cookie is SameSite=Lax, so a browser does not send it with a
// form posted from another site, and the state-changing forms need no token
// of their own. Two ports of one host are the same site, which is what lets
// the two nodes share the cookie.
package demo
