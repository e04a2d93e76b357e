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
// A Session is an immutable snapshot. Attributes are JSON values read with
// the generic Attr (decoded once per snapshot) or Session.Decode (a private
// copy each time). Update takes a Patch naming the keys to set or delete and
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
// # Round trips
//
// Every operation is one round trip to PostgreSQL: Get, Create (including the
// per-user cap), Update, Delete, DeleteUser, DeleteAll, ListUser and Renew.
//
// # Backends
//
// Open and New run on PostgreSQL (pgx v5); they migrate the schema unless
// Config.ManualMigrations is set (see Migrate and MigrationSQL). NewMemory runs
// in process memory with the same behaviour, for the demo and tests; Managers
// sharing one MemoryStore act as nodes sharing one database.
package pgsession
