package affinity_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
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
	var tr pgx.QueryTracer
	if tracer != nil {
		tr = tracer
	}
	pool, proxy := pgsessiontest.ProxiedPool(t, tr)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := affinity.NewPostgres(ctx, pool, cfg)
	require.NoError(t, err)
	if tracer != nil {
		tracer.Reset()
	}
	return s, proxy
}
