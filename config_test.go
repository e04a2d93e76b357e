package pgsession_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession"
)

// NodeID is written into lease rows (PostgreSQL text) and metric labels: a
// NodeID those cannot hold is a typed error at start, not a failure later.
func TestNodeIDIsValidated(t *testing.T) {
	t.Parallel()
	for _, id := range []string{strings.Repeat("n", 129), "bad\xffutf8", "nul\x00"} {
		cfg := testConfig()
		cfg.NodeID = id
		_, err := pgsession.NewMemory(nil, cfg)
		require.ErrorIs(t, err, pgsession.ErrInvalidConfig, "%q", id)
	}
	cfg := testConfig()
	cfg.NodeID = strings.Repeat("n", 128)
	m, err := pgsession.NewMemory(nil, cfg)
	require.NoError(t, err)
	require.Equal(t, cfg.NodeID, m.Config().NodeID)
	require.NoError(t, m.Close(context.Background()))
}

// ChangePollInterval takes a duration, or -1 to turn the change log's
// reading off; anything else below zero is a typed error at start.
func TestChangePollIntervalIsValidated(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.ChangePollInterval = -2
	_, err := pgsession.NewMemory(nil, cfg)
	require.ErrorIs(t, err, pgsession.ErrInvalidConfig)
	for _, d := range []time.Duration{-1, 0, 50 * time.Millisecond} {
		cfg.ChangePollInterval = d
		m, err := pgsession.NewMemory(nil, cfg)
		require.NoError(t, err, "%v", d)
		if d == 0 {
			require.Equal(t, 500*time.Millisecond, m.Config().ChangePollInterval, "the default")
		}
		require.NoError(t, m.Close(context.Background()))
	}
}
