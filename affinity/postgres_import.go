package affinity

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

var _ Importer = (*Postgres)(nil)

// importAttempts bounds the tries of an import whose row was deleted or
// expired between its insert attempt and its update.
const importAttempts = 4

// An import is an insert that leaves an existing row alone, and, when
// there is one, an update of that row under its lock. Both judge times by
// the database clock, and return an outcome before the entry's columns.
const (
	// Parameters: $1 app, $2 idle, $3 id, $4 worker, $5 user, $6 created,
	// $7 last access, $8 sequence, $9 skew. Exactly one row: 'created' and
	// the new row; 'future' or 'expired' (nothing written); or 'ok' when a
	// row is in the way. The last two carry placeholder columns.
	sqlImportInsert = `WITH verdict AS (
	SELECT CASE
		WHEN $7::timestamptz > now() + $9::interval THEN 'future'
		WHEN $7::timestamptz <= now() - $2::interval THEN 'expired'
		ELSE 'ok' END AS v
), ins AS (
	INSERT INTO {{affinity}} (app, id, worker_id, user_sub, version, created_at, last_access)
	SELECT $1::text, $3::bytea, $4::text, $5::text, nextval($8::regclass), $6::timestamptz, $7::timestamptz
	FROM verdict WHERE v = 'ok'
	ON CONFLICT (app, id) DO NOTHING
	RETURNING ` + entryColumns + `
)
SELECT 'created', * FROM ins
UNION ALL
SELECT v, $3::bytea, '', '', 0::bigint, now(), now(), 0::bigint FROM verdict WHERE NOT EXISTS (SELECT FROM ins)`

	// Parameters: $1 to $8 as above. The row is locked first (old), so the
	// decision and the write see the same version of it. One row,
	// 'created' (it had expired), 'updated' or 'kept', or none when the
	// row is gone or the import has since expired: then try again.
	sqlImportUpdate = `WITH old AS (
	SELECT id AS k_id, worker_id AS k_worker, user_sub AS k_user, version AS k_version,
		created_at AS k_created, last_access AS k_last, ` + live + ` AS was_live
	FROM {{affinity}} WHERE app = $1 AND id = $3 FOR UPDATE
), up AS (
	UPDATE {{affinity}} AS a SET
		worker_id   = $4,
		user_sub    = $5,
		version     = nextval($8::regclass),
		created_at  = CASE WHEN old.was_live THEN least(old.k_created, $6::timestamptz) ELSE $6::timestamptz END,
		last_access = $7::timestamptz
	FROM old
	WHERE a.app = $1 AND a.id = $3 AND $7::timestamptz > now() - $2::interval
		AND (NOT old.was_live OR a.last_access < $7::timestamptz)
	RETURNING CASE WHEN old.was_live THEN 'updated' ELSE 'created' END, ` + entryColumns + `
)
SELECT * FROM up
UNION ALL
SELECT 'kept', k_id, k_worker, k_user, k_version, k_created, k_last,
	(extract(epoch FROM k_last + $2::interval - now()) * 1000000)::bigint
FROM old WHERE was_live AND NOT EXISTS (SELECT FROM up)`
)

// Import writes an entry with its own times; see Importer. It is one
// round trip when no row is in the way, else two.
func (p *Postgres) Import(ctx context.Context, in ImportEntry) (Entry, ImportOutcome, error) {
	in, err := CheckImport(in)
	if err != nil {
		return Entry{}, 0, Op("import", err)
	}
	k := KeyOf(in.SessionID)
	args := []any{p.cfg.App, p.idle, k[:], in.WorkerID, in.UserSub, in.Created, in.LastAccess, p.seqName}
	for range importAttempts {
		status, e, err := p.importRow(p.pool.QueryRow(ctx, p.importInsertSQL, append(args, interval(ImportSkew))...))
		switch {
		case err != nil:
			return Entry{}, 0, Op("import", err)
		case status == "created":
			return e, ImportCreated, nil
		case status == "future":
			return Entry{}, 0, Op("import", errFuture(in.LastAccess))
		case status == "expired":
			return Entry{}, 0, Op("import", ErrExpired)
		case status != "ok":
			return Entry{}, 0, Op("import", fmt.Errorf("unexpected import status %q", status))
		}
		status, e, err = p.importRow(p.pool.QueryRow(ctx, p.importUpdateSQL, args...))
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			continue
		case err != nil:
			return Entry{}, 0, Op("import", err)
		case status == "created":
			return e, ImportCreated, nil
		case status == "updated":
			return e, ImportUpdated, nil
		case status == "kept":
			return e, ImportKept, nil
		}
		return Entry{}, 0, Op("import", fmt.Errorf("unexpected import status %q", status))
	}
	return Entry{}, 0, Op("import", errors.New("the row changed on every attempt"))
}

// importRow reads an import's status and entry.
func (p *Postgres) importRow(row pgx.Row) (string, Entry, error) {
	var status string
	e, err := p.scanEntry(statusRow{row, &status})
	return status, e, err
}

// statusRow is a row with a status column before the entry's columns.
type statusRow struct {
	row    pgx.Row
	status *string
}

func (r statusRow) Scan(dest ...any) error {
	return r.row.Scan(append([]any{r.status}, dest...)...)
}
