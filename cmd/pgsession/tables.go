package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pgsession/pgsession"
)

// The read-only commands (stats, sessions list -all, sessions count and the
// count revoke-all shows before it runs) read the tables with SQL of their
// own: the library has no call for the newest sessions of every user, for
// counts or for sizes, and paging through Manager.All would carry every
// session's attributes to the CLI to answer them. That SQL is written for the
// schema version this pgsession's library makes, which withSchema checks
// first, so a database that is behind or ahead gets an error, not a wrong
// answer.

// tableNames are the tables of a deployment, without the prefix.
var tableNames = []string{"sessions", "maintenance", "locks", "changes", "migrations", "affinity", "affinity_migrations"}

// (The affinity tables exist only where the affinity store is used: the
// commands that list tables skip the ones missing.)

// liveSQL is true for a live session row s: neither its absolute nor its
// idle deadline has passed, by the database clock. It is the library's own
// test (internal/postgres, `live`), and must stay the same.
const liveSQL = `(s.expires_at > now() AND (s.idle_timeout IS NULL OR s.last_seen_at + s.idle_timeout > now()))`

// tables names one deployment's relations: a schema and a table prefix,
// already validated by pgsession.SchemaVersion.
type tables struct{ schema, prefix string }

// name is a table's name as output shows it, unqualified.
func (t tables) name(base string) string { return t.prefix + base }

// ref is a table's quoted, schema-qualified name, for SQL.
func (t tables) ref(base string) string {
	return pgx.Identifier{t.schema, t.prefix + base}.Sanitize()
}

// expand replaces {{table}} in sql with that table's ref and {{live}} with
// liveSQL. Only these fixed, quoted names are ever put into SQL.
func (t tables) expand(sql string) string {
	pairs := []string{"{{live}}", liveSQL}
	for _, base := range tableNames {
		pairs = append(pairs, "{{"+base+"}}", t.ref(base))
	}
	return strings.NewReplacer(pairs...).Replace(sql)
}

// withSchema runs a read-only command's work on a pool opened for it, once
// the schema is known to be the version this pgsession reads.
func (c *cli) withSchema(ctx context.Context, name string, d *dbFlags, run func(context.Context, *pgxpool.Pool, tables) int) int {
	return c.withPool(ctx, name, d, func(ctx context.Context, pool *pgxpool.Pool) int {
		if err := checkSchema(ctx, pool, d); err != nil {
			return c.fail(name, err)
		}
		return run(ctx, pool, tables{schema: d.schema, prefix: d.prefix})
	})
}

// checkSchema fails unless the database holds the schema version this
// pgsession makes, saying what to do about it.
func checkSchema(ctx context.Context, pool *pgxpool.Pool, d *dbFlags) error {
	have, want, err := pgsession.SchemaVersion(ctx, pool, d.config())
	switch {
	case err != nil:
		return err
	case have < want:
		return fmt.Errorf("%w: %s: database has %d, this pgsession needs %d\n(run \"pgsession migrate up\" with the same -schema and -prefix)",
			pgsession.ErrSchemaVersion, d.where(), have, want)
	case have > want:
		return fmt.Errorf("%w: %s: database has %d, newer than this pgsession (%d): use a newer pgsession",
			pgsession.ErrSchemaVersion, d.where(), have, want)
	}
	return nil
}
