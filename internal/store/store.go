// Package store defines the contract between the Manager and its backends
// (PostgreSQL and memory): the rows they keep and the operations they offer.
//
// Backends never validate user input (the Manager does that once) and never
// judge expiry by a node's clock: PostgreSQL uses its own clock, the memory
// backend the process clock, which is the only clock it has.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// IDSize is the length of a session ID: a SHA-256 digest of the secret.
const IDSize = 32

// ID identifies a session: SHA-256 of the session's secret.
type ID [IDSize]byte

// Errors a backend returns; the Manager wraps them with the operation name.
var (
	ErrNotFound          = errors.New("session not found")
	ErrVersionConflict   = errors.New("session version conflict")
	ErrTooManyAttributes = errors.New("too many attributes")
	ErrExists            = errors.New("session already exists")
	// ErrOutcomeUnknown wraps the error of a write that was sent but whose
	// reply never came: it may or may not have committed.
	ErrOutcomeUnknown = errors.New("outcome unknown: the write may have been applied")
)

// ConflictError is a version-check refusal that knows the current version.
type ConflictError struct{ Current int64 }

func (e *ConflictError) Error() string { return ErrVersionConflict.Error() }

// Is makes errors.Is(err, ErrVersionConflict) hold.
func (e *ConflictError) Is(target error) bool { return target == ErrVersionConflict }

// Attr is one stored attribute: its JSON encoding and, optionally, when it
// stops being visible (zero means never). Decoded memoizes the last typed
// decode so repeated reads of one snapshot decode once.
type Attr struct {
	Raw       json.RawMessage
	ExpiresAt time.Time
	Decoded   atomic.Pointer[any]
}

// Record is an immutable snapshot of a session row as a backend returned it.
// Now is the backend clock at the moment of the read; the Manager uses it,
// plus monotonic time elapsed since, to judge attribute expiry.
type Record struct {
	ID          ID
	UserID      string
	Version     int64
	CreatedAt   time.Time
	UpdatedAt   time.Time
	LastSeenAt  time.Time
	ExpiresAt   time.Time
	IdleTimeout time.Duration // zero: no idle expiry
	UserAgent   string
	IP          string
	// Attrs holds the attributes; read them through AttrMap, which decodes
	// them on first use when the backend left them encoded (Lazy).
	Attrs map[string]*Attr
	Lazy  *LazyAttrs
	Now   time.Time
	// ChangeSeq is the change-log row an update wrote (DESIGN C7), zero
	// for every other read or write and on backends without a log.
	ChangeSeq int64
}

// LazyAttrs keeps a row's attributes as the database sent them until
// something reads them: a write's result, or a miss whose caller reads
// nothing, then never pays for decoding.
type LazyAttrs struct {
	Raw, Expiry []byte
	Decode      func(raw, expiry []byte) map[string]*Attr
	once        sync.Once
	attrs       map[string]*Attr
}

// AttrMap returns the attributes, decoding them once if they are lazy.
func (r *Record) AttrMap() map[string]*Attr {
	if r.Lazy == nil {
		return r.Attrs
	}
	r.Lazy.once.Do(func() { r.Lazy.attrs = r.Lazy.Decode(r.Lazy.Raw, r.Lazy.Expiry) })
	return r.Lazy.attrs
}

// AttrBytes estimates the attributes' size without decoding them.
func (r *Record) AttrBytes() int {
	if r.Lazy != nil {
		return len(r.Lazy.Raw) + len(r.Lazy.Expiry)
	}
	n := 0
	for k, a := range r.Attrs {
		n += len(k) + len(a.Raw)
	}
	return n
}

// NewSession is what Create inserts.
type NewSession struct {
	ID          ID
	UserID      string
	Lifetime    time.Duration
	IdleTimeout time.Duration
	UserAgent   string
	IP          string
	Attrs       map[string]json.RawMessage
	// AttrTTL gives keys of Attrs that expire, each that long after the
	// insert, by the backend's clock; every duration is positive.
	AttrTTL    map[string]time.Duration
	MaxPerUser int // 0: no cap
}

// AttrWrite is one attribute a patch sets; TTL zero means no expiry.
type AttrWrite struct {
	Key string
	Raw json.RawMessage
	TTL time.Duration
}

// Patch is an update: keys to set and keys to remove, applied atomically to
// the live row as it is at the moment of the write (never to a stale copy).
type Patch struct {
	ID        ID
	Set       []AttrWrite
	Delete    []string
	IfVersion int64 // 0: no version check
	// KeysSince, if not 0, requires that none of the keys the patch sets or
	// deletes was written after that version.
	KeysSince     int64
	MaxAttributes int
	// Lifetime, if positive, moves the absolute deadline to now + Lifetime.
	Lifetime time.Duration
}

// Renewal moves a live session to a new ID, keeping its data.
type Renewal struct {
	OldID       ID
	NewID       ID
	SetUser     bool
	UserID      string
	Lifetime    time.Duration
	IdleTimeout time.Duration // zero keeps the old one
	// NoIdleTimeout turns idle expiry off (IdleTimeout is then ignored).
	NoIdleTimeout bool
	UserAgent     string // empty keeps the old one
	IP            string // empty keeps the old one
	MaxPerUser    int
}

// Touch records that a session was used Ago before the flush.
type Touch struct {
	ID  ID
	Ago time.Duration
}

// SweepBatch reports one sweep step.
type SweepBatch struct {
	Claimed bool // false: another node holds the sweep, or it is not due
	Scanned int
	Deleted int
	Trimmed int  // live sessions whose expired attributes were removed
	Done    bool // the pass reached the end of the table
}

// Backend is a session store. Every method is one round trip on PostgreSQL.
type Backend interface {
	Create(ctx context.Context, s NewSession) (*Record, []ID, error)
	Get(ctx context.Context, id ID) (*Record, error)
	Update(ctx context.Context, p Patch) (*Record, error)
	Delete(ctx context.Context, id ID) (bool, error)
	DeleteUser(ctx context.Context, userID string, except []ID) ([]ID, error)
	DeleteAll(ctx context.Context) (int, error)
	ListUser(ctx context.Context, userID string) ([]*Record, error)
	// Page returns up to limit live sessions with IDs above after, in ID order.
	Page(ctx context.Context, after ID, limit int) ([]*Record, error)
	Renew(ctx context.Context, r Renewal) (*Record, []ID, error)
	Touch(ctx context.Context, touches []Touch, granularity time.Duration) error
	// SweepBatch runs one step of the shared sweep for holder (the sweep
	// lease's owner: NodeID and instance name).
	SweepBatch(ctx context.Context, holder string, batch int, lease, interval time.Duration) (SweepBatch, error)
	// DropUserCache tells every node to forget a user's cached sessions.
	DropUserCache(ctx context.Context, userID string) error
	// Announce sends payloads (internal/notify's format) to every node, in
	// one commit: how a node's announcer tells the others about updates.
	Announce(ctx context.Context, payloads []string) error
	Locker
	Close()
}
