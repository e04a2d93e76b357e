package redisaffinity_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession/affinity"
	"github.com/pgsession/pgsession/affinity/affinitytest"
	"github.com/pgsession/pgsession/affinity/redisaffinity"
)

// The Redis store alone: a Redis that stops answering gives errors within
// the call timeout.
func TestRedisConformance(t *testing.T) {
	t.Parallel()
	affinitytest.Run(t, func(t *testing.T, cfg affinity.Config) affinitytest.Subject {
		client, proxy := proxiedClient(t)
		s, err := redisaffinity.NewStore(client, redisaffinity.Options{
			Config:      cfg,
			KeyPrefix:   keyPrefix(t),
			CallTimeout: testCallTimeout,
		})
		require.NoError(t, err)
		return affinitytest.Subject{
			Store: s,
			Outage: func() func() {
				proxy.Blackhole()
				return func() { proxy.Cut(); proxy.Pass() }
			},
			FailWithin: testCallTimeout + 300*time.Millisecond,
		}
	})
}

// Redis in front of PostgreSQL: a black-holed Redis is bypassed; a cut
// PostgreSQL gives errors.
func TestLayeredConformance(t *testing.T) {
	t.Parallel()
	affinitytest.Run(t, func(t *testing.T, cfg affinity.Config) affinitytest.Subject {
		n := newCluster(t, cfg).node(t)
		return affinitytest.Subject{
			Store: n.store,
			Outage: func() func() {
				n.pgProxy.Refuse()
				return n.pgProxy.Pass
			},
			CacheOutage: func() func() {
				n.rProxy.Blackhole()
				return func() { n.rProxy.Cut(); n.rProxy.Pass() }
			},
			FailWithin: testCallTimeout + 500*time.Millisecond,
		}
	})
}
