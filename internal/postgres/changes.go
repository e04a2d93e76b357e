package postgres

import (
	"context"
	"time"

	"github.com/pgsession/pgsession/internal/store"
)

var _ store.ChangeLog = (*Backend)(nil)

// ChangesSince reads the change log past a reader's position.
func (b *Backend) ChangesSince(ctx context.Context, after int64, missing []int64, limit int) ([]store.Change, error) {
	if missing == nil {
		missing = []int64{}
	}
	return b.changes(ctx, b.changesSQL, after, missing, limit)
}

// ChangesTop returns the log's highest row number.
func (b *Backend) ChangesTop(ctx context.Context) (int64, error) {
	var seq int64
	err := b.pool.QueryRow(ctx, b.changesTopSQL).Scan(&seq)
	return seq, err
}

// ChangesAt reads the rows among seqs.
func (b *Backend) ChangesAt(ctx context.Context, seqs []int64) ([]store.Change, error) {
	return b.changes(ctx, b.changesAtSQL, seqs)
}

func (b *Backend) changes(ctx context.Context, sql string, args ...any) ([]store.Change, error) {
	rows, err := b.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Change
	for rows.Next() {
		var c store.Change
		var id []byte
		if err := rows.Scan(&c.Seq, &id, &c.Version); err != nil {
			return nil, err
		}
		copy(c.ID[:], id)
		out = append(out, c)
	}
	return out, rows.Err()
}

// ChangesStart is where a new reader of the change log starts.
func (b *Backend) ChangesStart(ctx context.Context, lag time.Duration) (int64, error) {
	var seq int64
	err := b.pool.QueryRow(ctx, b.changesStartSQL, interval(lag)).Scan(&seq)
	return seq, err
}

// PruneChanges deletes old rows of the change log, one node at a time.
func (b *Backend) PruneChanges(ctx context.Context, every, retention time.Duration) (int, error) {
	var n int
	err := b.pool.QueryRow(ctx, b.pruneSQL, interval(every), interval(retention)).Scan(&n)
	return n, err
}
