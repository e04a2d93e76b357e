package affinity

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pgsession/pgsession/internal/postgres"
)

// Migrate applies the affinity tables' pending migrations for cfg.Schema
// and cfg.TablePrefix, serialized across processes, and returns the
// versions it applied. NewPostgres calls it unless cfg.ManualMigrations.
func Migrate(ctx context.Context, pool *pgxpool.Pool, cfg Config) ([]int, error) {
	names, err := postgresNames(cfg)
	if err != nil {
		return nil, Op("migrate", err)
	}
	done, err := postgres.Affinity.Migrate(ctx, pool, names, postgres.Affinity.LatestVersion(names), cfg.CreateSchema)
	return done, Op("migrate", err)
}

// MigrateDown rolls the affinity tables back to target (0 drops them).
func MigrateDown(ctx context.Context, pool *pgxpool.Pool, cfg Config, target int) ([]int, error) {
	names, err := postgresNames(cfg)
	if err != nil {
		return nil, Op("migrate down", err)
	}
	done, err := postgres.Affinity.Migrate(ctx, pool, names, max(target, 0), false)
	return done, Op("migrate down", err)
}

// SchemaVersion returns the affinity tables' applied version and the one
// this code needs.
func SchemaVersion(ctx context.Context, pool *pgxpool.Pool, cfg Config) (have, want int, err error) {
	names, err := postgresNames(cfg)
	if err != nil {
		return 0, 0, Op("schema version", err)
	}
	have, err = postgres.Affinity.Version(ctx, pool, names)
	return have, postgres.Affinity.LatestVersion(names), Op("schema version", err)
}

// MigrationSQL returns the affinity tables' migrations as one transaction,
// up or down, recording the versions as Migrate does, for teams that apply
// schema changes with their own tool (then set Config.ManualMigrations).
func MigrationSQL(cfg Config, down bool) (string, error) {
	names, err := postgresNames(cfg)
	if err != nil {
		return "", Op("migration sql", err)
	}
	return postgres.Affinity.SQL(names, down, cfg.CreateSchema), nil
}

func postgresNames(cfg Config) (*postgres.Names, error) {
	cfg, err := cfg.WithDefaults()
	if err != nil {
		return nil, err
	}
	names, err := postgres.NewNames(cfg.Schema, cfg.TablePrefix)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidConfig, err)
	}
	return names, nil
}
