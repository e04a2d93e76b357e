package affinity_test

import (
	"context"
	"net"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession/affinity"
	"github.com/pgsession/pgsession/affinity/affinitytest"
	"github.com/pgsession/pgsession/pgsessiontest"
)

func TestMemoryConformance(t *testing.T) {
	t.Parallel()
	affinitytest.Run(t, func(t *testing.T, cfg affinity.Config) affinitytest.Subject {
		s, err := affinity.NewMemory(cfg)
		require.NoError(t, err)
		return affinitytest.Subject{Store: s}
	})
}

// The subtests share one schema, migrated once, each in an application of
// its own (every query filters by application): a schema and a migration
// per subtest would be a burst of DDL transactions that holds back page
// pruning for the other packages' tests running against the same database.
func TestPostgresConformance(t *testing.T) {
	t.Parallel()
	schema := pgsessiontest.Schema(t)
	var apps atomic.Int64
	affinitytest.Run(t, func(t *testing.T, cfg affinity.Config) affinitytest.Subject {
		cfg.Schema = schema
		if cfg.App == "" {
			cfg.App = "conformance-" + strconv.FormatInt(apps.Add(1), 10)
		}
		s, proxy := newPostgres(t, cfg, nil)
		return affinitytest.Subject{
			Store: s,
			Outage: func() func() {
				proxy.Refuse() // cuts every open connection and refuses new ones
				return proxy.Pass
			},
		}
	})
}

// newPostgres returns a store in a fresh schema whose pool reaches
// PostgreSQL through a fault-injection proxy.
func newPostgres(t *testing.T, cfg affinity.Config, tracer *pgsessiontest.RoundTrips) (*affinity.Postgres, *pgsessiontest.Proxy) {
	t.Helper()
	if cfg.Schema == "" {
		cfg.Schema = pgsessiontest.Schema(t)
	}
	pcfg, err := pgxpool.ParseConfig(pgsessiontest.DatabaseURL())
	require.NoError(t, err)
	proxy := pgsessiontest.NewProxy(t, net.JoinHostPort(pcfg.ConnConfig.Host, strconv.Itoa(int(pcfg.ConnConfig.Port))))
	host, port, err := net.SplitHostPort(proxy.Addr())
	require.NoError(t, err)
	p, err := strconv.Atoi(port)
	require.NoError(t, err)
	pcfg.ConnConfig.Host, pcfg.ConnConfig.Port = host, uint16(p)
	pcfg.ConnConfig.ConnectTimeout = 2 * time.Second
	pcfg.ConnConfig.Fallbacks = nil
	pcfg.MaxConns = 8
	if tracer != nil {
		pcfg.ConnConfig.Tracer = tracer
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	s, err := affinity.NewPostgres(ctx, pool, cfg)
	require.NoError(t, err)
	if tracer != nil {
		tracer.Reset()
	}
	return s, proxy
}
