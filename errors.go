package pgsession

import (
	"errors"

	"github.com/pgsession/pgsession/internal/store"
)

// Errors returned by the Manager, always wrapped with the name of the
// operation ("pgsession: update: session version conflict"); match them with
// errors.Is. Anything else is a system fault (a database error, a cancelled
// context) and is returned wrapped as it came.
var (
	// ErrNotFound means there is no live session for that token or ID: it never
	// existed, was deleted or renewed, or has expired. For an application it
	// means "no session", never a server error.
	ErrNotFound = store.ErrNotFound
	// ErrVersionConflict is returned by a version-checked update (IfVersion)
	// when the session changed since the caller read it.
	ErrVersionConflict = store.ErrVersionConflict
	// ErrTooManyAttributes: the update would leave more attributes than
	// Config.MaxAttributes. Nothing was written.
	ErrTooManyAttributes = store.ErrTooManyAttributes
	// ErrSessionExists: CreateWithToken was given the token of an existing
	// session. Nothing was changed.
	ErrSessionExists = store.ErrExists
	// ErrAttributeTooLarge: a value's JSON encoding is longer than
	// Config.MaxAttributeSize. Nothing was written.
	ErrAttributeTooLarge = errors.New("attribute too large")
	// ErrInvalidKey: an attribute key is empty, longer than
	// Config.MaxKeyLength, or not valid UTF-8 without NUL.
	ErrInvalidKey = errors.New("invalid attribute key")
	// ErrInvalidValue: a value cannot be encoded as JSON, or is JSON that
	// PostgreSQL's jsonb cannot store: invalid UTF-8, a NUL (\u0000), an
	// unpaired surrogate escape, or a number outside numeric's range (more
	// than 131072 digits before the point or 16383 after). Every backend
	// refuses it before writing anything.
	ErrInvalidValue = errors.New("invalid attribute value")
	// ErrInvalidUserID: a user ID is longer than 256 bytes or not valid UTF-8
	// without NUL, or is empty where a user is required.
	ErrInvalidUserID = errors.New("invalid user id")
	// ErrAttributeNotFound: the session has no live attribute with that key.
	ErrAttributeNotFound = errors.New("attribute not found")
	// ErrInvalidConfig: Config failed validation (for example a schema name
	// that is not a plain identifier). Nothing was created.
	ErrInvalidConfig = errors.New("invalid config")
	// ErrSchemaVersion: with ManualMigrations, the database schema is not the
	// version this code needs. Run the migrations (pgsession migrate up).
	ErrSchemaVersion = errors.New("schema version mismatch")
	// ErrOutcomeUnknown: an update was sent but its reply was lost (the
	// connection broke, or the context ended while waiting): it may or may
	// not have been applied. It wraps the cause. The node has dropped its
	// copy and told the other nodes, so the next read shows which; if the
	// update did commit, every node honours it within the fault bound.
	ErrOutcomeUnknown = store.ErrOutcomeUnknown
	// ErrClosed: the Manager was closed.
	ErrClosed = errors.New("manager closed")
	// ErrEventsOff: Subscribe on a Manager without Config.Events.
	ErrEventsOff = errors.New("session events are off (Config.Events)")
)

// ConflictError is how a version-checked update (IfVersion,
// IfKeysUnchanged) is refused when the session changed: Current is the
// session's version at that moment, so the caller can read at least that
// version (MinVersion(ce.Current)) before it retries, as pgx's *PgError
// carries what the server said. It matches ErrVersionConflict; a refusal
// whose current version is not known is ErrVersionConflict alone.
//
//	var ce *pgsession.ConflictError
//	if errors.As(err, &ce) {
//		fresh, err := sessions.GetByID(ctx, id, pgsession.MinVersion(ce.Current))
//		// ...
//	}
type ConflictError = store.ConflictError

// ErrInvalidResource: a lock's resource name is empty, longer than 256
// bytes, or not valid UTF-8 without NUL. Nothing was sent.
var ErrInvalidResource = errors.New("invalid lock resource")
