package pgsession

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pgsession/pgsession/internal/postgres"
)

// Migrate applies every pending schema migration for cfg's Schema and
// TablePrefix in one transaction (serialized across nodes) and returns the
// versions applied. New does this itself unless Config.ManualMigrations.
func Migrate(ctx context.Context, pool *pgxpool.Pool, cfg Config) ([]int, error) {
	names, err := schemaNames(cfg.namesOnly())
	if err != nil {
		return nil, op("migrate", err)
	}
	done, err := postgres.Sessions.Migrate(ctx, pool, names, postgres.Sessions.LatestVersion(names), cfg.CreateSchema)
	return done, op("migrate", err)
}

// MigrateDown rolls the schema back to version target (0 removes every
// table of every migration; the table that records applied versions stays,
// empty) and returns the versions rolled back. Sessions in dropped tables
// are lost.
func MigrateDown(ctx context.Context, pool *pgxpool.Pool, cfg Config, target int) ([]int, error) {
	names, err := schemaNames(cfg.namesOnly())
	if err != nil {
		return nil, op("migrate down", err)
	}
	done, err := postgres.Sessions.Migrate(ctx, pool, names, max(target, 0), false)
	return done, op("migrate down", err)
}

// SchemaVersion returns the applied schema version and the one this code needs.
func SchemaVersion(ctx context.Context, pool *pgxpool.Pool, cfg Config) (have, want int, err error) {
	names, err := schemaNames(cfg.namesOnly())
	if err != nil {
		return 0, 0, op("schema version", err)
	}
	have, err = postgres.Sessions.Version(ctx, pool, names)
	return have, postgres.Sessions.LatestVersion(names), op("schema version", err)
}

// MigrationSQL returns the SQL of every migration, up (in order) or down (in
// reverse), for teams that apply schema changes with their own tool. It also
// keeps pgsession's own record of applied versions, so a Manager with
// ManualMigrations accepts a schema built from it.
func MigrationSQL(cfg Config, down bool) (string, error) {
	names, err := schemaNames(cfg.namesOnly())
	if err != nil {
		return "", op("migration sql", err)
	}
	return postgres.Sessions.SQL(names, down, cfg.CreateSchema), nil
}

// namesOnly fills the defaults that decide table names, nothing else.
func (cfg Config) namesOnly() Config {
	if cfg.Schema == "" {
		cfg.Schema = "public"
	}
	if cfg.TablePrefix == "" {
		cfg.TablePrefix = "pgsession_"
	}
	return cfg
}
