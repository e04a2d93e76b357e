package pgsessiontest

import (
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ProxiedPool opens a pool (closed when the test ends) that reaches the
// test database through a Proxy of its own, for tests that cut or black-hole
// a node's connections. tracer, if not nil, sees every query. Connections
// time out after 2 s, so a test of an outage does not hang.
func ProxiedPool(tb testing.TB, tracer pgx.QueryTracer) (*pgxpool.Pool, *Proxy) {
	tb.Helper()
	return ProxiedPoolWith(tb, func(cfg *pgxpool.Config) { cfg.ConnConfig.Tracer = tracer })
}

// ProxiedPoolWith is ProxiedPool with its configuration changed by
// configure before the pool opens.
func ProxiedPoolWith(tb testing.TB, configure func(*pgxpool.Config)) (*pgxpool.Pool, *Proxy) {
	tb.Helper()
	var proxy *Proxy
	pool := PoolWith(tb, func(cfg *pgxpool.Config) {
		proxy = NewProxy(tb, net.JoinHostPort(cfg.ConnConfig.Host, strconv.Itoa(int(cfg.ConnConfig.Port))))
		host, port, _ := net.SplitHostPort(proxy.Addr())
		p, _ := strconv.Atoi(port)
		cfg.ConnConfig.Host, cfg.ConnConfig.Port = host, uint16(p)
		cfg.ConnConfig.ConnectTimeout = 2 * time.Second
		cfg.ConnConfig.Fallbacks = nil
		configure(cfg)
	})
	return pool, proxy
}
