package postgres

import (
	"context"
	"crypto/sha256"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession/internal/store"
	"github.com/pgsession/pgsession/pgsessiontest"
)

// withSettings sets server settings on every connection of a pool.
func withSettings(params map[string]string, tracer pgx.QueryTracer) func(*pgxpool.Config) {
	return func(cfg *pgxpool.Config) {
		for k, v := range params {
			cfg.ConnConfig.RuntimeParams[k] = v
		}
		cfg.ConnConfig.Tracer = tracer
	}
}

// touchOutcomes records, for each touch statement, whether PostgreSQL
// ended it as a deadlock's victim.
type touchOutcomes struct {
	mu         sync.Mutex
	deadlocked []bool
}

type touchKey struct{}

func (o *touchOutcomes) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	return context.WithValue(ctx, touchKey{}, strings.Contains(d.SQL, "SET last_seen_at"))
}

func (o *touchOutcomes) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryEndData) {
	if touch, _ := ctx.Value(touchKey{}).(bool); touch {
		o.mu.Lock()
		o.deadlocked = append(o.deadlocked, isDeadlock(d.Err))
		o.mu.Unlock()
	}
}

// A last-access write that PostgreSQL ends as the victim of a deadlock is
// sent again at once, and succeeds. The deadlock is made on purpose: the
// touch of [A, B] holds A and waits for B, which another transaction holds
// and which then asks for A. The touch's connection checks for deadlocks
// first (deadlock_timeout 300ms against 20s), so it is the one PostgreSQL
// ends.
func TestTouchRetriesADeadlock(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	names, err := NewNames(pgsessiontest.Schema(t), "pgsession_")
	require.NoError(t, err)
	tr := &touchOutcomes{}
	toucher := pgsessiontest.PoolWith(t, withSettings(map[string]string{"deadlock_timeout": "300ms"}, tr))
	other := pgsessiontest.PoolWith(t, withSettings(map[string]string{"deadlock_timeout": "20s"}, nil))
	_, err = Sessions.Migrate(ctx, toucher, names, Sessions.LatestVersion(names), true)
	require.NoError(t, err)
	b := New(toucher, names, false)

	ids := []store.ID{sha256.Sum256([]byte("a")), sha256.Sum256([]byte("b"))}
	slices.SortFunc(ids, func(x, y store.ID) int { return slices.Compare(x[:], y[:]) })
	a, bID := ids[0], ids[1]
	for _, id := range ids {
		_, _, err := b.Create(ctx, store.NewSession{ID: id, Lifetime: time.Hour})
		require.NoError(t, err)
	}
	table := pgx.Identifier{names.Schema, "pgsession_sessions"}.Sanitize()
	_, err = other.Exec(ctx, `UPDATE `+table+` SET last_seen_at = now() - interval '1 hour'`)
	require.NoError(t, err)

	tx, err := other.Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(ctx)
	_, err = tx.Exec(ctx, `SELECT 1 FROM `+table+` WHERE id = $1 FOR UPDATE`, bID[:])
	require.NoError(t, err)

	done := make(chan error, 1)
	go func() {
		done <- b.Touch(ctx, []store.Touch{{ID: a}, {ID: bID}}, 0)
	}()
	// Once the touch waits for B (holding A), ask for A.
	require.Eventually(t, func() bool {
		var n int
		err := other.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE wait_event_type = 'Lock' AND query LIKE '%last_seen_at = now()%' AND pid <> pg_backend_pid()`).Scan(&n)
		return err == nil && n == 1
	}, 10*time.Second, 5*time.Millisecond)
	_, err = tx.Exec(ctx, `UPDATE `+table+` SET user_agent = 'x' WHERE id = $1`, a[:])
	require.NoError(t, err, "the touch, not this transaction, is the deadlock's victim")
	require.NoError(t, tx.Commit(ctx))

	require.NoError(t, <-done, "the touch is sent again after the deadlock")
	tr.mu.Lock()
	require.Equal(t, []bool{true, false}, tr.deadlocked, "a touch ended by the deadlock, then one that succeeded")
	tr.mu.Unlock()
	var moved int
	require.NoError(t, other.QueryRow(ctx, `SELECT count(*) FROM `+table+` WHERE last_seen_at > now() - interval '1 minute'`).Scan(&moved))
	require.Equal(t, 2, moved, "both touches written")
}
