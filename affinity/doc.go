// Package affinity keeps worker affinity for sticky routing: a reverse
// proxy that pins each browser session to one backend worker stores here,
// per session, the worker, the bound user and the last access, and asks
// which sessions a worker has when it scales, drains or replaces workers.
//
// # Stores
//
// Store is the interface; this package has two implementations and the
// nested module github.com/pgsession/pgsession/affinity/redisaffinity two
// more, kept apart so that users of this package never inherit a Redis
// client:
//
//   - Memory (NewMemory): process memory, for one proxy, the demo and tests.
//   - Postgres (NewPostgres): a PostgreSQL table, the source of truth for
//     several proxies.
//   - redisaffinity.Store: Redis alone.
//   - redisaffinity.Layered: Redis as a cache in front of any Store
//     (PostgreSQL in production), kept coherent with it.
//
// All four pass one conformance suite, package affinitytest.
//
// # Entries, keys and versions
//
// Set pins a session; Get, Touch and Delete take the session ID the proxy
// sees (a cookie value, say). No store keeps that ID: entries are stored
// under its SHA-256 (Key, KeyOf), so reading the table or the Redis keys
// never yields a usable session ID, and EntriesForWorker returns keys. An
// Entry carries its application (Config.App, so several applications can
// share a table or a Redis), its creation time, the last recorded access,
// how long it has left (ExpiresIn) and a version that grows with every Set
// and reroute.
//
// # Expiry and touches
//
// An entry not accessed for Config.IdleTimeout is invisible to every method
// at once, before any sweep; SweepIdle only reclaims its space (or, given a
// shorter maxIdle, ends live but idle entries). Expiry is judged by the
// store's own clock, never by comparing a node's clock with a database's:
// PostgreSQL compares with now() in SQL, Redis expires keys by its own TTL.
//
// Touch records an access in one atomic step that never creates an entry,
// so a touch racing a delete cannot bring the session back. Accesses are
// written at most once per Config.TouchGranularity; touches in between only
// read. In PostgreSQL a written touch changes only last_access, which no
// index covers, in a table with free space on each page: a HOT update.
//
// # Errors
//
// Every method takes a context first and returns an error. ErrNotFound
// means "no live entry"; any other error is a fault (a lost connection, a
// timeout), never reported as ErrNotFound, so a proxy can tell "pick a new
// worker" from "the store is down". Bad arguments are ErrInvalidArgument
// and bad configuration ErrInvalidConfig; nothing is written then. Import
// also refuses an entry already expired with ErrExpired.
//
// # Importing
//
// Set records an access by the store's clock, so it cannot carry over an
// entry recorded elsewhere. Importer.Import can: it writes an entry with
// its own created and last-access times, so the idle clock of a session
// moved from another store keeps running rather than restarting. The
// newer record wins: a live entry is replaced only by a later last
// access, so reruns change nothing and a pin the proxy made since is kept.
// An entry already idle past the timeout is refused with ErrExpired, and
// one dated too far ahead of the store's clock with ErrInvalidArgument.
// Memory, Postgres and redisaffinity.Store implement it, and
// redisaffinity.Layered does when its primary does; the command
// "pgsession import blockyard" is built on it.
//
// # Per-worker operations
//
// CountForWorker(s), EntriesForWorker, RerouteWorker and DeleteByWorker
// work through a per-worker index (a map in memory, an index on (app,
// worker_id) in PostgreSQL, a sorted set per worker in Redis), so their
// cost is proportional to the worker's sessions, not to all sessions.
//
// # PostgreSQL
//
// The table, <prefix>affinity, has a migration chain of its own, tracked in
// <prefix>affinity_migrations: NewPostgres applies it unless
// Config.ManualMigrations is set (then Migrate, or "pgsession migrate up
// -affinity"), and creates nothing of pgsession's session tables. Every
// method is one round trip (SweepIdle one per batch of
// 1000 rows; Import two when a row is already there).
//
// # Writing a Store
//
// CheckSessionID, CheckWorkerID, CheckUserSub, CheckPin, CheckImport, Op,
// SweepCutoff and Config.WithDefaults are the rules every Store here applies, exported so
// that a Store written elsewhere (redisaffinity is one) applies the same:
// the same limits, the same errors, the same sweep cutoff. They are part of
// this package's stable API, kept as the built-in stores change, and the
// conformance tests (affinitytest) hold any Store to them.
package affinity
