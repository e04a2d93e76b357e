package store

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// Lock errors.
var (
	ErrLockHeld     = errors.New("lock held by another owner")
	ErrLockNotHeld  = errors.New("lock not held by this owner")
	ErrLockExpired  = errors.New("lock lease expired")
	ErrLockNotFound = errors.New("no live session for the lock")
)

// LockRequest names a lease on (Session, Resource) for Owner.
type LockRequest struct {
	Session  ID
	Resource string
	Owner    string
	// Lease is how long the lease lasts from now: at acquire, and at least
	// that long at an extend, which never shortens it.
	Lease time.Duration
	Fence int64 // for extend and release: the token the owner got
}

// LockGrant is a lease the database granted, judged by its clock.
type LockGrant struct {
	Fence     int64
	ExpiresAt time.Time
}

// LockInfo describes a held lease.
type LockInfo struct {
	Resource   string
	Owner      string
	Fence      int64
	AcquiredAt time.Time
	// HeartbeatAt is the last acquire or extend of the lease.
	HeartbeatAt time.Time
	ExpiresAt   time.Time
}

// Locker is the lease part of a backend: each method is one round trip.
type Locker interface {
	AcquireLock(ctx context.Context, r LockRequest) (LockGrant, error)
	ExtendLock(ctx context.Context, r LockRequest) (LockGrant, error)
	ReleaseLock(ctx context.Context, r LockRequest) error
	ListLocks(ctx context.Context, session ID) ([]LockInfo, error)
	// GuardLock checks, inside the caller's transaction tx, that r's fence
	// is still the live lease and keeps it so until tx ends; ErrLockNotHeld
	// if it is gone. A backend that needs no transaction may ignore tx.
	GuardLock(ctx context.Context, tx Querier, r LockRequest) error
}

// Querier runs a query in the caller's transaction; pgx.Tx, pgx.Conn and
// pgxpool.Pool satisfy it.
type Querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// ErrNoTransaction: GuardLock needs the caller's transaction on this
// backend, and got none.
var ErrNoTransaction = errors.New("a transaction is required")
