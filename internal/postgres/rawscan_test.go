package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession/internal/store"
	"github.com/pgsession/pgsession/pgsessiontest"
)

// The direct decoder reads exactly what pgx's Scan reads, is the path taken
// with pgx's default query mode, and gives way to Scan when the columns
// come as text (a pool in simple-protocol mode, as behind PgBouncer).
func TestDecodeRowMatchesScan(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, pool, names := migratedBackend(t, ctx)

	// One session with every column set, one with an idle timeout of NULL
	// and nothing else; the first also gets an attribute with an expiry.
	full := store.NewSession{ID: sha256.Sum256([]byte("full")), UserID: "kim", Lifetime: time.Hour,
		IdleTimeout: 90 * time.Minute, UserAgent: "Firefox", IP: "192.0.2.1",
		Attrs: map[string]json.RawMessage{"cart": json.RawMessage(`[1,2,{"x":"é"}]`), "n": json.RawMessage(`7`)}}
	// Its deadline is past 2292, beyond what a time.Duration from 2000 spans.
	bare := store.NewSession{ID: sha256.Sum256([]byte("bare")), Lifetime: time.Duration(1<<63 - 1)}
	for _, s := range []store.NewSession{full, bare} {
		_, _, err := b.Create(ctx, s)
		require.NoError(t, err)
	}
	_, err := b.Update(ctx, store.Patch{ID: full.ID, MaxAttributes: 64,
		Set: []store.AttrWrite{{Key: "flash", Raw: json.RawMessage(`"hi"`), TTL: time.Minute}}})
	require.NoError(t, err)

	simple := pgsessiontest.PoolWith(t, func(cfg *pgxpool.Config) {
		cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	})
	bs := New(simple, names, false)

	for _, id := range []store.ID{full.ID, bare.ID} {
		rows, err := pool.Query(ctx, b.getSQL, id[:])
		require.NoError(t, err)
		require.True(t, rows.Next())
		fast, err := decodeRow(rows.FieldDescriptions(), rows.RawValues())
		rows.Close()
		require.NoError(t, err, "the default query mode takes the direct path")

		scanned, err := scanRecord(pool.QueryRow(ctx, b.getSQL, id[:]))
		require.NoError(t, err)
		viaSimple, err := bs.Get(ctx, id)
		require.NoError(t, err, "simple protocol falls back to Scan")
		viaGet, err := b.Get(ctx, id)
		require.NoError(t, err)
		for _, got := range []*store.Record{fast, viaSimple, viaGet} {
			sameRecord(t, scanned, got)
		}
	}
}

// sameRecord compares two reads of one row (their Now differs).
func sameRecord(t *testing.T, want, got *store.Record) {
	t.Helper()
	require.Equal(t, want.ID, got.ID)
	require.Equal(t, want.UserID, got.UserID)
	require.Equal(t, want.Version, got.Version)
	for i, pair := range [][2]time.Time{{want.CreatedAt, got.CreatedAt}, {want.UpdatedAt, got.UpdatedAt},
		{want.LastSeenAt, got.LastSeenAt}, {want.ExpiresAt, got.ExpiresAt}} {
		require.True(t, pair[0].Equal(pair[1]), "time %d: %v != %v", i, pair[0], pair[1])
	}
	require.WithinDuration(t, want.Now, got.Now, 5*time.Second)
	require.Equal(t, want.IdleTimeout, got.IdleTimeout)
	require.Equal(t, want.UserAgent, got.UserAgent)
	require.Equal(t, want.IP, got.IP)
	wa, ga := want.AttrMap(), got.AttrMap()
	require.Len(t, ga, len(wa))
	for k, a := range wa {
		require.Contains(t, ga, k)
		require.JSONEq(t, string(a.Raw), string(ga[k].Raw), k)
		require.True(t, a.ExpiresAt.Equal(ga[k].ExpiresAt), k)
	}
}

// timestamptz reads the whole range PostgreSQL stores, before 2000 (a
// negative count) and up to its latest year, 294276, where adding the
// epoch offset in microseconds would overflow.
func TestTimestamptzRange(t *testing.T) {
	enc := func(us int64) []byte {
		b := make([]byte, 8)
		binary.BigEndian.PutUint64(b, uint64(us))
		return b
	}
	for _, c := range []struct {
		us   int64
		want time.Time
	}{
		{0, time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)},
		{-1, time.Date(1999, 12, 31, 23, 59, 59, 999999000, time.UTC)},
		{1_500_001, time.Date(2000, 1, 1, 0, 0, 1, 500001000, time.UTC)},
		// 294276-12-31 23:59:59.999999 UTC, PostgreSQL's last timestamptz.
		{9_223_371_331_199_999_999, time.Date(294276, 12, 31, 23, 59, 59, 999999000, time.UTC)},
	} {
		got, ok := timestamptz(enc(c.us))
		require.True(t, ok, c.us)
		require.True(t, got.Equal(c.want), "%d: %v, want %v", c.us, got, c.want)
	}
	for _, inf := range []int64{1<<63 - 1, -1 << 63} {
		_, ok := timestamptz(enc(inf))
		require.False(t, ok, "infinity goes to Scan")
	}
}
