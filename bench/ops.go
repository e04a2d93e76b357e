package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"time"

	"github.com/alexedwards/scs/pgxstore"
	"github.com/alexedwards/scs/v2"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pgsession/pgsession"
)

// Library names, in table order.
const (
	libPgsession = "pgsession"
	libSCS       = "scs+pgxstore"
	libFloor     = "pgx floor"
)

// sessionAttrs are the five small attributes of every benchmark session.
var sessionAttrs = map[string]any{"user": "u1", "theme": "dark", "lang": "en", "n": 1, "cart": "tea"}

// opResult is one single operation of one library.
type opResult struct {
	op, lib  string
	n        int
	opsPerS  float64
	p50, p99 time.Duration
	allocs   float64 // per operation
	stmts    float64 // per operation, background work included
	bgStmts  float64 // of which background work (sent outside the call)
	note     string
}

var opNames = []string{"get (cache hit)", "get (cache miss)", "create", "update", "delete", "renew"}

// opFunc runs iteration i of an operation; i counts warm-up and timed
// iterations alike, from 0.
type opFunc func(ctx context.Context, i int) error

// opSide is one library's way of running one operation.
type opSide struct {
	lib   string
	stmts *stmtCounter
	f     opFunc
}

// opSlices is how many slices the timed iterations of each side are cut
// into; the sides take turns slice by slice (the first side rotates), so a
// stall of the machine lands on all of them alike.
const opSlices = 20

// measure runs each side's f warmup times untimed, then n times timed one
// by one, the sides interleaved in slices. Each side's f sees i from 0 to
// warmup+n-1 exactly once, in order.
func measure(ctx context.Context, s settings, op string, sides []opSide) ([]opResult, error) {
	progress("single operations: %s", op)
	ctx = withKind(ctx, kindRead) // what the calls send; the rest is background work
	for _, sd := range sides {
		for i := range s.warmup {
			if err := sd.f(ctx, i); err != nil {
				return nil, fmt.Errorf("%s %s (warm-up): %w", sd.lib, op, err)
			}
		}
	}
	type acc struct {
		lat            []time.Duration
		total          time.Duration
		mallocs        uint64
		stmts, bgStmts int64
	}
	accs := make([]acc, len(sides))
	// Background work (last-access writes, announcements) happens when it
	// happens, also during the other sides' slices: it is counted over the
	// whole run; the calls' own statements over their own slices.
	bgTotal := func(c *stmtCounter) int64 { return c.n[kindBackground].Load() + c.n[kindAnnounce].Load() }
	for j, sd := range sides {
		accs[j].bgStmts = -bgTotal(sd.stmts)
	}
	n := s.n()
	for sl := range opSlices {
		from, to := n*sl/opSlices, n*(sl+1)/opSlices
		for k := range sides {
			j := (sl + k) % len(sides)
			sd, a := sides[j], &accs[j]
			var before, after runtime.MemStats
			stmts0 := sd.stmts.total() - bgTotal(sd.stmts)
			runtime.ReadMemStats(&before)
			start := time.Now()
			for i := from; i < to; i++ {
				t0 := time.Now()
				if err := sd.f(ctx, s.warmup+i); err != nil {
					return nil, fmt.Errorf("%s %s: %w", sd.lib, op, err)
				}
				a.lat = append(a.lat, time.Since(t0))
			}
			a.total += time.Since(start)
			runtime.ReadMemStats(&after)
			a.mallocs += after.Mallocs - before.Mallocs
			a.stmts += sd.stmts.total() - bgTotal(sd.stmts) - stmts0
		}
	}
	for j, sd := range sides {
		accs[j].bgStmts += bgTotal(sd.stmts)
		accs[j].stmts += accs[j].bgStmts // stmts/op counts both
	}
	out := make([]opResult, len(sides))
	for j, a := range accs {
		slices.Sort(a.lat)
		n := len(a.lat)
		out[j] = opResult{op: op, lib: sides[j].lib, n: n,
			opsPerS: float64(n) / a.total.Seconds(),
			p50:     a.lat[n/2], p99: a.lat[min(n-1, n*99/100)],
			allocs: float64(a.mallocs) / float64(n),
			stmts:  float64(a.stmts) / float64(n), bgStmts: float64(a.bgStmts) / float64(n)}
	}
	return out, nil
}

func (s settings) n() int { return s.ops }

// runOps measures the single operations of the three libraries.
func runOps(ctx context.Context, e *env, s settings) ([]opResult, error) {
	total := s.warmup + s.n()

	// pgsession: a Manager on a fresh schema, with its default background
	// work (batched last-access writes count toward the statements).
	pgsSchema, err := e.schema(ctx, "pgs")
	if err != nil {
		return nil, err
	}
	pgsStmts := &stmtCounter{}
	pgsPool, err := e.pool(ctx, "", pgsStmts, 0)
	if err != nil {
		return nil, err
	}
	m, err := pgsession.New(ctx, pgsPool, pgsession.Config{Schema: pgsSchema, SweepInterval: -1})
	if err != nil {
		return nil, err
	}
	e.defer_(func() error { return m.Close(context.Background()) })
	progress("single operations: setting up pgsession")
	mk := func(n int) ([]pgsession.ID, []string, error) {
		ids, toks := make([]pgsession.ID, n), make([]string, n)
		for i := range n {
			ss, err := m.Create(ctx, "", sessionAttrs)
			if err != nil {
				return nil, nil, err
			}
			ids[i], toks[i] = ss.ID(), ss.Token()
		}
		return ids, toks, nil
	}
	readIDs, readToks, err := mk(min(total, 1000))
	if err != nil {
		return nil, err
	}
	delIDs, _, err := mk(total)
	if err != nil {
		return nil, err
	}
	renIDs, _, err := mk(total)
	if err != nil {
		return nil, err
	}
	if err := waitCacheHit(ctx, m, readToks[0]); err != nil {
		return nil, err
	}
	for _, t := range readToks { // every read session cached on this node
		if _, err := m.Get(ctx, t); err != nil {
			return nil, err
		}
	}
	pgsOps := []opFunc{
		func(ctx context.Context, i int) error {
			_, err := m.Get(ctx, readToks[i%len(readToks)])
			return err
		},
		func(ctx context.Context, i int) error {
			_, err := m.Get(ctx, readToks[i%len(readToks)], pgsession.ForceRefresh())
			return err
		},
		func(ctx context.Context, i int) error {
			_, err := m.Create(ctx, "", sessionAttrs)
			return err
		},
		func(ctx context.Context, i int) error {
			_, err := m.Update(ctx, readIDs[i%len(readIDs)], new(pgsession.Patch).Set("n", i))
			return err
		},
		func(ctx context.Context, i int) error { return m.Delete(ctx, delIDs[i]) },
		func(ctx context.Context, i int) error {
			_, err := m.Renew(ctx, renIDs[i])
			return err
		},
	}

	// scs with pgxstore, through the store API, in a schema of its own.
	scsStmts := &stmtCounter{}
	store, err := newPgxstore(ctx, e, scsStmts, 0)
	if err != nil {
		return nil, err
	}
	progress("single operations: setting up scs+pgxstore")
	expiry := time.Now().Add(24 * time.Hour)
	data, err := scs.GobCodec{}.Encode(expiry, map[string]any{"user": "u1", "theme": "dark", "lang": "en", "n": 1, "cart": "tea"})
	if err != nil {
		return nil, err
	}
	mkTok := func(n int) ([]string, error) {
		toks := make([]string, n)
		for i := range toks {
			toks[i] = scsToken()
			if err := store.Commit(toks[i], data, expiry); err != nil {
				return nil, err
			}
		}
		return toks, nil
	}
	scsRead, err := mkTok(min(total, 1000))
	if err != nil {
		return nil, err
	}
	scsDel, err := mkTok(total)
	if err != nil {
		return nil, err
	}
	scsRen, err := mkTok(total)
	if err != nil {
		return nil, err
	}
	scsFind := func(ctx context.Context, i int) error {
		_, found, err := store.Find(scsRead[i%len(scsRead)])
		if err == nil && !found {
			err = fmt.Errorf("session not found")
		}
		return err
	}
	scsOps := []opFunc{
		scsFind,
		scsFind,
		func(ctx context.Context, i int) error { return store.Commit(scsToken(), data, expiry) },
		func(ctx context.Context, i int) error {
			d, err := scs.GobCodec{}.Encode(expiry, map[string]any{"user": "u1", "theme": "dark", "lang": "en", "n": i, "cart": "tea"})
			if err != nil {
				return err
			}
			return store.Commit(scsRead[i%len(scsRead)], d, expiry)
		},
		func(ctx context.Context, i int) error { return store.Delete(scsDel[i]) },
		// What scs's RenewToken and the save after it send.
		func(ctx context.Context, i int) error {
			if err := store.Delete(scsRen[i]); err != nil {
				return err
			}
			return store.Commit(scsToken(), data, expiry)
		},
	}

	// The floor: one raw pgx statement per operation, on a table of
	// pgsession's shape (pgsession's own, migrated into a fresh schema).
	floorSchema, err := e.schema(ctx, "floor")
	if err != nil {
		return nil, err
	}
	fm, err := pgsession.New(ctx, e.admin, pgsession.Config{Schema: floorSchema, SweepInterval: -1, TouchInterval: -1})
	if err != nil {
		return nil, err
	}
	if err := fm.Close(ctx); err != nil { // only its migrations were needed
		return nil, err
	}
	floorStmts := &stmtCounter{}
	fp, err := e.pool(ctx, "", floorStmts, 0)
	if err != nil {
		return nil, err
	}
	floorOps, err := newFloor(ctx, fp, pgx.Identifier{floorSchema, "pgsession_sessions"}.Sanitize(), total)
	if err != nil {
		return nil, err
	}

	// The three libraries take turns on each operation; the rows come out
	// grouped by library.
	byLib := map[string][]opResult{}
	hits0 := m.Stats().CacheHits
	for j, op := range opNames {
		rs, err := measure(ctx, s, op, []opSide{
			{libPgsession, pgsStmts, pgsOps[j]}, {libSCS, scsStmts, scsOps[j]}, {libFloor, floorStmts, floorOps[j]}})
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			byLib[r.lib] = append(byLib[r.lib], r)
		}
		if j == 0 {
			if hits := m.Stats().CacheHits - hits0; hits < uint64(total) {
				byLib[libPgsession][0].note = fmt.Sprintf("%d of %d were hits", hits, total)
			}
		}
	}
	scsRes := byLib[libSCS]
	for i := range scsRes {
		scsRes[i].bgStmts = 0 // pgxstore runs no background work (cleanup off) but sends without the caller's context
	}
	scsRes[0].note = "no cache: a store Find"
	scsRes[len(scsRes)-1].note = "Delete + Commit"
	return slices.Concat(byLib[libPgsession], scsRes, byLib[libFloor]), nil
}

// waitCacheHit reads tok until m answers it from its cache (a PostgreSQL
// node caches once its listener is up).
func waitCacheHit(ctx context.Context, m *pgsession.Manager, tok string) error {
	for deadline := time.Now().Add(10 * time.Second); ; {
		before := m.Stats().CacheHits
		if _, err := m.Get(ctx, tok); err != nil {
			return err
		}
		if m.Stats().CacheHits > before {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no cache hit within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// scsToken is a token as scs makes them: 32 random bytes, base64.
func scsToken() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// newPgxstore makes the table pgxstore's documentation asks for in a fresh
// schema and a pgxstore on a pool whose search_path is that schema.
func newPgxstore(ctx context.Context, e *env, c *stmtCounter, maxConns int32) (*pgxstore.PostgresStore, error) {
	schema, err := e.schema(ctx, "scs")
	if err != nil {
		return nil, err
	}
	for _, sql := range []string{
		`CREATE TABLE ` + pgx.Identifier{schema, "sessions"}.Sanitize() + ` (
			token TEXT PRIMARY KEY,
			data BYTEA NOT NULL,
			expiry TIMESTAMPTZ NOT NULL)`,
		`CREATE INDEX sessions_expiry_idx ON ` + pgx.Identifier{schema, "sessions"}.Sanitize() + ` (expiry)`,
	} {
		if _, err := e.admin.Exec(ctx, sql); err != nil {
			return nil, err
		}
	}
	pool, err := e.pool(ctx, schema, c, maxConns)
	if err != nil {
		return nil, err
	}
	// No cleanup goroutine: it would run every 5 minutes, never during a run.
	return pgxstore.NewWithCleanupInterval(pool, 0), nil
}

// newFloor pre-creates its rows and returns the floor's operations, in
// opNames order.
func newFloor(ctx context.Context, pool *pgxpool.Pool, table string, total int) ([]opFunc, error) {
	progress("single operations: setting up the pgx floor")
	attrs, err := json.Marshal(sessionAttrs)
	if err != nil {
		return nil, err
	}
	insert := `INSERT INTO ` + table + ` (id, user_id, version, created_at, updated_at, last_seen_at,
    expires_at, idle_timeout, user_agent, ip, attrs)
VALUES ($1, '', 1, now(), now(), now(), now() + $2::interval, $3::interval, '', '', $4::jsonb)`
	lifetime := pgtype.Interval{Microseconds: (24 * time.Hour).Microseconds(), Valid: true}
	idle := pgtype.Interval{Microseconds: (2 * time.Hour).Microseconds(), Valid: true}
	create := func(ctx context.Context) ([]byte, error) {
		id := make([]byte, 32)
		rand.Read(id)
		_, err := pool.Exec(ctx, insert, id, lifetime, idle, string(attrs))
		return id, err
	}
	mk := func(n int) ([][]byte, error) {
		ids := make([][]byte, n)
		for i := range ids {
			var err error
			if ids[i], err = create(ctx); err != nil {
				return nil, err
			}
		}
		return ids, nil
	}
	readIDs, err := mk(min(total, 1000))
	if err != nil {
		return nil, err
	}
	delIDs, err := mk(total)
	if err != nil {
		return nil, err
	}
	renIDs, err := mk(total)
	if err != nil {
		return nil, err
	}
	get := floorGetSQL(table)
	read := func(ctx context.Context, i int) error { return floorGet(ctx, pool, get, readIDs[i%len(readIDs)]) }
	one := func(tag interface{ RowsAffected() int64 }, err error) error {
		if err == nil && tag.RowsAffected() != 1 {
			err = fmt.Errorf("%d rows affected, want 1", tag.RowsAffected())
		}
		return err
	}
	update := `UPDATE ` + table + ` SET attrs = attrs || $2::jsonb, version = version + 1, updated_at = now() WHERE id = $1`
	del := `DELETE FROM ` + table + ` WHERE id = $1`
	renew := `UPDATE ` + table + ` SET id = $2, version = version + 1, updated_at = now() WHERE id = $1`
	return []opFunc{
		read,
		read,
		func(ctx context.Context, i int) error { _, err := create(ctx); return err },
		func(ctx context.Context, i int) error {
			return one(pool.Exec(ctx, update, readIDs[i%len(readIDs)], fmt.Sprintf(`{"n": %d}`, i)))
		},
		func(ctx context.Context, i int) error { return one(pool.Exec(ctx, del, delIDs[i])) },
		func(ctx context.Context, i int) error {
			id := make([]byte, 32)
			rand.Read(id)
			return one(pool.Exec(ctx, renew, renIDs[i], id))
		},
	}, nil
}

// floorGetSQL is the floor's read on table: one SELECT by primary key of
// the columns pgsession reads.
func floorGetSQL(table string) string {
	return `SELECT s.id, s.user_id, s.version, s.created_at, s.updated_at, s.last_seen_at,
    s.expires_at, s.idle_timeout, s.user_agent, s.ip, s.attrs, s.attr_expiry, now()
FROM ` + table + ` s WHERE s.id = $1`
}

// floorGet runs get (floorGetSQL) for id and scans the row.
func floorGet(ctx context.Context, pool *pgxpool.Pool, get string, id []byte) error {
	var (
		rawID, a, attrExpiry                     []byte
		userID, userAgent, ip                    string
		version                                  int64
		created, updated, seen, expires, dbClock time.Time
		idleT                                    pgtype.Interval
	)
	return pool.QueryRow(ctx, get, id).Scan(&rawID, &userID, &version, &created, &updated,
		&seen, &expires, &idleT, &userAgent, &ip, &a, &attrExpiry, &dbClock)
}
