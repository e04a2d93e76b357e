package pgsession_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession"
)

// Renew with WithIdleTimeout(-1) turns idle expiry off, as Create does;
// before, both backends read it as "keep the session's own", so idle
// expiry could never be turned off after creation.
func TestRenewCanTurnIdleExpiryOff(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		m := c.node(testConfig())
		const idle = 300 * time.Millisecond
		s, err := m.Create(ctx, "u", nil, pgsession.WithIdleTimeout(idle))
		require.NoError(t, err)
		r, err := m.Renew(ctx, s.ID(), pgsession.WithIdleTimeout(-1))
		require.NoError(t, err)
		time.Sleep(2 * idle)
		got, err := m.Get(ctx, r.Token(), pgsession.ForceRefresh())
		require.NoError(t, err, "idle expiry is off")
		require.Equal(t, r.ID(), got.ID())

		kept, err := m.Create(ctx, "u", nil, pgsession.WithIdleTimeout(idle))
		require.NoError(t, err)
		k, err := m.Renew(ctx, kept.ID()) // keeps its own idle timeout
		require.NoError(t, err)
		time.Sleep(2 * idle)
		_, err = m.Get(ctx, k.Token(), pgsession.ForceRefresh())
		require.ErrorIs(t, err, pgsession.ErrNotFound, "a renewal without the option keeps idle expiry")
	})
}
