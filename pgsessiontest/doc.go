// Package pgsessiontest helps test code that uses pgsession against a real
// PostgreSQL: a fresh schema per test (so tests run in parallel), one pool per
// simulated node, and a tracer that counts round trips.
//
// The database comes from PGSESSION_TEST_DATABASE_URL, or the local default
// postgres://postgres@127.0.0.1:5432/test. A database that cannot be reached
// fails the test with a message saying so: it is never skipped.
//
// The pools can go through PgBouncer in transaction mode (make
// test-pgbouncer), which cannot carry LISTEN: PGSESSION_TEST_DATABASE_URL then
// names PgBouncer, with a pgx query mode that prepares no named statement;
// PGSESSION_TEST_LISTENER_URL names PostgreSQL itself, for the listeners
// (ListenerConnect); PGSESSION_TEST_PGBOUNCER, set, skips what cannot work
// behind it (SkipBehindPgBouncer) and fails a node whose listener would
// connect through it.
//
// Everything exported here, Database and Serial included, is stable API for
// test suites: this module's packages, its nested modules, and applications
// that test their own use of pgsession against a real server. Database gives
// a test a database of its own; Serial marks a test that must run alone on
// the server (make test runs those in a step of their own).
package pgsessiontest
