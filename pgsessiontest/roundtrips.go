package pgsessiontest

import (
	"context"
	"sync"

	"github.com/jackc/pgx/v5"
)

// RoundTrips is a pgx tracer that counts round trips: each Query, QueryRow or
// Exec is one, and so is each SendBatch, however many statements it carries
// (they travel together). Statements logs the SQL of each, for failure messages.
type RoundTrips struct {
	// Skip, if set, leaves out statements it returns true for: background
	// work that no caller waits for, such as the coalesced announcements
	// of updates.
	Skip func(sql string) bool

	mu    sync.Mutex
	count int      // guarded by mu
	sql   []string // guarded by mu
}

var (
	_ pgx.QueryTracer = (*RoundTrips)(nil)
	_ pgx.BatchTracer = (*RoundTrips)(nil)
)

func (r *RoundTrips) add(sql string) {
	if r.Skip != nil && r.Skip(sql) {
		return
	}
	r.mu.Lock()
	r.count++
	r.sql = append(r.sql, sql)
	r.mu.Unlock()
}

// TraceQueryStart counts a query.
func (r *RoundTrips) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	if !inBatch(ctx) {
		r.add(data.SQL)
	}
	return ctx
}

// TraceQueryEnd does nothing.
func (r *RoundTrips) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

type batchKey struct{}

func inBatch(ctx context.Context) bool { return ctx.Value(batchKey{}) != nil }

// TraceBatchStart counts a batch as one round trip.
func (r *RoundTrips) TraceBatchStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchStartData) context.Context {
	r.add("batch")
	return context.WithValue(ctx, batchKey{}, true)
}

// TraceBatchQuery does nothing: the batch was counted.
func (r *RoundTrips) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

// TraceBatchEnd does nothing.
func (r *RoundTrips) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// Count returns the round trips since the last Reset.
func (r *RoundTrips) Count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.count
}

// Statements returns the SQL sent since the last Reset.
func (r *RoundTrips) Statements() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.sql...)
}

// Reset sets the count to zero.
func (r *RoundTrips) Reset() {
	r.mu.Lock()
	r.count, r.sql = 0, nil
	r.mu.Unlock()
}
