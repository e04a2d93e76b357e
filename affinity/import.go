package affinity

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrExpired: Import was given an entry whose last access is already
// Config.IdleTimeout or more in the past, by the store's clock. Importing
// it would create an entry no method could see; nothing was written.
var ErrExpired = errors.New("entry already idle past the idle timeout")

// ImportSkew is how far ahead of the store's clock an imported last access
// may be: the clocks of the nodes that recorded it may run a little ahead.
// Anything further ahead is ErrInvalidArgument.
const ImportSkew = time.Minute

// ImportEntry is an entry recorded elsewhere (another session store, a
// backup), with the times it was recorded at.
type ImportEntry struct {
	// SessionID, WorkerID and UserSub are as for Store.Set.
	SessionID, WorkerID, UserSub string
	// Created is when the session was first pinned. Zero means LastAccess.
	// It may not be after LastAccess.
	Created time.Time
	// LastAccess is the last recorded access; required.
	LastAccess time.Time
}

// ImportOutcome says what Import did.
type ImportOutcome int

// Import outcomes.
const (
	// ImportCreated: there was no live entry; the imported one is now live.
	ImportCreated ImportOutcome = iota + 1
	// ImportUpdated: a live entry with an older last access was there; it
	// now has the imported worker, user and last access, the earlier of
	// the two Created times, and a new version.
	ImportUpdated
	// ImportKept: a live entry with the same or a later last access was
	// there; it was left as it was.
	ImportKept
)

func (o ImportOutcome) String() string {
	switch o {
	case ImportCreated:
		return "created"
	case ImportUpdated:
		return "updated"
	case ImportKept:
		return "kept"
	}
	return fmt.Sprintf("ImportOutcome(%d)", int(o))
}

// Importer is implemented by stores that can write an entry with its own
// times, which Set cannot: Set records an access by the store's clock. It
// exists to move entries from another store without resetting their idle
// clocks. Memory, Postgres and redisaffinity.Store implement it, and
// redisaffinity.Layered does when its primary does. It is part of this
// package's stable API.
//
// An entry is written whole or not at all, and whether it replaces a live
// one is decided atomically with the write. The newer record wins, judged
// by last access: a live entry is replaced only by an import with a later
// last access, so an import never overwrites fresher data (a pin the
// proxy made since), and importing the same entry again is ImportKept, so
// reruns are idempotent. An entry that expired but was not swept yet does
// not count: the import starts a new life (ImportCreated). Times are kept
// to the store's precision
// (microseconds in memory and PostgreSQL, milliseconds in Redis) and
// compared at it.
//
// Errors: ErrInvalidArgument for arguments Set would refuse, a zero last
// access, a Created after the last access, or a last access more than
// ImportSkew ahead of the store's clock; ErrExpired for an entry already
// idle past Config.IdleTimeout. Nothing is written then. Anything else is a
// fault, after which the entry may or may not have been written.
type Importer interface {
	// Import writes in, as described above, and returns the entry as it is
	// stored afterwards; on error, a zero Entry and outcome.
	Import(ctx context.Context, in ImportEntry) (Entry, ImportOutcome, error)
}

// CheckImport validates in as every Importer does before it looks at its
// clock, and returns it with Created filled and both times truncated to
// the microsecond (without monotonic clock readings).
func CheckImport(in ImportEntry) (ImportEntry, error) {
	if err := CheckPin(in.SessionID, in.WorkerID, in.UserSub); err != nil {
		return in, err
	}
	if in.LastAccess.IsZero() {
		return in, fmt.Errorf("%w: last access is required", ErrInvalidArgument)
	}
	if in.Created.IsZero() {
		in.Created = in.LastAccess
	}
	if in.Created.After(in.LastAccess) {
		return in, fmt.Errorf("%w: created %v is after last access %v", ErrInvalidArgument, in.Created, in.LastAccess)
	}
	in.Created = in.Created.Round(0).Truncate(time.Microsecond)
	in.LastAccess = in.LastAccess.Round(0).Truncate(time.Microsecond)
	return in, nil
}

// errFuture is the ErrInvalidArgument of a last access too far ahead.
func errFuture(lastAccess time.Time) error {
	return fmt.Errorf("%w: last access %v is more than %v ahead of the store's clock",
		ErrInvalidArgument, lastAccess, ImportSkew)
}
