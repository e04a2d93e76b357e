package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql affinity_migrations/*.sql
var migrationFiles embed.FS

// Chain is one line of migrations, with a tracking table and an advisory
// lock of its own, so that each part of the schema is created only by
// what uses it.
type Chain struct {
	dir     string // folder of its files
	tracker string // its tracking table, before the prefix
	lock    int32  // second key of its advisory lock (the first: LockClass)
}

var (
	// Sessions is the chain of the session tables, locks and change log,
	// applied by pgsession.New and the CLI.
	Sessions = &Chain{dir: "migrations", tracker: "migrations", lock: 0}
	// Affinity is the chain of the affinity store's tables, applied by
	// affinity.NewPostgres.
	Affinity = &Chain{dir: "affinity_migrations", tracker: "affinity_migrations", lock: 1}
)

// Migration is one versioned schema step.
type Migration struct {
	Version int
	Name    string
	Up      string
	Down    string
}

// Migrations returns every migration in version order, with identifiers expanded.
func (c *Chain) Migrations(n *Names) []Migration {
	byVersion := map[int]*Migration{}
	entries, _ := fs.ReadDir(migrationFiles, c.dir)
	for _, e := range entries {
		name := e.Name() // 001_sessions.up.sql
		num, rest, ok := strings.Cut(name, "_")
		if !ok {
			continue
		}
		v, err := strconv.Atoi(num)
		if err != nil {
			continue
		}
		body, _ := migrationFiles.ReadFile(c.dir + "/" + name)
		m := byVersion[v]
		if m == nil {
			m = &Migration{Version: v}
			byVersion[v] = m
		}
		switch {
		case strings.HasSuffix(rest, ".up.sql"):
			m.Name = strings.TrimSuffix(rest, ".up.sql")
			m.Up = n.Expand(string(body))
		case strings.HasSuffix(rest, ".down.sql"):
			m.Down = n.Expand(string(body))
		}
	}
	out := make([]Migration, 0, len(byVersion))
	for _, m := range byVersion {
		out = append(out, *m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out
}

// LatestVersion is the schema version this code expects.
func (c *Chain) LatestVersion(n *Names) int {
	ms := c.Migrations(n)
	return ms[len(ms)-1].Version
}

// tracking is the quoted name of the chain's tracking table.
func (c *Chain) tracking(n *Names) string { return n.Table(c.tracker) }

// TrackingTableSQL creates the table that records applied migrations.
func (c *Chain) TrackingTableSQL(n *Names) string {
	return `CREATE TABLE IF NOT EXISTS ` + c.tracking(n) + ` (
    version    integer     PRIMARY KEY,
    name       text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);`
}

// RecordSQL is the statement that records (up) or forgets (down) a
// migration in the tracking table, for printed SQL. Version and name are our
// own constants, never user input.
func (c *Chain) RecordSQL(n *Names, m Migration, up bool) string {
	if up {
		return fmt.Sprintf(`INSERT INTO %s (version, name) VALUES (%d, '%s');`, c.tracking(n), m.Version, m.Name)
	}
	return fmt.Sprintf(`DELETE FROM %s WHERE version = %d;`, c.tracking(n), m.Version)
}

func (c *Chain) ensureTrackingTable(ctx context.Context, tx pgx.Tx, n *Names, createSchema bool) error {
	if createSchema {
		if _, err := tx.Exec(ctx, n.Expand(`CREATE SCHEMA IF NOT EXISTS {{schema}}`)); err != nil {
			return fmt.Errorf("create schema: %w", err)
		}
	}
	_, err := tx.Exec(ctx, c.TrackingTableSQL(n))
	if err != nil {
		return fmt.Errorf("create migrations table: %w", err)
	}
	return nil
}

// Version returns the applied schema version (0 when nothing is applied).
func (c *Chain) Version(ctx context.Context, pool *pgxpool.Pool, n *Names) (int, error) {
	var exists bool
	err := pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, c.tracking(n)).Scan(&exists)
	if err != nil || !exists {
		return 0, err
	}
	var v int
	err = pool.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM `+c.tracking(n)).Scan(&v)
	return v, err
}

// Migrate moves the schema to target (LatestVersion for all pending steps;
// lower to roll back) in one transaction, serialized across nodes by an
// advisory lock. It returns the versions applied or rolled back.
func (c *Chain) Migrate(ctx context.Context, pool *pgxpool.Pool, n *Names, target int, createSchema bool) ([]int, error) {
	var done []int
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, $2)`, n.LockClass(), c.lock); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		if err := c.ensureTrackingTable(ctx, tx, n, createSchema); err != nil {
			return err
		}
		var current int
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM `+c.tracking(n)).Scan(&current); err != nil {
			return err
		}
		ms := c.Migrations(n)
		if current < target {
			for _, m := range ms {
				if m.Version <= current || m.Version > target {
					continue
				}
				if _, err := tx.Exec(ctx, m.Up); err != nil {
					return fmt.Errorf("migration %03d_%s up: %w", m.Version, m.Name, err)
				}
				if _, err := tx.Exec(ctx, `INSERT INTO `+c.tracking(n)+` (version, name) VALUES ($1, $2)`, m.Version, m.Name); err != nil {
					return err
				}
				done = append(done, m.Version)
			}
			return nil
		}
		for i := len(ms) - 1; i >= 0; i-- {
			m := ms[i]
			if m.Version > current || m.Version <= target {
				continue
			}
			if _, err := tx.Exec(ctx, m.Down); err != nil {
				return fmt.Errorf("migration %03d_%s down: %w", m.Version, m.Name, err)
			}
			if _, err := tx.Exec(ctx, `DELETE FROM `+c.tracking(n)+` WHERE version = $1`, m.Version); err != nil {
				return err
			}
			done = append(done, m.Version)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return done, nil
}

// SQL returns the chain's migrations as one transaction, up (in order) or
// down (in reverse), recording the versions as Migrate does, for teams
// that apply schema changes with their own tool.
func (c *Chain) SQL(n *Names, down, createSchema bool) string {
	ms := c.Migrations(n)
	var b strings.Builder
	b.WriteString("BEGIN;\n")
	if createSchema && !down {
		fmt.Fprintf(&b, "CREATE SCHEMA IF NOT EXISTS %s;\n", n.Expand("{{schema}}"))
	}
	b.WriteString(c.TrackingTableSQL(n) + "\n")
	for i := range ms {
		m, body, dir := ms[i], ms[i].Up, "up"
		if down {
			m = ms[len(ms)-1-i]
			body, dir = m.Down, "down"
		}
		fmt.Fprintf(&b, "\n-- pgsession migration %03d_%s (%s)\n%s\n%s\n",
			m.Version, m.Name, dir, strings.TrimSpace(body), c.RecordSQL(n, m, !down))
	}
	b.WriteString("COMMIT;\n")
	return b.String()
}
