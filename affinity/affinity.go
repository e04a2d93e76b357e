package affinity

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// Errors returned by every Store, wrapped with the operation's name
// ("affinity: touch: session not found"); match them with errors.Is.
// Anything else is a system fault (a database or Redis error, a timeout, a
// cancelled context), returned wrapped as it came: never ErrNotFound.
// Importer.Import adds ErrExpired (import.go).
var (
	// ErrNotFound means there is no live entry for that session: it was
	// never pinned, was deleted or swept, or has been idle for longer than
	// Config.IdleTimeout.
	ErrNotFound = errors.New("session not found")
	// ErrInvalidConfig: Config failed validation. Nothing was created.
	ErrInvalidConfig = errors.New("invalid config")
	// ErrInvalidArgument: a session or worker ID is empty, too long, or not
	// valid UTF-8 without NUL; or a user subject is too long or not valid
	// UTF-8 without NUL. Nothing was written.
	ErrInvalidArgument = errors.New("invalid argument")
)

// Limits on what a Store accepts.
const (
	// MaxSessionIDLength is the longest session ID, in bytes.
	MaxSessionIDLength = 1024
	// MaxWorkerIDLength is the longest worker ID, in bytes.
	MaxWorkerIDLength = 256
	// MaxUserSubLength is the longest user subject, in bytes.
	MaxUserSubLength = 1024
)

// Key identifies a session in every backend: the SHA-256 of its session ID.
// Stores keep only keys, never the session IDs themselves.
type Key [sha256.Size]byte

// KeyOf returns the key under which sessionID is stored.
func KeyOf(sessionID string) Key { return sha256.Sum256([]byte(sessionID)) }

// String returns the key in lower-case hex, as it appears in Redis key names.
func (k Key) String() string { return hex.EncodeToString(k[:]) }

// ParseKey reads a key written by Key.String.
func ParseKey(s string) (Key, error) {
	var k Key
	if len(s) != 2*len(k) {
		return k, fmt.Errorf("%w: key %q is not %d hex digits", ErrInvalidArgument, s, 2*len(k))
	}
	if _, err := hex.Decode(k[:], []byte(s)); err != nil {
		return k, fmt.Errorf("%w: key %q: %v", ErrInvalidArgument, s, err)
	}
	return k, nil
}

// Entry is the routing state of one session.
type Entry struct {
	// Key is the session's key (SHA-256 of its ID).
	Key Key
	// App is the application the entry belongs to (Config.App).
	App string
	// WorkerID is the backend worker the session is pinned to.
	WorkerID string
	// UserSub is the user bound to the session; empty when there is none.
	UserSub string
	// Created is when the session was first pinned, by the store's clock
	// (the database's for PostgreSQL, Redis's for Redis).
	Created time.Time
	// LastAccess is the last recorded access, by the store's clock. Touches
	// are recorded at most once per Config.TouchGranularity, so it may lag
	// the latest Touch by up to that much.
	LastAccess time.Time
	// Version grows with every Set and every reroute of the session. In the
	// memory and PostgreSQL stores it grows across the whole store, so a
	// session deleted and pinned again gets a higher version than before.
	Version int64
	// ExpiresIn is how long the entry stays live without another recorded
	// access, measured by the store's clock when the entry was read. A
	// cached copy may report less than its source would.
	ExpiresIn time.Duration
}

// Store keeps the worker affinity of browser sessions for a reverse proxy.
// Every method takes a context first and returns an error; ErrNotFound
// means "no live entry", every other error a system fault. Implementations
// are safe for concurrent use.
//
// Entries idle for longer than Config.IdleTimeout are invisible to every
// method at once, before any sweep removes them.
type Store interface {
	// Get returns the live entry of sessionID, or ErrNotFound.
	Get(ctx context.Context, sessionID string) (Entry, error)
	// Set pins sessionID to workerID, bound to userSub (which may be
	// empty): it creates the entry, or replaces the worker and user of a
	// live one (keeping its Created time). It records an access and
	// returns the entry as stored.
	Set(ctx context.Context, sessionID, workerID, userSub string) (Entry, error)
	// Touch records an access to a live entry and returns it. It is one
	// atomic step that never creates an entry: a session deleted or expired
	// before it lands gets ErrNotFound. Accesses are written at most once
	// per Config.TouchGranularity; touches in between only read.
	Touch(ctx context.Context, sessionID string) (Entry, error)
	// Delete removes the entry of sessionID; ErrNotFound if there was no
	// live one.
	Delete(ctx context.Context, sessionID string) error
	// DeleteByWorker removes every entry pinned to workerID and returns how
	// many live ones it removed. Its work is proportional to that worker's
	// entries.
	DeleteByWorker(ctx context.Context, workerID string) (int, error)
	// CountForWorker returns the number of live entries pinned to workerID.
	CountForWorker(ctx context.Context, workerID string) (int, error)
	// CountForWorkers returns the number of live entries pinned to any of
	// workerIDs.
	CountForWorkers(ctx context.Context, workerIDs []string) (int, error)
	// RerouteWorker pins every live entry of oldWorkerID to newWorkerID
	// (bumping each one's version) and returns how many moved.
	RerouteWorker(ctx context.Context, oldWorkerID, newWorkerID string) (int, error)
	// EntriesForWorker returns the live entries pinned to workerID, in no
	// particular order. Entries carry keys, not session IDs, which no store
	// keeps.
	EntriesForWorker(ctx context.Context, workerID string) ([]Entry, error)
	// SweepIdle removes the entries idle for longer than maxIdle, expired
	// ones included, and returns how many it removed. maxIdle <= 0, or
	// longer than Config.IdleTimeout, means Config.IdleTimeout: then it only
	// reclaims the space of entries that are already invisible.
	SweepIdle(ctx context.Context, maxIdle time.Duration) (int, error)
	// Config returns the configuration in force, every default filled.
	Config() Config
}

// KeySweeper is implemented by stores that can report which entries a sweep
// removed. A cache layered over such a store forgets exactly those entries
// rather than all it holds. Memory and Postgres implement it.
type KeySweeper interface {
	// SweepIdleKeys is SweepIdle returning the keys it removed.
	SweepIdleKeys(ctx context.Context, maxIdle time.Duration) ([]Key, error)
}

// CheckSessionID validates a session ID: 1 to MaxSessionIDLength bytes.
// Any bytes are allowed: only its hash is stored.
func CheckSessionID(sessionID string) error {
	if sessionID == "" || len(sessionID) > MaxSessionIDLength {
		return fmt.Errorf("%w: session id must be 1 to %d bytes", ErrInvalidArgument, MaxSessionIDLength)
	}
	return nil
}

// CheckWorkerID validates a worker ID: 1 to MaxWorkerIDLength bytes of
// UTF-8 without NUL.
func CheckWorkerID(workerID string) error {
	if workerID == "" || len(workerID) > MaxWorkerIDLength || !cleanText(workerID) {
		return fmt.Errorf("%w: worker id %q must be 1 to %d bytes of UTF-8 without NUL",
			ErrInvalidArgument, truncate(workerID), MaxWorkerIDLength)
	}
	return nil
}

// CheckUserSub validates a user subject: at most MaxUserSubLength bytes of
// UTF-8 without NUL; empty is allowed.
func CheckUserSub(userSub string) error {
	if len(userSub) > MaxUserSubLength || !cleanText(userSub) {
		return fmt.Errorf("%w: user subject must be at most %d bytes of UTF-8 without NUL",
			ErrInvalidArgument, MaxUserSubLength)
	}
	return nil
}

// CheckPin validates the arguments of Set.
func CheckPin(sessionID, workerID, userSub string) error {
	if err := CheckSessionID(sessionID); err != nil {
		return err
	}
	if err := CheckWorkerID(workerID); err != nil {
		return err
	}
	return CheckUserSub(userSub)
}

func cleanText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return false
		}
	}
	return true
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// Op wraps err with the store operation's name, keeping it matchable with
// errors.Is. It returns nil for nil. Store implementations outside this
// package use it so every backend reports errors the same way.
func Op(name string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("affinity: %s: %w", name, err)
}
