package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pgsession/pgsession/affinity"
)

// blockyard's sticky-session table, as its migrations make it: id TEXT
// PRIMARY KEY (the session cookie's value), worker_id TEXT NOT NULL,
// user_sub TEXT NOT NULL (default empty), last_access TIMESTAMPTZ NOT NULL and
// expires_at TIMESTAMPTZ NOT NULL (last_access plus blockyard's idle TTL,
// or a century ahead when that is 0). It was created in public and later
// moved to the schema blockyard; blockyard finds it through its
// search_path, "blockyard, public", and so does the import by default.
const blockyardTable = "blockyard_sessions"

var blockyardSchemas = []string{"blockyard", "public"}

// Every column is read as nullable, and text as it is stored, so a table
// that is not quite blockyard's (a copy made with CREATE TABLE AS keeps no
// NOT NULL; a SQL_ASCII database keeps any bytes) is reported row by row
// rather than failing the whole read. live and future are judged by the
// source database's clock: $3 is the idle timeout, $4 the skew.
const sqlBlockyardBatch = `SELECT id, worker_id, user_sub, last_access, expires_at,
	coalesce(expires_at > now() AND last_access > now() - $3::interval, false),
	coalesce(last_access > now() + $4::interval, false)
FROM %s WHERE id %s $1 ORDER BY id LIMIT $2`

// A row without an id cannot be paged to: it is counted here and reported.
const sqlBlockyardCount = `SELECT count(*), count(*) FILTER (WHERE id IS NULL) FROM %s`

const sqlBlockyardSchema = `SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relname = $1 AND n.nspname = ANY($2) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
ORDER BY array_position($2, n.nspname) LIMIT 1`

// blockyardRow is one row of the table.
type blockyardRow struct {
	id                    string
	worker, user          *string
	lastAccess, expiresAt *time.Time
	live, future          bool
}

// findBlockyardSchema returns the first schema of blockyard's search_path
// that holds table.
func findBlockyardSchema(ctx context.Context, pool *pgxpool.Pool, table string) (string, error) {
	var schema string
	err := pool.QueryRow(ctx, sqlBlockyardSchema, table, blockyardSchemas).Scan(&schema)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("no table %s in schema %s: pass -from-schema",
			forTerminal(table), strings.Join(blockyardSchemas, " or "))
	}
	return schema, err
}

// readBlockyardBatch reads up to limit rows with ids after last (from the
// first id on when first is set), in order.
func readBlockyardBatch(ctx context.Context, pool *pgxpool.Pool, src, last string, first bool, limit int, idle time.Duration) ([]blockyardRow, error) {
	op := ">"
	if first {
		op = ">=" // '' is an id too, a malformed one
	}
	rows, err := pool.Query(ctx, fmt.Sprintf(sqlBlockyardBatch, src, op), last, limit, idle, affinity.ImportSkew)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (blockyardRow, error) {
		var r blockyardRow
		err := row.Scan(&r.id, &r.worker, &r.user, &r.lastAccess, &r.expiresAt, &r.live, &r.future)
		return r, err
	})
}

// problem says why r cannot be imported, with the rules affinity applies
// (so the import itself never refuses it), or "" if it can. It names
// columns, never their values.
func (r blockyardRow) problem() string {
	switch {
	case r.id == "":
		return "id is empty"
	case len(r.id) > affinity.MaxSessionIDLength:
		return fmt.Sprintf("id is longer than %d bytes", affinity.MaxSessionIDLength)
	case r.lastAccess == nil:
		return "last_access is NULL"
	case r.expiresAt == nil:
		return "expires_at is NULL"
	case r.future:
		return fmt.Sprintf("last_access is more than %v in the future", affinity.ImportSkew)
	}
	if p := textProblem("worker_id", r.worker, affinity.MaxWorkerIDLength); p != "" {
		return p
	}
	if r.worker != nil && *r.worker == "" {
		return "worker_id is empty"
	}
	return textProblem("user_sub", r.user, affinity.MaxUserSubLength)
}

func textProblem(col string, v *string, max int) string {
	switch {
	case v == nil:
		return col + " is NULL"
	case len(*v) > max:
		return fmt.Sprintf("%s is longer than %d bytes", col, max)
	case !utf8.ValidString(*v):
		return col + " is not valid UTF-8"
	case strings.IndexByte(*v, 0) >= 0:
		return col + " contains NUL"
	}
	return ""
}

// entry is r as an affinity import: blockyard keeps no creation time, so
// Created is left to default to the last access.
func (r blockyardRow) entry() affinity.ImportEntry {
	return affinity.ImportEntry{SessionID: r.id, WorkerID: *r.worker, UserSub: *r.user, LastAccess: *r.lastAccess}
}

// clipID shortens a session ID for a report: the ID is the user's cookie,
// a credential, so only its start is shown. Unlike clip, it keeps invalid
// UTF-8 as bytes, for forTerminal to show as \xNN.
func clipID(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for range n - 1 {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return s[:i] + "…"
}

// reportKey names the row of id in a report: its start, escaped.
func reportKey(id string) string {
	if id == "" {
		return `""`
	}
	return forTerminal(clipID(id, 12))
}
