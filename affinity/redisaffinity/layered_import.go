package redisaffinity

import (
	"context"
	"errors"
	"fmt"

	"github.com/pgsession/pgsession/affinity"
)

var _ affinity.Importer = (*Layered)(nil)

// Import imports into the primary, which must be an affinity.Importer
// (errors.ErrUnsupported if not), and leaves a tombstone in place of any
// copy the import changed, as Delete does: the next read fills the cache
// from the primary.
func (s *Layered) Import(ctx context.Context, in affinity.ImportEntry) (affinity.Entry, affinity.ImportOutcome, error) {
	imp, ok := s.primary.(affinity.Importer)
	if !ok {
		return affinity.Entry{}, 0, affinity.Op("import",
			fmt.Errorf("%w: the primary store (%T) is not an affinity.Importer", errors.ErrUnsupported, s.primary))
	}
	e, outcome, err := imp.Import(ctx, in)
	refused := errors.Is(err, affinity.ErrInvalidArgument) || errors.Is(err, affinity.ErrExpired)
	if (err == nil && outcome != affinity.ImportKept) || (err != nil && !refused) {
		// On a fault the import may have landed all the same.
		s.invalidate(ctx, affinity.KeyOf(in.SessionID))
	}
	return e, outcome, err
}
