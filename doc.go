// Package pgsession keeps web sessions for applications that run on several
// nodes, with PostgreSQL as the source of truth.
//
// # Sessions and tokens
//
// Create returns a session whose Token is a 256-bit secret in base64url. The
// database stores only its SHA-256, which is the session's ID: reading the
// table never yields a credential, and IDs can be shown to their owners (a
// "your devices" page) and used to revoke. A token that is malformed,
// unknown, expired or revoked is simply "no session" (ErrNotFound).
//
// # Reads and writes
//
// A Session is an immutable snapshot; Session.FromCache says whether the
// node's cache served it. Attributes are JSON values read with the generic
// Attr (decoded once per snapshot), Session.Decode (a private copy each
// time) or Session.Attrs (all of them, raw). An attribute may expire: set
// its TTL at Create (WithAttrTTL) or in a Patch (SetTTL). Update takes a Patch naming the keys to set or delete and
// applies it to the row as it is when the write lands, so concurrent updates
// of different keys from different nodes all survive; IfVersion turns an
// update into a strict compare-and-set. No write ever recreates a deleted
// session. Renew moves a session to a new token in one transaction: call it
// at log in (with AsUser) so a token planted before log in is worthless.
//
// # Expiry and background work
//
// Sessions end at an absolute deadline (Config.Lifetime) or after
// Config.IdleTimeout without use, judged by the database clock; an expired
// session is invisible at once. Last-access times are gathered in memory and
// written in batches, one statement per flush interval per node, as HOT
// updates. Expired rows are deleted in bounded batches by one node at a time
// (a lease shared through the database).
//
// # Cache and coherence
//
// Each Manager is a node with a bounded cache of immutable snapshots; a hit
// costs no round trip. Every write that can make a cached copy wrong bumps
// the session's version and is announced to the other nodes over
// LISTEN/NOTIFY: deletions inside their own transaction, updates after
// commit, coalesced per node. A dedicated listener connection probes itself
// when quiet; while it is down the node reads through to the database, and
// it drops its cache when it listens again. A delete committed at t is
// honoured by every node for requests that start after t + S, with S = 100
// ms while listeners are healthy and at most ListenerPingInterval +
// ListenerPingTimeout when one is not. MinVersion gives a client
// read-your-writes on any node; CacheMaxAge bounds the age of any copy.
//
// # Session events
//
// With Config.Events on every node, Manager.Subscribe delivers what
// happens to sessions anywhere: created, updated (version and keys),
// deleted (and why: Delete, renewed away, evicted by the per-user cap,
// expired), a user's sessions ended, all ended. Creations and deletions
// are announced in their own transaction, so each reaches every subscriber
// once while its node listens; after a listener cut, or when a subscriber
// falls behind, it gets EventsMissed and should read again what it tracks.
// docs/EVENTS.md gives the promise in full and what events cost.
//
// # Locks
//
// Lock takes a lease on a resource of a session, with a fencing token that
// only grows; expiry is judged by the database clock, and the holder stops
// trusting the lease a margin before it could end. A heartbeat extends it
// while held, and Lock.ExtendFor lengthens it before a long step; Locks
// lists a session's leases with their last heartbeat. See Lock.Guard for
// using it inside your own transaction.
//
// # Round trips
//
// A cache hit costs none, and so does a Get of an ID this node knows is
// gone. Every other operation is one round trip to PostgreSQL: Get on a
// miss, Create (including the per-user cap), Update, Delete, DeleteUser,
// DeleteAll, ListUser, Renew, and each lock operation. A plain Update that
// is refused sends a second statement to say why, and a conditional one
// refused by a change that committed while it waited is sent again (at most
// three times).
//
// # Backends
//
// Open and New run on PostgreSQL (pgx v5); they migrate the schema unless
// Config.ManualMigrations is set (see Migrate and MigrationSQL). NewMemory runs
// in process memory with the same behaviour, for the demo and tests; Managers
// sharing one MemoryStore act as nodes sharing one database.
package pgsession
