package main

import (
	"context"
	"flag"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/affinity"
)

// chain is the line of migrations a migrate command moves: pgsession's
// session tables, or with -affinity the affinity store's, which have a
// chain of their own so that only a deployment using them gets them.
type chain struct {
	what    string // for messages: "" or " (affinity tables)"
	hint    string // the command that applies it
	up      func(ctx context.Context, pool *pgxpool.Pool, d *dbFlags, create bool) ([]int, error)
	down    func(ctx context.Context, pool *pgxpool.Pool, d *dbFlags, target int) ([]int, error)
	version func(ctx context.Context, pool *pgxpool.Pool, d *dbFlags) (have, want int, err error)
	sql     func(d *dbFlags, down, create bool) (string, error)
}

// addChainFlag adds -affinity to a migrate command and returns the chain
// it chose, once the flags are parsed.
func addChainFlag(fs *flag.FlagSet) func() chain {
	aff := fs.Bool("affinity", false, "act on the affinity store's tables (their own migration chain) instead of the session tables")
	return func() chain {
		if *aff {
			return affinityChain
		}
		return sessionsChain
	}
}

var sessionsChain = chain{
	hint: "pgsession migrate up",
	up: func(ctx context.Context, pool *pgxpool.Pool, d *dbFlags, create bool) ([]int, error) {
		cfg := d.config()
		cfg.CreateSchema = create
		return pgsession.Migrate(ctx, pool, cfg)
	},
	down: func(ctx context.Context, pool *pgxpool.Pool, d *dbFlags, target int) ([]int, error) {
		return pgsession.MigrateDown(ctx, pool, d.config(), target)
	},
	version: func(ctx context.Context, pool *pgxpool.Pool, d *dbFlags) (int, int, error) {
		return pgsession.SchemaVersion(ctx, pool, d.config())
	},
	sql: func(d *dbFlags, down, create bool) (string, error) {
		cfg := d.config()
		cfg.CreateSchema = create
		return pgsession.MigrationSQL(cfg, down)
	},
}

var affinityChain = chain{
	what: " (affinity tables)",
	hint: "pgsession migrate up -affinity",
	up: func(ctx context.Context, pool *pgxpool.Pool, d *dbFlags, create bool) ([]int, error) {
		cfg := d.affinityConfig()
		cfg.CreateSchema = create
		return affinity.Migrate(ctx, pool, cfg)
	},
	down: func(ctx context.Context, pool *pgxpool.Pool, d *dbFlags, target int) ([]int, error) {
		return affinity.MigrateDown(ctx, pool, d.affinityConfig(), target)
	},
	version: func(ctx context.Context, pool *pgxpool.Pool, d *dbFlags) (int, int, error) {
		return affinity.SchemaVersion(ctx, pool, d.affinityConfig())
	},
	sql: func(d *dbFlags, down, create bool) (string, error) {
		cfg := d.affinityConfig()
		cfg.CreateSchema = create
		return affinity.MigrationSQL(cfg, down)
	},
}

// affinityConfig names the affinity store's tables as config does the
// session tables.
func (d *dbFlags) affinityConfig() affinity.Config {
	return affinity.Config{Schema: d.schema, TablePrefix: d.prefix}
}
