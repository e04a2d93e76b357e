// Package redisaffinity stores worker affinity (see package
// github.com/pgsession/pgsession/affinity) in Redis: Store keeps it in
// Redis alone, Layered keeps a Redis cache in front of another store,
// usually affinity.Postgres, which stays the source of truth. It is a
// module of its own so that users of package affinity never inherit the
// Redis client.
//
// # Store
//
// Each session is a hash under its SHA-256 key, expiring by Redis's own TTL
// IdleTimeout after its last recorded access; an idle session is therefore
// invisible before any sweep. Each worker has a sorted set of its sessions
// scored by idle deadline: CountForWorker is one ZCOUNT over the live part
// of it, and RerouteWorker, DeleteByWorker, EntriesForWorker and SweepIdle
// visit that worker's sessions only, never the keyspace. Per-worker
// scripts handle 64 sessions at a time, so a large reroute holds Redis for
// well under a millisecond at a time and other clients' commands are
// served in between. Touch is a script that checks and writes atomically
// and never creates a session; within TouchGranularity it only reads.
//
// All times (last access, idle deadlines, versions) come from Redis's TIME,
// inside the scripts: no node's clock is compared with Redis's. The one
// exception is Import, whose times were recorded elsewhere: its script
// stores them and judges them against TIME.
//
// # Keys and Redis Cluster
//
// Every key of an application is <KeyPrefix>{<App>}:...: sessions
// (s:<hex key>), worker indexes (w:<worker>), the set of workers, and the
// layered cache's copies (c:<hex key>) and generations (gen). The braces
// make the application name the hash tag, so all of an application's keys
// live in one cluster slot, and every script declares in KEYS each key it
// touches. A script that moves a session between worker indexes must touch
// the session and both indexes atomically; a tag per session or per worker
// cannot put those in one slot (a session is found by its ID, not its
// worker), so the tag is per application. The cost is that one
// application's affinity data lives on one shard: it is small (about 200
// bytes a session) and its command rate is the proxy's request rate, well
// within one Redis node; applications that need more can be split by App.
//
// Scripts cannot name a key they have not been given, so an operation
// whose keys depend on data (the worker index of a session, the sessions
// of a worker) runs in two steps: a read that learns the keys, then a
// script that declares them and re-checks, atomically, that what it read
// still holds, retrying if not.
//
// # Layered
//
// Layered writes the primary first, then the cache; per-worker reads go to
// the primary; Get and Touch are answered from a valid copy. Touch reaches
// the primary only when the primary would record the access (past the
// granularity), so a proxy's per-request touches mostly stay in Redis.
//
// Copies are kept from ever being older than the primary by generations:
// a counter in Redis that every invalidation bumps. A read records the
// generation before it reads the primary and fills the cache only if,
// when the fill lands, nothing concerning the copy was invalidated since:
//
//   - Delete leaves a tombstone carrying its generation, so a fill from a
//     read that began before the delete is refused (it would resurrect the
//     session);
//   - RerouteWorker and DeleteByWorker bump the worker's epoch: one write,
//     whatever the number of sessions, after which every copy of that
//     worker read before is stale, and fills read before are refused;
//   - SweepIdle tombstones exactly the entries the primary swept;
//   - a copy of a newer version is never replaced by an older one.
//
// A copy lives no longer than the entry's remaining idle time (measured by
// the primary as a duration, so again no clocks are compared) nor than
// Options.CacheMaxAge.
//
// # When Redis fails
//
// Every Redis call is bounded by Options.CallTimeout, which needs a client
// created with ContextTimeoutEnabled (constructors refuse one without it:
// go-redis would otherwise wait for its own read timeout). The Store
// returns the error. Layered carries on with the primary alone: after a
// failed call it bypasses Redis for Options.RetryAfter, and every
// invalidation it could not make meanwhile is owed; before it uses the
// cache again it raises the generation floor, which makes every copy read
// before stale at once. A node cut off from Redis while others are not
// leaves their copies of what it changed stale until it reaches Redis
// again or the copies age out (CacheMaxAge).
//
// # Benchmark
//
// BenchmarkWorkerOps builds 100,000 sessions over 100 workers and measures
// reroute, count and delete of one worker, and Get latency during a
// reroute, beside a naive baseline that scans the keyspace inside Lua, and
// prints the ratios:
//
//	cd affinity/redisaffinity && go test -run '^$' -bench WorkerOps
package redisaffinity
