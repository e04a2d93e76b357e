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
// the page and when the user logged in, a counter with a +1 button, the
// user's sessions (device, created, last seen, a marker on the current one
// and a revoke button on the others) and the log out buttons. The forms post
// to /login, /counter, /revoke, /logout, /logout-others and
// /logout-everywhere, which answer with a redirect to /.
//
// Logging in takes a name and nothing else, recorded as the authentication
// method "name" (httpsession.AuthMethod). Logging in as another user in the
// same browser ends the first user's session, and the new user starts with
// a counter at zero; the same user logging in again keeps the counter.
//
// # Live session list
//
// The sessions list follows changes made anywhere without a reload: a
// device of the user's logging in, being revoked or logging out, on either
// node. The nodes' Managers run with pgsession.Config.Events, and the page's
// script (/live.js) opens GET /api/events, a server-sent event stream. Each
// message only says that the list changed, and the script reads it again
// through GET /api/sessions, so the list has one source. A stream carries
// only what concerns the user's own sessions (never another user's, whose
// IDs are none of theirs), plus a message after a user-wide or global
// deletion or lost events. It ends when the client leaves, the node stops,
// or its own session ends; the page then finds itself logged out and shows
// the log-in form. Without script the page is as before, only not live.
// A page of another origin cannot read a user's stream: that would take
// CORS, which the demo never grants.
//
// # Recent log-in
//
// Ending the user's other sessions, all at once (/logout-others) or one by
// one (/revoke), needs a log-in within DefaultReauthMaxAge (5 minutes),
// checked with httpsession's CheckRecentAuth: a leaked cookie, or a browser
// left logged in, must not be enough to end the owner's sessions and leave
// the intruder the only one logged in. An older log-in gets the form back
// with a redirect to /?m=reauth, where a logged-in visitor finds a form to
// log in again; the API answers 403 {"error": "re-authentication
// required: ..."}, and the client logs in again with POST /api/login.
// Logging out, here or everywhere, and revoking the current session never
// need it: a worried user must always be able to leave.
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
//	GET    /api/me                 -> 200 {"user","node","version","counter","authenticated_at","auth_method"}, 401 without a live session
//	POST   /api/counter            -> 200 {"counter","node","version"}: adds one
//	GET    /api/sessions           -> 200 [{"id","current","created","last_seen","user_agent","device","ip"}]
//	DELETE /api/sessions/{id}      -> 204; 404 unless it is one of the caller's sessions; 403 after an old log-in
//	POST   /api/logout             -> 204
//	POST   /api/logout-everywhere  -> 204
//	POST   /api/logout-others      -> 200 {"ended": N}; 403 after an old log-in
//	GET    /api/events             -> 200 text/event-stream, "data: {"kind","id"}" per change to the caller's sessions
//
// GET /api/events sends kind "created" or "deleted" with the session's id,
// "user-deleted" after a log out everywhere or of the other devices,
// "all-deleted", and "missed" when events may have been lost; a comment
// line every DefaultHeartbeat (15 seconds) keeps a quiet stream open. It
// answers 401 without a live session, 429 to a user who already has
// MaxStreamsPerUser (8) streams open on the node, and 503 when the node has
// Options.MaxStreams (DefaultMaxStreams, 1000) open in all. /live.js, the page's script, is
// served outside the session middleware, like /metrics.
//
// A request with a body must declare it as JSON, Content-Type
// application/json (parameters such as charset allowed), or it is refused
// with 415 before it reaches a handler: another page can make a browser
// post a form or text/plain anywhere, but JSON only after a CORS preflight,
// which the demo never grants. See "Forms and cross-site requests" for
// what else keeps other pages out.
//
// Errors are {"error": "..."} with a 4xx or 5xx status, except the
// middleware's plain-text 403 to a browser's cross-origin request. Every
// response names the node that served it in the X-Pgsession-Node header.
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
// A page elsewhere must not make a visitor's browser act on the demo: count,
// log out, or log in as the attacker (cross-site request forgery). The forms
// carry no token of their own; three things keep such requests out.
//
// The session middleware refuses, with 403 and before any session work,
// every unsafe request (POST, DELETE, ...) a browser sends from another
// origin, going by the Sec-Fetch-Site header browsers set themselves (or,
// from a browser too old for it, Origin): see httpsession's
// CrossOriginConfig, left at its defaults. This is the protection that
// counts. It covers the forms, the log-in included, and the API's posts
// without a body (+1, log out), which the content-type rule lets through.
// Clients that are not browsers (curl, scripts) send neither header and
// pass.
//
// The JSON API takes a body only as application/json (see "JSON API"), which
// no page of another origin can send without the CORS preflight the demo
// never grants: a second lock on /api/login, which holds even for a browser
// that sends neither header.
//
// The session cookie is SameSite=Lax, so a browser leaves it off a post from
// another site. But a site is wider than an origin: every port of
// 127.0.0.1 (and, for a real site, every sibling subdomain) is the same
// site, so SameSite alone would let a page on another port post with the
// visitor's cookie: the origin check is what stops it. Being one site is
// also what lets the two nodes share the cookie; they are two origins all
// the same, so each page's forms post only to its own node.
package demo
