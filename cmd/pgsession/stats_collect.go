package main

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// report is what `pgsession stats` shows, and its -json form.
type report struct {
	Database   string       `json:"database"`
	Schema     string       `json:"schema"`
	Prefix     string       `json:"prefix"`
	At         time.Time    `json:"at"` // database clock, when the snapshot was taken
	Sessions   sessionCount `json:"sessions"`
	TopUsers   []userCount  `json:"top_users"`
	Attributes attrStats    `json:"attributes"`
	Tables     []tableSize  `json:"tables"`
	Listeners  []listener   `json:"listeners"`
	Sweep      sweepState   `json:"sweep"`
}

type sessionCount struct {
	Live      int64 `json:"live"`
	Users     int64 `json:"users"`     // distinct users with a live session
	Anonymous int64 `json:"anonymous"` // live sessions of no user
	// Expired rows are past a deadline, invisible to reads, and not yet
	// deleted by the sweep.
	Expired int64 `json:"expired_awaiting_sweep"`
}

type userCount struct {
	User     string `json:"user"`
	Sessions int64  `json:"sessions"`
}

// attrStats describe the attributes of live sessions, as stored: an
// attribute past its TTL counts until the sweep trims it.
type attrStats struct {
	Sessions      int64   `json:"sessions"`       // live sessions measured
	Sampled       bool    `json:"sampled"`        // read from a TABLESAMPLE SYSTEM sample
	SamplePercent float64 `json:"sample_percent"` // of the table's pages; 100 when not sampled
	Bytes         spread  `json:"bytes"`          // pg_column_size(attrs): stored, compressed bytes
	Keys          spread  `json:"keys"`           // attributes per session
}

// spread is a distribution by its percentiles (nearest rank) and maximum.
type spread struct {
	P50 int64 `json:"p50"`
	P90 int64 `json:"p90"`
	P99 int64 `json:"p99"`
	Max int64 `json:"max"`
}

type tableSize struct {
	Table   string `json:"table"`
	Total   int64  `json:"total_bytes"`   // pg_total_relation_size
	Data    int64  `json:"data_bytes"`    // pg_table_size: the table with its TOAST
	Indexes int64  `json:"indexes_bytes"` // pg_indexes_size
}

// listener is a database backend whose application_name is a pgsession
// listener's.
type listener struct {
	Node  string    `json:"node"`
	Since time.Time `json:"since"`
}

// sweepState is the sweep's row of the maintenance table.
type sweepState struct {
	// State is "never" (no pass has finished), "idle" (the last pass
	// finished), "running" (a node holds the lease mid-pass) or
	// "interrupted" (a pass stopped mid-way; the next resumes at Cursor).
	State  string `json:"state"`
	Holder string `json:"holder,omitempty"`
	// LeaseUntil is, when idle, when the next pass is due (nodes set it to
	// the end of a pass plus 0.9 x their SweepInterval), else the end of
	// the running pass's lease.
	LeaseUntil *time.Time `json:"lease_until,omitempty"`
	Cursor     string     `json:"cursor,omitempty"` // the ID a pass reached, in hex
}

// statsOptions are stats' flags that shape the queries.
type statsOptions struct {
	top    int   // top users to list
	sample int64 // measure attributes on a sample when there are more rows
}

// listenerPrefix starts the application_name of a Manager's listener
// connection: "pgsession-listener-" and its Config.NodeID.
const listenerPrefix = "pgsession-listener-"

// collectStats reads the report in one read-only snapshot.
func collectStats(ctx context.Context, pool *pgxpool.Pool, t tables, o statsOptions) (*report, error) {
	tx, err := pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }() // read only: nothing to keep
	r := &report{Schema: t.schema, Prefix: t.prefix}
	if err := tx.QueryRow(ctx, `SELECT current_database(), now()`).Scan(&r.Database, &r.At); err != nil {
		return nil, err
	}
	steps := []struct {
		what string
		run  func(context.Context, pgx.Tx, tables, *report, statsOptions) error
	}{
		{"sessions", readCounts}, {"attributes", readAttrs}, {"tables", readSizes},
		{"listeners", readListeners}, {"sweep", readSweep},
	}
	for _, s := range steps {
		if err := s.run(ctx, tx, t, r, o); err != nil {
			return nil, fmt.Errorf("%s: %w", s.what, err)
		}
	}
	return r, nil
}

// readCounts counts live and expired sessions and the users with most live
// sessions in one sequential scan of the sessions table, grouped by user
// (in memory, or spilled to disk past work_mem): it costs in proportion to
// the table, and its memory to the number of users.
func readCounts(ctx context.Context, tx pgx.Tx, t tables, r *report, o statsOptions) error {
	var users []string
	var counts []int64
	err := tx.QueryRow(ctx, t.expand(`WITH per_user AS MATERIALIZED (
    SELECT s.user_id, count(*) FILTER (WHERE {{live}}) AS live, count(*) FILTER (WHERE NOT {{live}}) AS expired
    FROM {{sessions}} s GROUP BY s.user_id
)
SELECT coalesce(sum(p.live), 0)::bigint, coalesce(sum(p.expired), 0)::bigint,
    count(*) FILTER (WHERE p.user_id <> '' AND p.live > 0),
    coalesce(sum(p.live) FILTER (WHERE p.user_id = ''), 0)::bigint,
    ARRAY(SELECT q.user_id FROM per_user q WHERE q.user_id <> '' AND q.live > 0 ORDER BY q.live DESC, q.user_id LIMIT $1),
    ARRAY(SELECT q.live FROM per_user q WHERE q.user_id <> '' AND q.live > 0 ORDER BY q.live DESC, q.user_id LIMIT $1)
FROM per_user p`), o.top).Scan(&r.Sessions.Live, &r.Sessions.Expired, &r.Sessions.Users, &r.Sessions.Anonymous, &users, &counts)
	if err != nil {
		return err
	}
	r.TopUsers = make([]userCount, len(users))
	for i := range users {
		r.TopUsers[i] = userCount{User: users[i], Sessions: counts[i]}
	}
	return nil
}

// readAttrs measures the attributes of live sessions. Up to o.sample rows
// it reads them all; past that a TABLESAMPLE SYSTEM sample of the table's
// pages, sized for about o.sample rows, so its cost stays bounded however
// large the table grows. The sample is of whole pages, and rows on one page
// were mostly created about the same time.
func readAttrs(ctx context.Context, tx pgx.Tx, t tables, r *report, o statsOptions) error {
	rows := r.Sessions.Live + r.Sessions.Expired
	a := &r.Attributes
	a.SamplePercent = 100
	from, args := `{{sessions}} s`, []any(nil)
	if o.sample > 0 && rows > o.sample {
		a.Sampled = true
		a.SamplePercent = max(100*float64(o.sample)/float64(rows), 0.0001)
		from, args = from+` TABLESAMPLE SYSTEM ($1)`, []any{a.SamplePercent}
	}
	var bytes, keys []int64
	err := tx.QueryRow(ctx, t.expand(`SELECT count(*),
    coalesce((percentile_disc(ARRAY[0.5, 0.9, 0.99]) WITHIN GROUP (ORDER BY m.bytes))::bigint[], '{0,0,0}'),
    coalesce(max(m.bytes), 0)::bigint,
    coalesce((percentile_disc(ARRAY[0.5, 0.9, 0.99]) WITHIN GROUP (ORDER BY m.keys))::bigint[], '{0,0,0}'),
    coalesce(max(m.keys), 0)::bigint
FROM (SELECT pg_column_size(s.attrs) AS bytes, (SELECT count(*) FROM jsonb_object_keys(s.attrs)) AS keys
      FROM `+from+` WHERE {{live}}) m`), args...).
		Scan(&a.Sessions, &bytes, &a.Bytes.Max, &keys, &a.Keys.Max)
	if err != nil {
		return err
	}
	a.Bytes.P50, a.Bytes.P90, a.Bytes.P99 = bytes[0], bytes[1], bytes[2]
	a.Keys.P50, a.Keys.P90, a.Keys.P99 = keys[0], keys[1], keys[2]
	return nil
}

// readSizes reads each table's size from the catalog.
func readSizes(ctx context.Context, tx pgx.Tx, t tables, r *report, _ statsOptions) error {
	refs := make([]string, len(tableNames))
	for i, base := range tableNames {
		refs[i] = t.ref(base)
	}
	rows, err := tx.Query(ctx, `SELECT n.i::int, pg_total_relation_size(c), pg_table_size(c), pg_indexes_size(c)
FROM unnest($1::text[]) WITH ORDINALITY AS n(ref, i), to_regclass(n.ref) AS c
WHERE c IS NOT NULL ORDER BY n.i`, refs)
	if err != nil {
		return err
	}
	r.Tables, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (tableSize, error) {
		var i int
		var s tableSize
		err := row.Scan(&i, &s.Total, &s.Data, &s.Indexes)
		s.Table = t.name(tableNames[i-1])
		return s, err
	})
	return err
}

// readListeners finds the nodes listening now. pg_listening_channels shows
// only the calling backend's channels, and a listener's last statement is
// usually its heartbeat, which does not name the channel; so listeners are
// known by the application_name a Manager gives its listener connection,
// among the backends connected to this database. That counts the listeners
// of every deployment in the database (other schemas or prefixes too), and
// misses listeners that connect with an application_name of their own
// (Config.ListenerConnect) or to another server.
func readListeners(ctx context.Context, tx pgx.Tx, _ tables, r *report, _ statsOptions) error {
	rows, err := tx.Query(ctx, `SELECT substr(a.application_name, length($1) + 1), a.backend_start
FROM pg_stat_activity a
WHERE a.datname = current_database() AND starts_with(a.application_name, $1) AND a.pid <> pg_backend_pid()
ORDER BY 1, 2`, listenerPrefix)
	if err != nil {
		return err
	}
	r.Listeners, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (listener, error) {
		var l listener
		err := row.Scan(&l.Node, &l.Since)
		return l, err
	})
	return err
}

// readSweep reads the sweep's lease row. The table keeps no finish time:
// a finished pass leaves the time the next one is due.
func readSweep(ctx context.Context, tx pgx.Tx, t tables, r *report, _ statsOptions) error {
	var holder *string
	var leased bool
	s := &r.Sweep
	err := tx.QueryRow(ctx, t.expand(`SELECT m.holder, CASE WHEN isfinite(m.lease_until) THEN m.lease_until END,
    m.lease_until > now(), encode(m.cursor, 'hex')
FROM {{maintenance}} m WHERE m.name = 'sweep'`)).Scan(&holder, &s.LeaseUntil, &leased, &s.Cursor)
	if err != nil {
		return err
	}
	switch {
	case holder != nil && leased:
		s.State, s.Holder = "running", *holder
	case holder != nil:
		s.State, s.Holder = "interrupted", *holder
	case s.LeaseUntil == nil:
		s.State = "never"
	default:
		s.State = "idle"
	}
	return nil
}
