package postgres

import (
	"context"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession/internal/store"
	"github.com/pgsession/pgsession/pgsessiontest"
)

// Every committed update leaves one row in the change log, in its own
// statement; refusals leave none; old rows are pruned once per lease.
func TestUpdatesAreLoggedAndOldRowsPruned(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, pool, names := migratedBackend(t, ctx)

	start, err := b.ChangesStart(ctx, 0)
	require.NoError(t, err)
	id := store.ID(sha256.Sum256([]byte("logged")))
	_, _, err = b.Create(ctx, store.NewSession{ID: id, Lifetime: time.Hour})
	require.NoError(t, err)
	set := []store.AttrWrite{{Key: "k", Raw: []byte(`1`)}}
	lean, err := b.Update(ctx, store.Patch{ID: id, Set: set, MaxAttributes: 10}) // lean statement
	require.NoError(t, err)
	full, err := b.Update(ctx, store.Patch{ID: id, Set: set, IfVersion: 2, MaxAttributes: 10}) // full statement
	require.NoError(t, err)
	_, err = b.Update(ctx, store.Patch{ID: id, Set: set, IfVersion: 2, MaxAttributes: 10}) // refused
	require.ErrorIs(t, err, store.ErrVersionConflict)

	rows, err := b.ChangesSince(ctx, start, nil, 100)
	require.NoError(t, err)
	require.Len(t, rows, 2, "one row per committed update, none for the refusal or the create")
	require.Equal(t, id, rows[0].ID)
	require.Equal(t, []int64{2, 3}, []int64{rows[0].Version, rows[1].Version})
	require.Less(t, rows[0].Seq, rows[1].Seq)
	require.Equal(t, []int64{rows[0].Seq, rows[1].Seq}, []int64{lean.ChangeSeq, full.ChangeSeq},
		"each update returns the number of the row it logged, which its announcement carries")

	again, err := b.ChangesSince(ctx, rows[1].Seq, []int64{rows[0].Seq}, 100)
	require.NoError(t, err)
	require.Equal(t, rows[:1], again, "a gap asked for again is returned, nothing past the cursor")

	_, err = pool.Exec(ctx, "UPDATE "+names.Table("changes")+" SET at = now() - interval '1 hour' WHERE seq = $1", rows[0].Seq)
	require.NoError(t, err)
	n, err := b.PruneChanges(ctx, time.Minute, time.Minute)
	require.NoError(t, err)
	require.Equal(t, 1, n, "only the old row goes")
	_, err = pool.Exec(ctx, "UPDATE "+names.Table("changes")+" SET at = now() - interval '1 hour'")
	require.NoError(t, err)
	n, err = b.PruneChanges(ctx, time.Minute, time.Minute)
	require.NoError(t, err)
	require.Zero(t, n, "pruned at most once per lease, whichever node asks")

	next, err := b.ChangesStart(ctx, time.Minute)
	require.NoError(t, err)
	require.Equal(t, rows[1].Seq, next, "a new reader starts past rows older than the lag")
}

// migratedBackend is a backend on a fresh, migrated schema of its own.
func migratedBackend(t *testing.T, ctx context.Context) (*Backend, *pgxpool.Pool, *Names) {
	t.Helper()
	names, err := NewNames(pgsessiontest.Schema(t), "pgsession_")
	require.NoError(t, err)
	pool := pgsessiontest.Pool(t, nil)
	_, err = Sessions.Migrate(ctx, pool, names, Sessions.LatestVersion(names), true)
	require.NoError(t, err)
	return New(pool, names, false), pool, names
}
