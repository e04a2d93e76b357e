package pgsession_test

import (
	"context"
	"strings"
	"testing"

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
