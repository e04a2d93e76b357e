package redisaffinity_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession/affinity"
	"github.com/pgsession/pgsession/affinity/redisaffinity"
	"github.com/pgsession/pgsession/pgsessiontest"
)

// defaultRedisURL is used when PGSESSION_TEST_REDIS_URL is not set.
const defaultRedisURL = "redis://127.0.0.1:6379/0"

// testCallTimeout is the Redis call timeout of the tests' stores.
const testCallTimeout = 200 * time.Millisecond

func redisURL() string {
	if u := os.Getenv("PGSESSION_TEST_REDIS_URL"); u != "" {
		return u
	}
	return defaultRedisURL
}

func redisOptions(tb testing.TB) *redis.Options {
	tb.Helper()
	opt, err := redis.ParseURL(redisURL())
	if err != nil {
		tb.Fatalf("bad Redis URL %q: %v", redisURL(), err)
	}
	opt.ContextTimeoutEnabled = true
	opt.DialTimeout = time.Second
	return opt
}

// newClient returns a client of the test Redis, through addr when it is
// not empty (a proxy), closed when the test ends. A Redis that does not
// answer fails the test.
func newClient(tb testing.TB, addr string) *redis.Client {
	tb.Helper()
	opt := redisOptions(tb)
	if addr != "" {
		opt.Addr = addr
	}
	c := redis.NewClient(opt)
	tb.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		tb.Fatalf("Redis is not reachable at %s (start it, or set PGSESSION_TEST_REDIS_URL): %v", redisURL(), err)
	}
	return c
}

// keyPrefix returns a key prefix of the test's own and deletes every key
// under it when the test ends.
func keyPrefix(tb testing.TB) string {
	tb.Helper()
	var b [6]byte
	rand.Read(b[:])
	prefix := "pgst:" + hex.EncodeToString(b[:]) + ":"
	direct := newClient(tb, "")
	tb.Cleanup(func() { deleteKeys(tb, direct, prefix) })
	return prefix
}

// deleteKeys deletes every key that starts with prefix.
func deleteKeys(tb testing.TB, c *redis.Client, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	var batch []string
	flush := func() {
		if len(batch) > 0 {
			if err := c.Unlink(ctx, batch...).Err(); err != nil {
				tb.Errorf("cleaning up Redis keys: %v", err)
			}
			batch = batch[:0]
		}
	}
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == 1000 {
			flush()
		}
	}
	flush()
	if err := iter.Err(); err != nil {
		tb.Errorf("scanning Redis keys: %v", err)
	}
}

// keysUnder lists the keys that start with prefix.
func keysUnder(t *testing.T, c *redis.Client, prefix string) []string {
	t.Helper()
	var out []string
	iter := c.Scan(context.Background(), 0, prefix+"*", 1000).Iterator()
	for iter.Next(context.Background()) {
		out = append(out, iter.Val())
	}
	require.NoError(t, iter.Err())
	return out
}

// redisAddr is the host:port of the test Redis.
func redisAddr(tb testing.TB) string { return redisOptions(tb).Addr }

// proxiedClient returns a client that reaches Redis through a
// fault-injection proxy.
func proxiedClient(t *testing.T) (*redis.Client, *pgsessiontest.Proxy) {
	t.Helper()
	proxy := pgsessiontest.NewProxy(t, redisAddr(t))
	return newClient(t, proxy.Addr()), proxy
}

// newPool opens a pool through a proxy to PostgreSQL.
func newPool(t *testing.T, tracer *pgsessiontest.RoundTrips) (*pgxpool.Pool, *pgsessiontest.Proxy) {
	t.Helper()
	var tr pgx.QueryTracer
	if tracer != nil {
		tr = tracer // a nil *RoundTrips must stay a nil interface
	}
	return pgsessiontest.ProxiedPool(t, tr)
}

// layeredNode is one node of a layered deployment: its own pool and Redis
// client, each through a proxy, on a shared schema and key prefix.
type layeredNode struct {
	store   *redisaffinity.Layered
	primary *affinity.Postgres
	pgProxy *pgsessiontest.Proxy
	rProxy  *pgsessiontest.Proxy
	client  *redis.Client
	trips   *pgsessiontest.RoundTrips
}

// cluster is the shared data of several layered nodes.
type cluster struct {
	cfg    affinity.Config // Schema is set
	prefix string
}

func newCluster(t *testing.T, cfg affinity.Config) *cluster {
	cfg.Schema = pgsessiontest.Schema(t)
	return &cluster{cfg: cfg, prefix: keyPrefix(t)}
}

func (c *cluster) node(t *testing.T) *layeredNode {
	t.Helper()
	n := &layeredNode{trips: &pgsessiontest.RoundTrips{}}
	pool, pgProxy := newPool(t, n.trips)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	primary, err := affinity.NewPostgres(ctx, pool, c.cfg)
	require.NoError(t, err)
	n.client, n.rProxy = proxiedClient(t)
	n.store, err = redisaffinity.NewLayered(primary, n.client, redisaffinity.Options{
		KeyPrefix:   c.prefix,
		CallTimeout: testCallTimeout,
		RetryAfter:  300 * time.Millisecond,
	})
	require.NoError(t, err)
	n.primary, n.pgProxy = primary, pgProxy
	n.trips.Reset()
	return n
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func newClientWith(tb testing.TB, opt *redis.Options) *redis.Client {
	c := redis.NewClient(opt)
	tb.Cleanup(func() { c.Close() })
	return c
}
