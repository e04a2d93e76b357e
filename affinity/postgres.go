package affinity

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pgsession/pgsession/internal/postgres"
)

// ErrSchemaVersion: with Config.ManualMigrations, the affinity tables are
// not the version this code needs. Apply them with Migrate (or
// "pgsession migrate up -affinity").
var ErrSchemaVersion = errors.New("schema version mismatch")

// sweepBatch bounds the rows one sweep statement deletes, and so how long it
// holds their locks.
const sweepBatch = 1000

// Postgres is a Store in a PostgreSQL table, <prefix>affinity. Every method
// is one round trip (SweepIdle: one per batch of 1000; Import: two when a
// row is already there). Expiry is judged by
// the database clock alone: idle timeouts are sent as intervals and compared
// with now() in SQL, never with the node's clock.
type Postgres struct {
	pool    *pgxpool.Pool
	cfg     Config
	idle    pgtype.Interval
	gran    pgtype.Interval
	seqName string

	getSQL, setSQL, touchSQL, deleteSQL, deleteWorkerSQL string
	countSQL, rerouteSQL, entriesSQL, sweepSQL           string
	importInsertSQL, importUpdateSQL                     string
}

var (
	_ Store      = (*Postgres)(nil)
	_ KeySweeper = (*Postgres)(nil)
)

// The columns every query that returns entries selects, in scanRow's order;
// $2 is the idle timeout.
const entryColumns = `id, worker_id, user_sub, version, created_at, last_access,
	(extract(epoch FROM last_access + $2::interval - now()) * 1000000)::bigint`

// live is the condition of a live row; $2 is the idle timeout.
const live = `last_access > now() - $2::interval`

const (
	sqlGet = `SELECT ` + entryColumns + ` FROM {{affinity}} WHERE app = $1 AND id = $3 AND ` + live

	// Set creates or replaces; a row that expired but was not yet swept
	// counts as new (its Created time restarts). The update takes its
	// version from the sequence once it holds the row's lock, so of two
	// racing pins the one that commits last has the higher version (the
	// value drawn for the insert attempt would not be).
	sqlSet = `INSERT INTO {{affinity}} AS a (app, id, worker_id, user_sub, version, created_at, last_access)
VALUES ($1, $3, $4, $5, nextval($6::regclass), now(), now())
ON CONFLICT (app, id) DO UPDATE SET
	worker_id   = excluded.worker_id,
	user_sub    = excluded.user_sub,
	version     = nextval($6::regclass),
	created_at  = CASE WHEN a.last_access > now() - $2::interval THEN a.created_at ELSE now() END,
	last_access = now()
RETURNING ` + entryColumns

	// Touch writes only when the recorded access is older than the
	// granularity ($4), and then only last_access, which no index covers: a
	// HOT update. Otherwise it reads. It never inserts.
	sqlTouch = `WITH touched AS (
	UPDATE {{affinity}} SET last_access = now()
	WHERE app = $1 AND id = $3 AND ` + live + ` AND last_access <= now() - $4::interval
	RETURNING ` + entryColumns + `
)
SELECT * FROM touched
UNION ALL
SELECT ` + entryColumns + ` FROM {{affinity}}
WHERE app = $1 AND id = $3 AND ` + live + ` AND NOT EXISTS (SELECT FROM touched)`

	sqlDelete = `DELETE FROM {{affinity}} WHERE app = $1 AND id = $3 RETURNING ` + live

	sqlDeleteWorker = `WITH gone AS (
	DELETE FROM {{affinity}} WHERE app = $1 AND worker_id = $3 RETURNING ` + live + ` AS live
)
SELECT count(*) FILTER (WHERE live) FROM gone`

	sqlCount = `SELECT count(*) FROM {{affinity}} WHERE app = $1 AND worker_id = ANY($3) AND ` + live

	sqlReroute = `WITH moved AS (
	UPDATE {{affinity}} SET worker_id = $4, version = nextval($5::regclass)
	WHERE app = $1 AND worker_id = $3 AND ` + live + `
	RETURNING 1
)
SELECT count(*) FROM moved`

	sqlEntries = `SELECT ` + entryColumns + ` FROM {{affinity}} WHERE app = $1 AND worker_id = $3 AND ` + live

	// A sweep batch re-checks the idle condition on the rows it deletes, so
	// a row touched since the inner scan survives.
	sqlSweep = `DELETE FROM {{affinity}}
WHERE app = $1 AND last_access <= now() - $2::interval AND id IN (
	SELECT id FROM {{affinity}} WHERE app = $1 AND last_access <= now() - $2::interval LIMIT $3
)
RETURNING id`
)

// NewPostgres returns a Store on pool. Unless cfg.ManualMigrations is set,
// it first applies the affinity tables' pending migrations (a chain of
// their own: pgsession's session tables are not created) for cfg.Schema and
// cfg.TablePrefix.
func NewPostgres(ctx context.Context, pool *pgxpool.Pool, cfg Config) (*Postgres, error) {
	cfg, err := cfg.WithDefaults()
	if err != nil {
		return nil, Op("new postgres store", err)
	}
	names, err := postgresNames(cfg)
	if err != nil {
		return nil, Op("new postgres store", err)
	}
	want := postgres.Affinity.LatestVersion(names)
	if cfg.ManualMigrations {
		have, err := postgres.Affinity.Version(ctx, pool, names)
		if err != nil {
			return nil, Op("new postgres store", err)
		}
		if have != want {
			return nil, Op("new postgres store", fmt.Errorf("%w: database has %d, code needs %d", ErrSchemaVersion, have, want))
		}
	} else if _, err := postgres.Affinity.Migrate(ctx, pool, names, want, cfg.CreateSchema); err != nil {
		return nil, Op("new postgres store", err)
	}
	return &Postgres{
		pool:            pool,
		cfg:             cfg,
		idle:            interval(cfg.IdleTimeout),
		gran:            interval(cfg.Granularity()),
		seqName:         names.Table("affinity_version"),
		getSQL:          names.Expand(sqlGet),
		setSQL:          names.Expand(sqlSet),
		touchSQL:        names.Expand(sqlTouch),
		deleteSQL:       names.Expand(sqlDelete),
		deleteWorkerSQL: names.Expand(sqlDeleteWorker),
		countSQL:        names.Expand(sqlCount),
		rerouteSQL:      names.Expand(sqlReroute),
		entriesSQL:      names.Expand(sqlEntries),
		sweepSQL:        names.Expand(sqlSweep),
		importInsertSQL: names.Expand(sqlImportInsert),
		importUpdateSQL: names.Expand(sqlImportUpdate),
	}, nil
}

func interval(d time.Duration) pgtype.Interval {
	return pgtype.Interval{Microseconds: d.Microseconds(), Valid: true}
}

// Config returns the configuration in force.
func (p *Postgres) Config() Config { return p.cfg }

// scanEntry reads one row of entryColumns.
func (p *Postgres) scanEntry(row pgx.Row) (Entry, error) {
	var (
		e         Entry
		id        []byte
		expiresUS int64
	)
	if err := row.Scan(&id, &e.WorkerID, &e.UserSub, &e.Version, &e.Created, &e.LastAccess, &expiresUS); err != nil {
		return Entry{}, err
	}
	if len(id) != len(e.Key) {
		return Entry{}, fmt.Errorf("stored key has %d bytes", len(id))
	}
	copy(e.Key[:], id)
	e.App = p.cfg.App
	e.ExpiresIn = time.Duration(expiresUS) * time.Microsecond
	return e, nil
}

// one runs a query that returns at most one entry; no row is ErrNotFound.
func (p *Postgres) one(ctx context.Context, sql string, args ...any) (Entry, error) {
	e, err := p.scanEntry(p.pool.QueryRow(ctx, sql, args...))
	if errors.Is(err, pgx.ErrNoRows) {
		return Entry{}, ErrNotFound
	}
	return e, err
}

// Get returns the live entry of sessionID, or ErrNotFound.
func (p *Postgres) Get(ctx context.Context, sessionID string) (Entry, error) {
	if err := CheckSessionID(sessionID); err != nil {
		return Entry{}, Op("get", err)
	}
	k := KeyOf(sessionID)
	e, err := p.one(ctx, p.getSQL, p.cfg.App, p.idle, k[:])
	return e, Op("get", err)
}

// Set pins sessionID to workerID, in one upsert.
func (p *Postgres) Set(ctx context.Context, sessionID, workerID, userSub string) (Entry, error) {
	if err := CheckPin(sessionID, workerID, userSub); err != nil {
		return Entry{}, Op("set", err)
	}
	k := KeyOf(sessionID)
	e, err := p.one(ctx, p.setSQL, p.cfg.App, p.idle, k[:], workerID, userSub, p.seqName)
	return e, Op("set", err)
}

// Touch records an access to a live entry, at most once per granularity.
func (p *Postgres) Touch(ctx context.Context, sessionID string) (Entry, error) {
	if err := CheckSessionID(sessionID); err != nil {
		return Entry{}, Op("touch", err)
	}
	k := KeyOf(sessionID)
	e, err := p.one(ctx, p.touchSQL, p.cfg.App, p.idle, k[:], p.gran)
	return e, Op("touch", err)
}

// Delete removes the entry of sessionID.
func (p *Postgres) Delete(ctx context.Context, sessionID string) error {
	if err := CheckSessionID(sessionID); err != nil {
		return Op("delete", err)
	}
	k := KeyOf(sessionID)
	var wasLive bool
	err := p.pool.QueryRow(ctx, p.deleteSQL, p.cfg.App, p.idle, k[:]).Scan(&wasLive)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && !wasLive) {
		err = ErrNotFound
	}
	return Op("delete", err)
}

// DeleteByWorker removes every entry of workerID, through the worker index.
func (p *Postgres) DeleteByWorker(ctx context.Context, workerID string) (int, error) {
	if err := CheckWorkerID(workerID); err != nil {
		return 0, Op("delete by worker", err)
	}
	var n int
	err := p.pool.QueryRow(ctx, p.deleteWorkerSQL, p.cfg.App, p.idle, workerID).Scan(&n)
	return n, Op("delete by worker", err)
}

// CountForWorker counts the live entries of workerID.
func (p *Postgres) CountForWorker(ctx context.Context, workerID string) (int, error) {
	if err := CheckWorkerID(workerID); err != nil {
		return 0, Op("count for worker", err)
	}
	n, err := p.count(ctx, []string{workerID})
	return n, Op("count for worker", err)
}

// CountForWorkers counts the live entries of workerIDs.
func (p *Postgres) CountForWorkers(ctx context.Context, workerIDs []string) (int, error) {
	for _, w := range workerIDs {
		if err := CheckWorkerID(w); err != nil {
			return 0, Op("count for workers", err)
		}
	}
	n, err := p.count(ctx, uniq(workerIDs))
	return n, Op("count for workers", err)
}

func (p *Postgres) count(ctx context.Context, workerIDs []string) (int, error) {
	if len(workerIDs) == 0 {
		return 0, ctx.Err()
	}
	var n int
	err := p.pool.QueryRow(ctx, p.countSQL, p.cfg.App, p.idle, workerIDs).Scan(&n)
	return n, err
}

// RerouteWorker moves every live entry of oldWorkerID to newWorkerID.
func (p *Postgres) RerouteWorker(ctx context.Context, oldWorkerID, newWorkerID string) (int, error) {
	if err := CheckWorkerID(oldWorkerID); err != nil {
		return 0, Op("reroute worker", err)
	}
	if err := CheckWorkerID(newWorkerID); err != nil {
		return 0, Op("reroute worker", err)
	}
	if oldWorkerID == newWorkerID {
		n, err := p.count(ctx, []string{oldWorkerID})
		return n, Op("reroute worker", err)
	}
	var n int
	err := p.pool.QueryRow(ctx, p.rerouteSQL, p.cfg.App, p.idle, oldWorkerID, newWorkerID, p.seqName).Scan(&n)
	return n, Op("reroute worker", err)
}

// EntriesForWorker returns the live entries of workerID.
func (p *Postgres) EntriesForWorker(ctx context.Context, workerID string) ([]Entry, error) {
	if err := CheckWorkerID(workerID); err != nil {
		return nil, Op("entries for worker", err)
	}
	rows, err := p.pool.Query(ctx, p.entriesSQL, p.cfg.App, p.idle, workerID)
	if err != nil {
		return nil, Op("entries for worker", err)
	}
	out := []Entry{}
	for rows.Next() {
		e, err := p.scanEntry(rows)
		if err != nil {
			rows.Close()
			return nil, Op("entries for worker", err)
		}
		out = append(out, e)
	}
	return out, Op("entries for worker", rows.Err())
}

// SweepIdle removes entries idle for longer than maxIdle, in batches.
func (p *Postgres) SweepIdle(ctx context.Context, maxIdle time.Duration) (int, error) {
	keys, err := p.sweep(ctx, maxIdle)
	return len(keys), Op("sweep idle", err)
}

// SweepIdleKeys is SweepIdle returning the removed keys.
func (p *Postgres) SweepIdleKeys(ctx context.Context, maxIdle time.Duration) ([]Key, error) {
	keys, err := p.sweep(ctx, maxIdle)
	return keys, Op("sweep idle", err)
}

func (p *Postgres) sweep(ctx context.Context, maxIdle time.Duration) ([]Key, error) {
	cutoff := interval(SweepCutoff(p.cfg, maxIdle))
	var keys []Key
	for {
		rows, err := p.pool.Query(ctx, p.sweepSQL, p.cfg.App, cutoff, sweepBatch)
		if err != nil {
			return keys, err
		}
		n := 0
		for rows.Next() {
			var id []byte
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return keys, err
			}
			var k Key
			copy(k[:], id)
			keys = append(keys, k)
			n++
		}
		if err := rows.Err(); err != nil {
			return keys, err
		}
		if n < sweepBatch {
			return keys, nil
		}
	}
}
