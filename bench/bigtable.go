package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pgsession/pgsession"
)

// bigResult is one library's get (cache miss) on a table of many rows.
type bigResult struct {
	lib       string
	rows      int64
	tableSize int64 // bytes: heap, indexes and TOAST
	n         int   // timed reads
	opsPerS   float64
	p50, p99  time.Duration
}

// bigTableRows are the table sizes read from, in the order they are
// filled: each size adds rows to the table of the one before.
func (s settings) bigTableRows() []int64 {
	if s.quick {
		return []int64{10_000, 50_000}
	}
	return []int64{1_000_000, 10_000_000}
}

// bigProgressSteps is how often the progress line moves during one size.
const bigProgressSteps = 30

// runBigTable fills pgsession's table server-side to each size of
// bigTableRows and, at each, reads random existing rows by id: pgsession's
// GetByID with ForceRefresh (its cache-miss path) and the floor's SELECT by
// primary key, interleaved.
func runBigTable(ctx context.Context, e *env, s settings) (_ []bigResult, err error) {
	mark := e.mark() // the pool, the Manager and the table go at the end
	defer func() { err = errors.Join(err, e.release(mark)) }()
	schema, err := e.schema(ctx, "big")
	if err != nil {
		return nil, err
	}
	pool, err := e.pool(ctx, "", nil, 4)
	if err != nil {
		return nil, err
	}
	// No last-access writes: this is the read path alone (touches are
	// measured on their own).
	m, err := pgsession.New(ctx, pool, pgsession.Config{Schema: schema, SweepInterval: -1, TouchInterval: -1})
	if err != nil {
		return nil, err
	}
	e.defer_(func() error { return m.Close(context.Background()) })
	table := pgx.Identifier{schema, "pgsession_sessions"}.Sanitize()
	rng := rand.New(rand.NewPCG(7, 11))
	var res []bigResult
	var filled int64
	for _, rows := range s.bigTableRows() {
		label := "big table: filling to " + humanCount(float64(rows))
		if err := fillSessions(ctx, e, table, filled+1, rows+1, false, label); err != nil {
			return nil, err
		}
		filled = rows
		var size int64
		if err := e.admin.QueryRow(ctx, "SELECT pg_total_relation_size($1::regclass)", table).Scan(&size); err != nil {
			return nil, fmt.Errorf("table size: %w", err)
		}
		pgs, floor, err := measureBig(ctx, s, m, pool, floorGetSQL(table), rows, rng)
		if err != nil {
			return nil, fmt.Errorf("%s rows: %w", humanCount(float64(rows)), err)
		}
		pgs.tableSize, floor.tableSize = size, size
		res = append(res, pgs, floor)
	}
	return res, nil
}

// measureBig reads s.ops random rows of 1..rows through each library after
// s.warmup untimed reads each, in pairs: one read of each library, the
// first chosen at random, so a disturbance of the machine (and the state of
// the pool connection both use) lands on both alike. Each library draws its own ids: neither reads a row the other
// has just brought into memory.
func measureBig(ctx context.Context, s settings, m *pgsession.Manager, pool *pgxpool.Pool, get string,
	rows int64, rng *rand.Rand) (bigResult, bigResult, error) {
	pgsGet := func(ctx context.Context, id pgsession.ID) error {
		_, err := m.GetByID(ctx, id, pgsession.ForceRefresh())
		return err
	}
	floorRead := func(ctx context.Context, id pgsession.ID) error { return floorGet(ctx, pool, get, id[:]) }
	randomID := func() pgsession.ID { return fillID(1 + rng.Int64N(rows)) }
	libs := []struct {
		name string
		get  func(context.Context, pgsession.ID) error
		lat  []time.Duration
	}{{name: libPgsession, get: pgsGet}, {name: libFloor, get: floorRead}}
	for i := range libs {
		for range s.warmup {
			if err := libs[i].get(ctx, randomID()); err != nil {
				return bigResult{}, bigResult{}, fmt.Errorf("%s (warm-up): %w", libs[i].name, err)
			}
		}
		libs[i].lat = make([]time.Duration, 0, s.ops)
	}
	for i := range s.ops {
		if i%max(1, s.ops/bigProgressSteps) == 0 {
			progress("big table, %s rows: get (cache miss) %d/%d", humanCount(float64(rows)), i, s.ops)
		}
		first := rng.IntN(len(libs))
		for j := range libs {
			l := &libs[(first+j)%len(libs)]
			id := randomID()
			t0 := time.Now()
			if err := l.get(ctx, id); err != nil {
				return bigResult{}, bigResult{}, fmt.Errorf("%s: %w", l.name, err)
			}
			l.lat = append(l.lat, time.Since(t0))
		}
	}
	out := make([]bigResult, len(libs))
	for i, l := range libs {
		var total time.Duration
		for _, d := range l.lat {
			total += d
		}
		slices.Sort(l.lat)
		n := len(l.lat)
		out[i] = bigResult{lib: l.name, rows: rows, n: n, opsPerS: float64(n) / total.Seconds(),
			p50: l.lat[n/2], p99: l.lat[min(n-1, n*99/100)]}
	}
	return out[0], out[1], nil
}

// bigTable is the terminal and Markdown table of runBigTable's results.
func bigTable(res []bigResult, s settings) table {
	t := table{
		title: fmt.Sprintf("Get (cache miss) on a large table (%d timed per row, the two libraries alternating read by read)", s.ops),
		header: []string{"workload", "library", "rows", "table size", "ops/s", "p50", "p99",
			"ops/s vs floor", "p99 vs floor"},
	}
	for _, r := range res {
		vsOps, vsP99 := "-", "-"
		if r.lib != libFloor {
			for _, f := range res {
				if f.lib == libFloor && f.rows == r.rows {
					vsOps, vsP99 = ratio(r.opsPerS, f.opsPerS), ratio(float64(r.p99), float64(f.p99))
				}
			}
		}
		t.rows = append(t.rows, []string{"get (cache miss), " + humanCount(float64(r.rows)) + " rows", r.lib,
			fmt.Sprint(r.rows), fmt.Sprintf("%.0f MB", float64(r.tableSize)/(1<<20)),
			fmt.Sprintf("%.0f", r.opsPerS), ms(r.p50), ms(r.p99), vsOps, vsP99})
	}
	return t
}

// bigTableHow is the "How it is measured" entry of runBigTable.
const bigTableHow = `- **Get (cache miss) on a large table.** pgsession's own table (migrated by ` + "`New`" + ` into a fresh
  schema) is filled server-side with ` + "`INSERT ... SELECT`" + ` over ` + "`generate_series`" + `: live anonymous
  sessions as ` + "`Create`" + ` writes them (id = SHA-256 of the row number, the five attributes,
  version 1, 24 h lifetime, 2 h idle timeout), then ` + "`VACUUM (ANALYZE)`" + `; the larger size adds rows
  to the smaller. At each size, pgsession's ` + "`GetByID`" + ` with ` + "`ForceRefresh`" + ` (its cache-miss path;
  a Manager without last-access writes, so the read path alone) and the floor's SELECT by primary
  key read random existing rows, each library its own, one at a time, in pairs of one read each (the
  first of a pair chosen at random) so that noise on the machine hits both alike. The table is read warm from the operating
  system's cache (it was just written) but is far larger than PostgreSQL's shared buffers.
`
