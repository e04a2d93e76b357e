package main

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"

	"github.com/pgsession/pgsession"
)

// Server-side fill of pgsession's sessions table, for the workloads that
// need more rows than Create could make in the time (a large table, a
// backlog of expired sessions): INSERT ... SELECT over generate_series.

// fillID is the id of row k of a fill: SHA-256 of k as 8 big-endian bytes,
// what sha256(int8send(k)) gives in SQL. A session's ID is what the id
// column holds, so GetByID(fillID(k)) reads row k.
func fillID(k int64) pgsession.ID {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(k))
	return pgsession.ID(sha256.Sum256(b[:]))
}

// fillChunk is how many rows one INSERT writes. Each chunk is sorted by id
// before it goes in, so its index entries arrive in key order.
const fillChunk = 250_000

// fillSessions inserts rows k = from..to-1 into table (pgsession's sessions
// table, schema-qualified and quoted): anonymous sessions of version 1 with
// the five attributes of sessionAttrs, as Create writes them. Live rows
// were created and last seen now and expire in 24 hours; expired rows
// passed their absolute deadline an hour ago. Chunks run on up to one
// connection per CPU.
func fillSessions(ctx context.Context, e *env, table string, from, to int64, expired bool, label string) error {
	attrs, err := json.Marshal(sessionAttrs)
	if err != nil {
		return err
	}
	times := `now(), now(), now(), now() + interval '24 hours'`
	if expired {
		times = `now() - interval '25 hours', now() - interval '25 hours', now() - interval '3 hours', now() - interval '1 hour'`
	}
	insert := `INSERT INTO ` + table + ` (id, user_id, version, created_at, updated_at, last_seen_at,
    expires_at, idle_timeout, user_agent, ip, attrs)
SELECT sha256(int8send(g)), '', 1, ` + times + `, interval '2 hours', '', '', $3::jsonb
FROM generate_series($1::bigint, $2::bigint) g ORDER BY 1`
	var next, done atomic.Int64
	next.Store(from)
	total := to - from
	workers := max(1, min(runtime.NumCPU(), 4))
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				lo := next.Add(fillChunk) - fillChunk
				if lo >= to {
					return
				}
				hi := min(lo+fillChunk, to) - 1
				err := pgx.BeginFunc(ctx, e.admin, func(tx pgx.Tx) error {
					if _, err := tx.Exec(ctx, "SET LOCAL work_mem = '256MB'"); err != nil {
						return err
					}
					_, err := tx.Exec(ctx, insert, lo, hi, string(attrs))
					return err
				})
				if err != nil {
					errs[w] = fmt.Errorf("fill %s: %w", table, err)
					return
				}
				progress("%s: %s of %s rows", label, humanCount(float64(done.Add(hi-lo+1))), humanCount(float64(total)))
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// What autovacuum would do to a table this size (it is off on some
	// servers): set hint bits and the visibility map, gather statistics, so
	// the reads that follow do not pay for it.
	progress("%s: VACUUM ANALYZE", label)
	if _, err := e.admin.Exec(ctx, "VACUUM (ANALYZE) "+table); err != nil {
		return fmt.Errorf("vacuum %s: %w", table, err)
	}
	return nil
}
