package affinity_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession/affinity"
	"github.com/pgsession/pgsession/pgsessiontest"
)

// An import is one round trip when no row is in the way, two when one is
// (a rerun): the insert that leaves it alone, then the locked update.
func TestPostgresImportRoundTrips(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	rt := &pgsessiontest.RoundTrips{}
	s, _ := newPostgres(t, affinity.Config{}, rt)
	in := affinity.ImportEntry{SessionID: "s", WorkerID: "w", LastAccess: time.Now().Add(-time.Minute)}
	for _, want := range []struct {
		outcome affinity.ImportOutcome
		trips   int
	}{{affinity.ImportCreated, 1}, {affinity.ImportKept, 2}} {
		rt.Reset()
		_, outcome, err := s.Import(ctx, in)
		require.NoError(t, err)
		require.Equal(t, want.outcome, outcome)
		require.Equal(t, want.trips, rt.Count(), "%q", rt.Statements())
	}
}

// Expiry and the skew are judged by the database clock: a last access the
// node would call live is expired once the database's idle window is past.
func TestPostgresImportUsesTheDatabaseClock(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	s, _ := newPostgres(t, affinity.Config{IdleTimeout: time.Hour}, nil)
	var dbNow time.Time
	require.NoError(t, pgsessiontest.AdminPool(t).QueryRow(ctx, `SELECT now()`).Scan(&dbNow))
	_, _, err := s.Import(ctx, affinity.ImportEntry{SessionID: "s", WorkerID: "w", LastAccess: dbNow.Add(-time.Hour - time.Second)})
	require.ErrorIs(t, err, affinity.ErrExpired)
	_, _, err = s.Import(ctx, affinity.ImportEntry{SessionID: "s", WorkerID: "w", LastAccess: dbNow.Add(affinity.ImportSkew + time.Minute)})
	require.ErrorIs(t, err, affinity.ErrInvalidArgument)
}
