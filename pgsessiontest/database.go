package pgsessiontest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/url"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultDatabaseURL is used when PGSESSION_TEST_DATABASE_URL is not set.
const DefaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// DatabaseURL returns the test database's connection string.
func DatabaseURL() string {
	if u := os.Getenv("PGSESSION_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultDatabaseURL
}

// ServerAddr returns the host:port of the test database's server, to put a
// Proxy in front of it.
func ServerAddr(tb testing.TB) string {
	tb.Helper()
	cfg, err := pgx.ParseConfig(DatabaseURL())
	if err != nil {
		tb.Fatalf("pgsessiontest: bad database URL: %v", err)
	}
	return net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
}

var shared struct {
	mu   sync.Mutex
	pool *pgxpool.Pool // guarded by mu; for schema setup and inspection
}

// AdminPool returns a pool shared by the tests of one package, for setup and
// for inspecting tables. Close it from TestMain with Close.
func AdminPool(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.pool == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		cfg, err := pgxpool.ParseConfig(DatabaseURL())
		if err != nil {
			tb.Fatalf("pgsessiontest: bad database URL: %v", err)
		}
		cfg.MaxConns = 4
		refuseListener(&cfg.ConnConfig.Config)
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err == nil {
			err = pool.Ping(ctx)
		}
		if err != nil {
			tb.Fatalf("pgsessiontest: PostgreSQL is not reachable at %s (start it, or set PGSESSION_TEST_DATABASE_URL): %v", DatabaseURL(), err)
		}
		shared.pool = pool
	}
	return shared.pool
}

// Close closes the shared pool. Call it at the end of TestMain, before
// checking for leaked goroutines.
func Close() {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.pool != nil {
		shared.pool.Close()
		shared.pool = nil
	}
}

// Schema creates an empty schema with a unique name and drops it, with
// everything in it, when the test ends.
func Schema(tb testing.TB) string {
	tb.Helper()
	var b [6]byte
	rand.Read(b[:])
	name := "pgst_" + hex.EncodeToString(b[:])
	pool := AdminPool(tb)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{name}.Sanitize()); err != nil {
		tb.Fatalf("pgsessiontest: create schema: %v", err)
	}
	tb.Cleanup(func() {
		if _, err := AdminPool(tb).Exec(context.Background(), "DROP SCHEMA "+pgx.Identifier{name}.Sanitize()+" CASCADE"); err != nil {
			tb.Errorf("pgsessiontest: drop schema: %v", err)
		}
	})
	return name
}

// Pool opens a pool of its own (one per simulated node), closed when the test
// ends. tracer, if not nil, sees every query.
func Pool(tb testing.TB, tracer pgx.QueryTracer) *pgxpool.Pool {
	tb.Helper()
	return PoolWith(tb, func(cfg *pgxpool.Config) { cfg.ConnConfig.Tracer = tracer })
}

// PoolWith is Pool with its configuration changed by configure before the
// pool opens: a query mode, server settings (RuntimeParams), a tracer.
func PoolWith(tb testing.TB, configure func(*pgxpool.Config)) *pgxpool.Pool {
	tb.Helper()
	cfg, err := pgxpool.ParseConfig(DatabaseURL())
	if err != nil {
		tb.Fatalf("pgsessiontest: bad database URL: %v", err)
	}
	cfg.MaxConns = 8
	refuseListener(&cfg.ConnConfig.Config)
	configure(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err == nil {
		err = pool.Ping(ctx)
	}
	if err != nil {
		tb.Fatalf("pgsessiontest: PostgreSQL is not reachable at %s: %v", DatabaseURL(), err)
	}
	tb.Cleanup(pool.Close)
	return pool
}

// Database creates an empty database of its own and drops it when the test
// ends, returning its connection string. Tests whose result depends on what
// other sessions of the same database do (page pruning, and so HOT updates,
// waits for every transaction open in the database) use it to be alone.
func Database(tb testing.TB) string {
	tb.Helper()
	var b [6]byte
	rand.Read(b[:])
	name := "pgst_db_" + hex.EncodeToString(b[:])
	pool := AdminPool(tb)
	if _, err := pool.Exec(context.Background(), "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		tb.Fatalf("pgsessiontest: create database: %v", err)
	}
	tb.Cleanup(func() {
		_, err := AdminPool(tb).Exec(context.Background(), "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
		if err != nil {
			tb.Errorf("pgsessiontest: drop database: %v", err)
		}
	})
	cfg, err := pgx.ParseConfig(DatabaseURL())
	if err != nil {
		tb.Fatalf("pgsessiontest: bad database URL: %v", err)
	}
	u := &url.URL{Scheme: "postgres", Host: net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))), Path: "/" + name}
	if cfg.Password != "" {
		u.User = url.UserPassword(cfg.User, cfg.Password)
	} else {
		u.User = url.User(cfg.User)
	}
	q := url.Values{}
	if cfg.TLSConfig == nil {
		q.Set("sslmode", "disable")
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// Serial skips the test unless PGSESSION_TEST_SERIAL is set, which
// scripts/test.sh does in a step of its own after the parallel run. It is
// for tests that need no other transaction open anywhere on the server:
// PostgreSQL's page pruning, and so HOT updates, may wait for any of them.
func Serial(tb testing.TB) {
	tb.Helper()
	if os.Getenv("PGSESSION_TEST_SERIAL") == "" {
		tb.Skip("runs in make test's serial step (PGSESSION_TEST_SERIAL=1): needs a server no other test is using")
	}
}
