// Package pgsessiontest helps test code that uses pgsession against a real
// PostgreSQL: a fresh schema per test (so tests run in parallel), one pool per
// simulated node, and a tracer that counts round trips.
//
// The database comes from PGSESSION_TEST_DATABASE_URL, or the local default
// postgres://postgres@127.0.0.1:5432/test. A database that cannot be reached
// fails the test with a message saying so: it is never skipped.
package pgsessiontest
