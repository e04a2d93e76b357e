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

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migration is one versioned schema step.
type Migration struct {
	Version int
	Name    string
	Up      string
	Down    string
}

// Migrations returns every migration in version order, with identifiers expanded.
func Migrations(n *Names) []Migration {
	byVersion := map[int]*Migration{}
	entries, _ := fs.ReadDir(migrationFiles, "migrations")
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
		body, _ := migrationFiles.ReadFile("migrations/" + name)
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
func LatestVersion(n *Names) int {
	ms := Migrations(n)
	return ms[len(ms)-1].Version
}

// TrackingTableSQL creates the table that records applied migrations.
func TrackingTableSQL(n *Names) string {
	return n.Expand(`CREATE TABLE IF NOT EXISTS {{migrations}} (
    version    integer     PRIMARY KEY,
    name       text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);`)
}

// RecordSQL is the statement that records (up) or forgets (down) a
// migration in the tracking table, for printed SQL. Version and name are our
// own constants, never user input.
func RecordSQL(n *Names, m Migration, up bool) string {
	if up {
		return n.Expand(fmt.Sprintf(`INSERT INTO {{migrations}} (version, name) VALUES (%d, '%s');`, m.Version, m.Name))
	}
	return n.Expand(fmt.Sprintf(`DELETE FROM {{migrations}} WHERE version = %d;`, m.Version))
}

func (n *Names) ensureMigrationsTable(ctx context.Context, tx pgx.Tx, createSchema bool) error {
	if createSchema {
		if _, err := tx.Exec(ctx, n.Expand(`CREATE SCHEMA IF NOT EXISTS {{schema}}`)); err != nil {
			return fmt.Errorf("create schema: %w", err)
		}
	}
	_, err := tx.Exec(ctx, TrackingTableSQL(n))
	if err != nil {
		return fmt.Errorf("create migrations table: %w", err)
	}
	return nil
}

// Version returns the applied schema version (0 when nothing is applied).
func Version(ctx context.Context, pool *pgxpool.Pool, n *Names) (int, error) {
	var exists bool
	err := pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, n.Table("migrations")).Scan(&exists)
	if err != nil || !exists {
		return 0, err
	}
	var v int
	err = pool.QueryRow(ctx, n.Expand(`SELECT coalesce(max(version), 0) FROM {{migrations}}`)).Scan(&v)
	return v, err
}

// Migrate moves the schema to target (LatestVersion for all pending steps;
// lower to roll back) in one transaction, serialized across nodes by an
// advisory lock. It returns the versions applied or rolled back.
func Migrate(ctx context.Context, pool *pgxpool.Pool, n *Names, target int, createSchema bool) ([]int, error) {
	var done []int
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, 0)`, n.LockClass()); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		if err := n.ensureMigrationsTable(ctx, tx, createSchema); err != nil {
			return err
		}
		var current int
		if err := tx.QueryRow(ctx, n.Expand(`SELECT coalesce(max(version), 0) FROM {{migrations}}`)).Scan(&current); err != nil {
			return err
		}
		ms := Migrations(n)
		if current < target {
			for _, m := range ms {
				if m.Version <= current || m.Version > target {
					continue
				}
				if _, err := tx.Exec(ctx, m.Up); err != nil {
					return fmt.Errorf("migration %03d_%s up: %w", m.Version, m.Name, err)
				}
				if _, err := tx.Exec(ctx, n.Expand(`INSERT INTO {{migrations}} (version, name) VALUES ($1, $2)`), m.Version, m.Name); err != nil {
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
			if _, err := tx.Exec(ctx, n.Expand(`DELETE FROM {{migrations}} WHERE version = $1`), m.Version); err != nil {
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
