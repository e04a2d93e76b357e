package pgsessiontest

import (
	"context"
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// ListenerURL returns the connection string a node's listener uses:
// PGSESSION_TEST_LISTENER_URL, or DatabaseURL when that is not set.
func ListenerURL() string {
	if u := os.Getenv("PGSESSION_TEST_LISTENER_URL"); u != "" {
		return u
	}
	return DatabaseURL()
}

// ListenerServerAddr returns the host:port of ListenerURL's server, to put a
// Proxy in front of a listener.
func ListenerServerAddr(tb testing.TB) string {
	tb.Helper()
	cfg, err := pgx.ParseConfig(ListenerURL())
	if err != nil {
		tb.Fatalf("pgsessiontest: bad listener URL: %v", err)
	}
	return net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
}

// DirectListener reports whether PGSESSION_TEST_LISTENER_URL gives the
// listener a server of its own.
func DirectListener() bool { return os.Getenv("PGSESSION_TEST_LISTENER_URL") != "" }

// ListenerConnect returns a Config.ListenerConnect that connects to
// PGSESSION_TEST_LISTENER_URL with application name app (if not empty), or
// nil when that variable is not set: the listener then uses the pool's
// connection settings, as by default.
func ListenerConnect(tb testing.TB, app string) func(context.Context) (*pgx.Conn, error) {
	tb.Helper()
	if !DirectListener() {
		return nil
	}
	cfg, err := pgx.ParseConfig(ListenerURL())
	if err != nil {
		tb.Fatalf("pgsessiontest: bad PGSESSION_TEST_LISTENER_URL: %v", err)
	}
	if app != "" {
		cfg.RuntimeParams["application_name"] = app
	}
	return func(ctx context.Context) (*pgx.Conn, error) { return pgx.ConnectConfig(ctx, cfg.Copy()) }
}

// BehindPgBouncer reports whether PGSESSION_TEST_PGBOUNCER says the pools go
// through PgBouncer.
func BehindPgBouncer() bool { return os.Getenv("PGSESSION_TEST_PGBOUNCER") != "" }

// SkipBehindPgBouncer skips the test, giving why, when the pools go through
// PgBouncer.
func SkipBehindPgBouncer(tb testing.TB, why string) {
	tb.Helper()
	if BehindPgBouncer() {
		tb.Skip("skipped behind PgBouncer (PGSESSION_TEST_PGBOUNCER): " + why)
	}
}

// listenerPrefix starts the application_name New gives a listener that
// connects with its pool's settings.
const listenerPrefix = "pgsession-listener-"

// refuseListener makes connections made with cfg's settings fail, when the
// pools go through PgBouncer, if they are a listener's: LISTEN through
// PgBouncer in transaction mode seems to work but hears nothing reliably,
// so a test that forgot Config.ListenerConnect fails at New, saying so,
// rather than pass or fail for a reason that looks like something else.
func refuseListener(cfg *pgconn.Config) {
	if !BehindPgBouncer() {
		return
	}
	next := cfg.AfterConnect
	cfg.AfterConnect = func(ctx context.Context, conn *pgconn.PgConn) error {
		if strings.HasPrefix(conn.ParameterStatus("application_name"), listenerPrefix) {
			return errors.New("pgsessiontest: a listener is connecting through PgBouncer (PGSESSION_TEST_PGBOUNCER), where LISTEN cannot work: " +
				"give the test's Config a ListenerConnect (see pgsessiontest.ListenerConnect)")
		}
		if next != nil {
			return next(ctx, conn)
		}
		return nil
	}
}
