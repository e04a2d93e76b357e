package pgsession_test

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/pgsessiontest"
)

// WithAttrTTL stores initial attributes' expiry with the insert itself: one
// round trip, with or without the per-user cap, seen alike by other nodes,
// judged like a patch's TTL, and trimmed by the sweep.
func TestCreateWithAttributeTTLs(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		cfg := testConfig()
		cfg.MaxSessionsPerUser = 3
		a, rt := c.tracedNode(cfg)
		b := c.node(cfg)
		ttl := 300 * time.Millisecond

		for _, user := range []string{"", "ada"} { // uncapped and capped statements
			if rt != nil {
				rt.Reset()
			}
			s, err := a.Create(ctx, user, map[string]any{"otp": "123456", "keep": 1, "forever": true},
				pgsession.WithAttrTTL("otp", ttl), pgsession.WithAttrTTL("forever", 0))
			require.NoError(t, err)
			if rt != nil {
				require.Equal(t, 1, rt.Count(), "one round trip: %v", rt.Statements())
			}
			exp, ok := s.AttrExpiresAt("otp")
			require.True(t, ok)
			require.WithinDuration(t, s.CreatedAt().Add(ttl), exp, time.Millisecond)
			for _, k := range []string{"keep", "forever"} {
				exp, ok := s.AttrExpiresAt(k)
				require.True(t, ok)
				require.True(t, exp.IsZero(), "%s does not expire", k)
			}
			if c.kind == "postgres" {
				var stored string
				id := s.ID()
				require.NoError(t, pgsessiontest.AdminPool(t).QueryRow(ctx, "SELECT attr_expiry::text FROM "+
					sessionsTable(c.schema)+" WHERE id = $1", id[:]).Scan(&stored))
				require.JSONEq(t, `{"otp": `+strconv.FormatInt(exp.UnixMilli(), 10)+`}`, stored, "the insert wrote attr_expiry")
			}

			other, err := b.GetByID(ctx, s.ID())
			require.NoError(t, err)
			got, _ := other.AttrExpiresAt("otp")
			require.True(t, got.Equal(exp), "%v != %v", got, exp)

			time.Sleep(ttl + 50*time.Millisecond)
			fresh, err := b.GetByID(ctx, s.ID(), pgsession.ForceRefresh())
			require.NoError(t, err)
			require.Equal(t, []string{"forever", "keep"}, fresh.Keys(), "otp expired")
			require.Equal(t, 3, c.storedAttrCount(t, s.ID()))
			_, err = a.Sweep(ctx)
			require.NoError(t, err)
			require.Equal(t, 2, c.storedAttrCount(t, s.ID()), "the sweep reads the expiry the insert stored")
		}
	})
}

// A TTL for a key Create does not set is a typed error and creates
// nothing; Renew, which keeps attributes as they are, refuses TTLs.
func TestCreateAttributeTTLMistakes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		m := c.node(testConfig())
		_, err := m.Create(ctx, "", map[string]any{"a": 1}, pgsession.WithAttrTTL("b", time.Minute))
		require.ErrorIs(t, err, pgsession.ErrAttributeNotFound)
		_, err = m.Create(ctx, "", nil, pgsession.WithAttrTTL("a", time.Minute))
		require.ErrorIs(t, err, pgsession.ErrAttributeNotFound)
		require.Zero(t, c.rowCount(t))

		s, err := m.Create(ctx, "", map[string]any{"a": 1})
		require.NoError(t, err)
		_, err = m.Renew(ctx, s.ID(), pgsession.WithAttrTTL("a", time.Minute))
		require.ErrorIs(t, err, errors.ErrUnsupported)
		got, err := m.Get(ctx, s.Token(), pgsession.ForceRefresh())
		require.NoError(t, err, "the refused renewal changed nothing")
		require.Equal(t, s.Version(), got.Version())
	})
}
