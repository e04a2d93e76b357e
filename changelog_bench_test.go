package pgsession_test

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgsession/pgsession"
)

// BenchmarkChangeLogAlternatives measures what keeping a durable record of
// each update, which the other nodes poll, costs, to choose how it is kept.
//
// The writes sub-benchmark, on the harness of BenchmarkUpdateThroughput (16
// workers over three nodes, rounds of fixed wall time alternating the order
// of the sides), sends raw, one round trip and one row per update:
//
//   - lean: the library's lean update statement without any change log (if
//     LeanUpdateSQL already logs, the bare UPDATE is taken out of it), its
//     row scanned: the baseline of the 0.80 target;
//   - minimal: the smallest update of a row (merge one key, bump the
//     version), for scale;
//   - unlogged: lean plus, in the same statement (a data-modifying CTE), an
//     INSERT into an UNLOGGED change-log table;
//   - logged: the same into an ordinary (WAL-logged) table;
//   - seqcol: no log table, but lean on a copy of the sessions table that
//     also sets an indexed change_seq column to the next value of a
//     sequence (the index makes every update non-HOT);
//   - notify-in-tx: minimal announcing itself inside its transaction, as in
//     BenchmarkUpdateThroughput (its baseline is minimal);
//   - library: LeanUpdateSQL as it is, when it differs from lean (that is,
//     when the library's own change log is in it).
//
// Reported per side: ops/s, the ratio of the means to the side's baseline,
// the median of the per-round ratios, the WAL bytes per update (insert LSN
// after a phase minus before, over its updates; median of the rounds; only
// approximate, as whatever else runs on the server writes WAL too), and the
// size of the tables after the run.
//
// The reads sub-benchmark times one node's poll of each log table,
// sequential on one connection: returning 0 rows (with no missing sequence
// numbers, and with three that are absent) and about 500, against SELECT 1
// on that connection, the floor.
//
// b.N is not used; the whole runs in about 50 s:
//
//	go test -run '^$' -bench BenchmarkChangeLogAlternatives -benchtime 1x -count 1 .
func BenchmarkChangeLogAlternatives(b *testing.B) {
	c := newChangeLogEnv(b)
	b.Run("writes", c.writes)
	b.Run("reads", c.reads)
}

// Twice the rounds of BenchmarkUpdateThroughput, each half as long: the same
// time per side, and more per-round ratios for their median.
const (
	changeLogRounds = 2 * throughputRounds
	changeLogPhase  = throughputPhase / 2
	changeLogSettle = 100 * time.Millisecond // after each phase, for the work it leaves behind (listeners, the WAL writer) to end
)

// changeLogEnv is a throughputEnv with the tables of the alternatives.
type changeLogEnv struct {
	*throughputEnv
	unlogged, logged string // change-log tables
	seqTable, seq    string // the copy of the sessions table with change_seq, and its sequence
}

func newChangeLogEnv(b *testing.B) *changeLogEnv {
	e := newThroughputEnv(b)
	schema, ok := strings.CutSuffix(e.table, `."pgsession_sessions"`)
	if !ok {
		b.Fatalf("unexpected sessions table name %s", e.table)
	}
	c := &changeLogEnv{
		throughputEnv: e,
		unlogged:      schema + `."bench_changes_unlogged"`,
		logged:        schema + `."bench_changes"`,
		seqTable:      schema + `."bench_sessions_seq"`,
		seq:           schema + `."bench_change_seq"`,
	}
	const logColumns = `(seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id bytea NOT NULL, version bigint NOT NULL, at timestamptz NOT NULL DEFAULT now())`
	for _, q := range []string{
		`CREATE UNLOGGED TABLE ` + c.unlogged + ` ` + logColumns,
		`CREATE TABLE ` + c.logged + ` ` + logColumns,
		`CREATE TABLE ` + c.seqTable + ` (LIKE ` + e.table + ` INCLUDING ALL) WITH (fillfactor = 70)`,
		`ALTER TABLE ` + c.seqTable + ` ADD COLUMN change_seq bigint`,
		`CREATE SEQUENCE ` + c.seq,
		`INSERT INTO ` + c.seqTable + ` SELECT s.*, nextval('` + c.seq + `') FROM ` + e.table + ` s`,
		`CREATE INDEX ON ` + c.seqTable + ` (change_seq)`,
		`ANALYZE ` + c.seqTable,
	} {
		if _, err := e.pools[0].Exec(e.ctx, q); err != nil {
			b.Fatal(q, ": ", err)
		}
	}
	return c
}

func (c *changeLogEnv) writes(b *testing.B) {
	ctx := c.ctx
	libSQL := pgsession.LeanUpdateSQL(c.nodes[0])
	bare := pgsession.BareLeanUpdateSQL(c.nodes[0])
	leanSQL := bare + `, now()`
	logSQL := func(table string) string {
		return `WITH u AS (` + bare + `), c AS (INSERT INTO ` + table + ` (id, version) SELECT u.id, u.version FROM u)
SELECT u.*, now() FROM u`
	}
	seqSQL := strings.Replace(leanSQL, c.table, c.seqTable, 1)
	seqSQL = strings.Replace(seqSQL, `updated_at = now()`, `updated_at = now(), change_seq = nextval('`+c.seq+`')`, 1)
	if !strings.Contains(seqSQL, c.seqTable) || !strings.Contains(seqSQL, `change_seq`) {
		b.Fatalf("cannot make the change_seq variant of %s", leanSQL)
	}
	minimalSQL := `UPDATE ` + c.table + ` SET attrs = attrs || $2::jsonb, version = version + 1 WHERE id = $1`
	notifySQL := `WITH u AS (
    UPDATE ` + c.table + ` SET attrs = attrs || $2::jsonb, version = version + 1 WHERE id = $1
    RETURNING id, version)
SELECT pg_notify($3, '1|u|gopgsession-like|' || encode(u.id, 'hex') || ':' || u.version) FROM u`
	channel := pgsession.ListenChannel(c.nodes[0]) // the nodes' listeners hear these too, as they would

	patch := func(i int) string { return `{"n":` + strconv.Itoa(i) + `}` }
	keys := []string{"n"}
	// statement sends one form of the lean statement and scans the session
	// it returns, as the "statement" side of BenchmarkUpdateThroughput.
	statement := func(sql string) func(w, i int) error {
		logged := sql == libSQL // the library's statement also returns its log row's number
		return func(w, i int) error {
			var extra []any
			if logged {
				extra = []any{new(int64)}
			}
			return scanSessionRow(c.pools[w%throughputNodes].QueryRow(ctx, sql,
				c.rawIDs[w][i%throughputPerWorker][:], []string{}, patch(i), keys, keys, 64), extra...) // 64: Config.MaxAttributes by default
		}
	}
	raw := func(sql string, args func(id pgsession.ID, i int) []any) func(w, i int) error {
		return func(w, i int) error {
			tag, err := c.pools[w%throughputNodes].Exec(ctx, sql, args(c.rawIDs[w][i%throughputPerWorker], i)...)
			if err == nil && tag.RowsAffected() != 1 {
				err = errors.New("raw update touched " + strconv.FormatInt(tag.RowsAffected(), 10) + " rows")
			}
			return err
		}
	}
	type side struct {
		name  string
		op    func(w, i int) error
		table string // its change-log table, if any
		base  *side  // the side it is compared with
		each  []float64
		wal   []float64 // WAL bytes per update, of each round
		ops   int64     // updates, over all rounds
	}
	// notify-in-tx comes last: its listeners' work may outlast its phase,
	// and only minimal, for scale, runs next to it.
	lean := &side{name: "lean", op: statement(leanSQL)}
	minimal := &side{name: "minimal", op: raw(minimalSQL, func(id pgsession.ID, i int) []any { return []any{id[:], patch(i)} })}
	unlogged := &side{name: "unlogged", op: statement(logSQL(c.unlogged)), table: c.unlogged}
	sides := []*side{lean}
	if libSQL != leanSQL {
		sides = append(sides, &side{name: "library", op: statement(libSQL)})
	}
	sides = append(sides,
		unlogged,
		&side{name: "logged", op: statement(logSQL(c.logged)), table: c.logged},
		&side{name: "seqcol", op: statement(seqSQL), table: c.seqTable},
		minimal,
		&side{name: "notify-in-tx", op: raw(notifySQL, func(id pgsession.ID, i int) []any {
			return []any{id[:], patch(i), channel}
		}), base: minimal})
	for _, s := range sides {
		if s.base == nil {
			s.base = lean
		}
	}
	walLSN := func() float64 {
		var n int64
		if err := c.pools[0].QueryRow(ctx, `SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::bigint`).Scan(&n); err != nil {
			b.Fatal(err)
		}
		return float64(n)
	}
	for _, s := range sides { // prepares statements on every connection
		if _, _, err := c.phaseCount(throughputWarmup, s.op); err != nil {
			b.Fatal(s.name, ": ", err)
		}
	}
	// The nodes' own change-log readers run throughout: during the library
	// side they read (and invalidate) what it writes, on the same machine.
	readerStats := func() (reads, rows uint64) {
		for _, m := range c.nodes {
			st := m.Stats()
			reads, rows = reads+st.ChangeLogReads, rows+st.ChangeLogRows
		}
		return reads, rows
	}
	reads0, rows0 := readerStats()
	b.ResetTimer()
	for r := range changeLogRounds {
		for j := range sides {
			s := sides[j]
			if r%2 == 1 {
				s = sides[len(sides)-1-j]
			}
			w0 := walLSN()
			n, d, err := c.phaseCount(changeLogPhase, s.op)
			if err != nil {
				b.Fatal(s.name, ": ", err)
			}
			w1 := walLSN()
			time.Sleep(changeLogSettle)
			s.ops += n
			s.each = append(s.each, float64(n)/d.Seconds())
			s.wal = append(s.wal, (w1-w0)/float64(n))
		}
	}
	b.StopTimer()
	reads1, rows1 := readerStats()

	var report strings.Builder
	fmt.Fprintf(&report, "%-12s %6s %6s %6s %-8s %6s  %s\n", "side", "ops/s", "ratio", "p50", "to", "WAL/op", "table after the run")
	for _, s := range sides {
		base := s.base
		perRound := make([]float64, len(s.each))
		for r := range perRound {
			perRound[r] = s.each[r] / base.each[r]
		}
		ratio, p50 := clMean(s.each)/clMean(base.each), clMedian(perRound)
		b.ReportMetric(clMean(s.each), s.name+"-ops/s")
		if s != base {
			b.ReportMetric(ratio, s.name+"-ratio")
			b.ReportMetric(p50, s.name+"-p50-ratio")
		}
		b.ReportMetric(clMedian(s.wal), s.name+"-walB/op")
		fmt.Fprintf(&report, "%-12s %6.0f %6.3f %6.3f %-8s %6.0f", s.name, clMean(s.each), ratio, p50, base.name, clMedian(s.wal))
		if base != lean {
			fmt.Fprintf(&report, "  (%.3f to lean)", clMean(s.each)/clMean(lean.each))
		}
		if s.name == "library" {
			fmt.Fprintf(&report, "  readers: %d polls, %.2f rows read per update", reads1-reads0, float64(rows1-rows0)/float64(s.ops))
		}
		if s.table != "" {
			var size, rows int64
			if err := c.pools[0].QueryRow(ctx, `SELECT pg_total_relation_size($1::regclass), (SELECT count(*) FROM `+s.table+`)`,
				s.table).Scan(&size, &rows); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(size), s.name+"-table-B")
			fmt.Fprintf(&report, "  %d rows, %d B (%.0f B/row)", rows, size, float64(size)/float64(rows))
		}
		fmt.Fprintln(&report)
	}
	b.ReportMetric(1e9/clMean(unlogged.each), "ns/op") // one unlogged-log update's share of the wall time
	b.Log(strings.TrimSuffix(report.String(), "\n"))
}

// reads times the poll of a reader on each log table, on one connection,
// in batches interleaved with SELECT 1 (the floor).
func (c *changeLogEnv) reads(b *testing.B) {
	ctx := c.ctx
	conn, err := c.pools[0].Acquire(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Release()
	const (
		minRows    = 20000 // a table smaller than this (reads run alone) is filled first
		pollBatch  = 50
		pollRounds = 15
	)
	var report strings.Builder
	for _, t := range []struct{ name, table string }{{"unlogged", c.unlogged}, {"logged", c.logged}} {
		if _, err := conn.Exec(ctx, `INSERT INTO `+t.table+` (id, version)
            SELECT sha256(i::text::bytea), i FROM generate_series(1, `+strconv.Itoa(minRows)+` - (SELECT count(*) FROM `+t.table+`)) i`); err != nil {
			b.Fatal(err)
		}
		if _, err := conn.Exec(ctx, `ANALYZE `+t.table); err != nil {
			b.Fatal(err)
		}
		var last, before500, rows int64 // the last seq, the one 500 rows before it, the rows
		if err := conn.QueryRow(ctx, `SELECT max(seq), (SELECT seq FROM `+t.table+` ORDER BY seq DESC OFFSET 500 LIMIT 1), count(*) FROM `+
			t.table).Scan(&last, &before500, &rows); err != nil {
			b.Fatal(err)
		}
		pollSQL := `SELECT seq, id, version FROM ` + t.table + ` WHERE seq > $1 OR seq = ANY($2) ORDER BY seq LIMIT 10000`
		absent := []int64{last + 1000, last + 1001, last + 1002}
		poll := func(after int64, missing []int64, want int) func() error {
			return func() error {
				rows, err := conn.Query(ctx, pollSQL, after, missing)
				if err != nil {
					return err
				}
				n := 0
				var seq, version int64
				var id []byte
				_, err = pgx.ForEachRow(rows, []any{&seq, &id, &version}, func() error { n++; return nil })
				if err == nil && n != want {
					err = fmt.Errorf("poll returned %d rows, want %d", n, want)
				}
				return err
			}
		}
		reads := []struct {
			name string
			op   func() error
			each []float64 // ns/op of each batch
		}{
			{name: "select1", op: func() error {
				var one int
				return conn.QueryRow(ctx, `SELECT 1`).Scan(&one)
			}},
			{name: "poll-0", op: poll(last, []int64{}, 0)},
			{name: "poll-0-gaps", op: poll(last, absent, 0)},
			{name: "poll-500", op: poll(before500, []int64{}, 500)},
		}
		for r := range pollRounds + 1 { // round 0 warms up, past the custom plans of a prepared statement
			for j := range reads {
				t0 := time.Now()
				for range pollBatch {
					if err := reads[j].op(); err != nil {
						b.Fatal(t.name, " ", reads[j].name, ": ", err)
					}
				}
				if r > 0 {
					reads[j].each = append(reads[j].each, float64(time.Since(t0).Nanoseconds())/pollBatch)
				}
			}
		}
		fmt.Fprintf(&report, "%-8s %6d rows:", t.name, rows)
		for _, rd := range reads {
			ns := clMedian(rd.each)
			b.ReportMetric(ns, t.name+"-"+rd.name+"-ns/op")
			if t.name == "logged" && rd.name == "poll-0" {
				b.ReportMetric(ns, "ns/op")
			}
			fmt.Fprintf(&report, "  %s %.0f µs", rd.name, ns/1e3)
		}
		fmt.Fprintln(&report)
		if t.name != "logged" {
			continue
		}
		for _, p := range []struct {
			name    string
			after   int64
			missing []int64
		}{{"poll-0", last, []int64{}}, {"poll-0-gaps", last, absent}, {"poll-500", before500, []int64{}}} {
			rows, err := conn.Query(ctx, `EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) `+pollSQL, p.after, p.missing)
			if err != nil {
				b.Fatal(err)
			}
			plan, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				b.Fatal(err)
			}
			for i := range plan {
				plan[i] = strings.TrimSpace(plan[i])
			}
			fmt.Fprintf(&report, "%s plan: %s\n", p.name, strings.Join(plan, "; "))
		}
	}
	b.Log(strings.TrimSuffix(report.String(), "\n"))
}

func clMean(x []float64) float64 {
	var t float64
	for _, v := range x {
		t += v
	}
	return t / float64(len(x))
}

// clMedian does not reorder x.
func clMedian(x []float64) float64 {
	x = slices.Clone(x)
	slices.Sort(x)
	return (x[(len(x)-1)/2] + x[len(x)/2]) / 2
}
