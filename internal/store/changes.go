package store

import (
	"context"
	"time"
)

// Change is one row of the change log: session ID moved to Version. Seq
// orders the rows; it is taken before commit, so rows may commit out of
// order and a reader sees gaps that fill later.
type Change struct {
	Seq     int64
	ID      ID
	Version int64
}

// ChangeLog is the durable record of updates that nodes read to catch the
// announcements they missed (DESIGN C7). Only PostgreSQL has one: in the
// memory backend an announcement cannot be lost.
type ChangeLog interface {
	// ChangesSince returns up to limit rows after seq, and the rows among
	// missing, in Seq order.
	ChangesSince(ctx context.Context, after int64, missing []int64, limit int) ([]Change, error)
	// ChangesTop returns the highest row number in the log (0 when empty).
	ChangesTop(ctx context.Context) (int64, error)
	// ChangesAt returns the rows among seqs that are in the log, in Seq
	// order.
	ChangesAt(ctx context.Context, seqs []int64) ([]Change, error)
	// ChangesStart is where a new reader starts: past every row older than
	// lag (rows that recent may still have gaps below them).
	ChangesStart(ctx context.Context, lag time.Duration) (int64, error)
	// PruneChanges deletes rows older than retention, at most once per
	// every across the nodes; it returns how many it deleted.
	PruneChanges(ctx context.Context, every, retention time.Duration) (int, error)
}
