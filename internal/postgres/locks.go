package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgsession/pgsession/internal/store"
)

// Leases (DESIGN M3): each operation is one statement judged by the
// database clock (clock_timestamp(), which moves within a transaction); the
// node never sends a time. Fencing tokens come from one sequence, so they
// only grow.

// sqlAcquireLock takes a free or expired lease, for a live session only,
// and says in the same round trip why it could not. One reading of the
// clock sets the acquire, the heartbeat and the expiry, so expires_at is
// exactly heartbeat_at plus the lease.
var sqlAcquireLock = `WITH ins AS (
    INSERT INTO {{locks}} AS l (session_id, resource, owner, fence, acquired_at, heartbeat_at, expires_at)
    SELECT $1, $2, $3, nextval('{{lock_fence}}'), c.t, c.t, c.t + $4::interval
    FROM (SELECT clock_timestamp() AS t) c
    WHERE EXISTS (SELECT 1 FROM {{sessions}} s WHERE s.id = $1 AND ` + live + `)
    ON CONFLICT (session_id, resource) DO UPDATE
        SET owner = excluded.owner, fence = excluded.fence, acquired_at = excluded.acquired_at,
            heartbeat_at = excluded.heartbeat_at, expires_at = excluded.expires_at
        WHERE l.expires_at <= clock_timestamp()
    RETURNING l.fence, l.expires_at
)
SELECT (SELECT fence FROM ins), (SELECT expires_at FROM ins),
    EXISTS (SELECT 1 FROM {{sessions}} s WHERE s.id = $1 AND ` + live + `)`

// sqlExtendLock records a heartbeat and makes the lease last at least $4
// from now. It never shortens it: a long extension (Lock.ExtendFor) is not
// cut back by the next heartbeat of the configured lease, so the holder's
// deadline, which only moves forward, never passes the database's. The
// fence is the one the lease was granted with, unchanged.
const sqlExtendLock = `WITH u AS (
    UPDATE {{locks}} l SET heartbeat_at = c.t, expires_at = greatest(l.expires_at, c.t + $4::interval)
    FROM (SELECT clock_timestamp() AS t) c
    WHERE l.session_id = $1 AND l.resource = $2 AND l.owner = $3 AND l.fence = $5
        AND l.expires_at > c.t
    RETURNING l.expires_at
)
SELECT (SELECT expires_at FROM u),
    EXISTS (SELECT 1 FROM {{locks}} l WHERE l.session_id = $1 AND l.resource = $2 AND l.fence = $5)`

const sqlReleaseLock = `DELETE FROM {{locks}} WHERE session_id = $1 AND resource = $2 AND owner = $3 AND fence = $4`

// sqlListLocks lists a session's live leases. A lease taken or extended by
// a node that predates the heartbeat column (migration 005) has it NULL or
// older than its acquire, so the later of the two is reported (greatest
// ignores NULL).
const sqlListLocks = `SELECT resource, owner, fence, acquired_at, greatest(heartbeat_at, acquired_at), expires_at
FROM {{locks}} WHERE session_id = $1 AND expires_at > clock_timestamp() ORDER BY resource`

// sqlGuardLock, run in the caller's transaction, checks that a fence is
// still the live lease and holds the row (FOR SHARE) so no one can take the
// lease over until that transaction ends.
const sqlGuardLock = `SELECT 1 FROM {{locks}}
WHERE session_id = $1 AND resource = $2 AND fence = $3 AND expires_at > clock_timestamp() FOR SHARE`

// AcquireLock tries once to take the lease.
func (b *Backend) AcquireLock(ctx context.Context, r store.LockRequest) (store.LockGrant, error) {
	var fence *int64
	var expires *time.Time
	var sessionLive bool
	err := b.pool.QueryRow(ctx, b.lockSQL.acquire, r.Session[:], r.Resource, r.Owner, interval(r.Lease)).
		Scan(&fence, &expires, &sessionLive)
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &pgErr) && pgErr.Code == "23503": // the session went away under us
		return store.LockGrant{}, store.ErrLockNotFound
	case err != nil:
		return store.LockGrant{}, err
	case fence != nil:
		return store.LockGrant{Fence: *fence, ExpiresAt: *expires}, nil
	case !sessionLive:
		return store.LockGrant{}, store.ErrLockNotFound
	default:
		return store.LockGrant{}, store.ErrLockHeld
	}
}

// ExtendLock renews the lease for at least r.Lease from now, by the
// database clock.
func (b *Backend) ExtendLock(ctx context.Context, r store.LockRequest) (store.LockGrant, error) {
	var expires *time.Time
	var ours bool
	err := b.pool.QueryRow(ctx, b.lockSQL.extend, r.Session[:], r.Resource, r.Owner,
		interval(r.Lease), r.Fence).Scan(&expires, &ours)
	switch {
	case err != nil:
		return store.LockGrant{}, err
	case expires != nil:
		return store.LockGrant{Fence: r.Fence, ExpiresAt: *expires}, nil
	case ours:
		return store.LockGrant{}, store.ErrLockExpired
	default:
		return store.LockGrant{}, store.ErrLockNotHeld
	}
}

// ReleaseLock ends the lease; only its owner can.
func (b *Backend) ReleaseLock(ctx context.Context, r store.LockRequest) error {
	tag, err := b.pool.Exec(ctx, b.lockSQL.release, r.Session[:], r.Resource, r.Owner, r.Fence)
	if err == nil && tag.RowsAffected() == 0 {
		return store.ErrLockNotHeld
	}
	return err
}

// ListLocks returns the live leases of a session.
func (b *Backend) ListLocks(ctx context.Context, session store.ID) ([]store.LockInfo, error) {
	rows, err := b.pool.Query(ctx, b.lockSQL.list, session[:])
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.LockInfo, error) {
		var li store.LockInfo
		err := row.Scan(&li.Resource, &li.Owner, &li.Fence, &li.AcquiredAt, &li.HeartbeatAt, &li.ExpiresAt)
		return li, err
	})
}

// GuardSQL is the statement a caller runs in its own transaction to check
// a fence (see sqlGuardLock).
func (b *Backend) GuardSQL() string { return b.lockSQL.guard }

// GuardLock runs the guard in tx: the lease row, locked until tx ends, or
// ErrLockNotHeld when it is no longer r's.
func (b *Backend) GuardLock(ctx context.Context, tx store.Querier, r store.LockRequest) error {
	if tx == nil {
		return store.ErrNoTransaction
	}
	var one int
	err := tx.QueryRow(ctx, b.lockSQL.guard, r.Session[:], r.Resource, r.Fence).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrLockNotHeld
	}
	return err
}
