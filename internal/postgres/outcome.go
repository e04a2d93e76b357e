package postgres

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgsession/pgsession/internal/store"
)

// uncertain marks a write's error as store.ErrOutcomeUnknown when the
// statement may have committed anyway: it was sent, and no answer from the
// server says it failed (a cut connection, a context that ended while
// waiting for the reply). A server error, or one raised before anything was
// sent, is certain: a single statement that failed changed nothing.
func uncertain(err error) error {
	if err == nil || pgconn.SafeToRetry(err) {
		return err
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return err
	}
	for _, known := range []error{store.ErrNotFound, store.ErrVersionConflict, store.ErrTooManyAttributes, store.ErrExists} {
		if errors.Is(err, known) {
			return err
		}
	}
	return fmt.Errorf("%w: %w", store.ErrOutcomeUnknown, err)
}
