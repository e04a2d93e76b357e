package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
)

// openPool connects for a migrate command.
func (c *cli) openPool(ctx context.Context, d *dbFlags) (*pgxpool.Pool, error) {
	url, err := c.connString(d)
	if err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("database URL: %w", err)
	}
	cfg.MaxConns = 2
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect: %w", err)
	}
	return pool, nil
}

// where names the schema and prefix a command works on, for its output.
func (d *dbFlags) where() string {
	return fmt.Sprintf("schema %s, prefix %s", d.schema, d.prefix)
}

// withPool runs one migration command's work on a pool opened for it,
// bounded by the command's timeout, and closes the pool after.
func (c *cli) withPool(ctx context.Context, name string, d *dbFlags, run func(context.Context, *pgxpool.Pool) int) int {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	pool, err := c.openPool(ctx, d)
	if err != nil {
		return c.fail(name, err)
	}
	defer pool.Close()
	return run(ctx, pool)
}

func (c *cli) migrateUp(ctx context.Context, args []string) int {
	cmd := command{name: "migrate up", synopsis: "[flags]", help: "Applies every pending schema migration in one transaction (serialized with\nnodes starting at the same time)."}
	fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
	d := addDBFlags(fs, true)
	create := fs.Bool("create-schema", false, "create the schema if it is missing")
	chosen := addChainFlag(fs)
	if _, code, ok := c.parse(cmd, fs, args); !ok {
		return code
	}
	ch := chosen()
	return c.withPool(ctx, cmd.name, d, func(ctx context.Context, pool *pgxpool.Pool) int {
		done, err := ch.up(ctx, pool, d, *create)
		if err != nil {
			return c.fail(cmd.name, err)
		}
		have, _, err := ch.version(ctx, pool, d)
		if err != nil {
			return c.fail(cmd.name, err)
		}
		if len(done) == 0 {
			fmt.Fprintf(c.stdout, "%s%s: already at version %d, nothing to apply\n", d.where(), ch.what, have)
			return exitOK
		}
		fmt.Fprintf(c.stdout, "%s%s: applied %s, now at version %d\n", d.where(), ch.what, versions(done), have)
		return exitOK
	})
}

func (c *cli) migrateDown(ctx context.Context, args []string) int {
	cmd := command{name: "migrate down", synopsis: "[flags]", help: "Rolls the schema back to version -to, by default one version below the\ncurrent one. -to 0 drops every table but the record of applied versions,\nand with them every session."}
	fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
	d := addDBFlags(fs, true)
	to := fs.Int("to", 0, "target `version` (default: one below the current)")
	chosen := addChainFlag(fs)
	if _, code, ok := c.parse(cmd, fs, args); !ok {
		return code
	}
	ch := chosen()
	explicit := false
	fs.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "to" })
	if explicit && *to < 0 {
		return c.usageFail(cmd.name, "-to must be 0 or more, got %d", *to)
	}
	return c.withPool(ctx, cmd.name, d, func(ctx context.Context, pool *pgxpool.Pool) int {
		have, _, err := ch.version(ctx, pool, d)
		if err != nil {
			return c.fail(cmd.name, err)
		}
		target := *to
		if !explicit {
			target = have - 1
		}
		if have == 0 || target >= have {
			fmt.Fprintf(c.stdout, "%s%s: at version %d, nothing to roll back\n", d.where(), ch.what, have)
			return exitOK
		}
		done, err := ch.down(ctx, pool, d, target)
		if err != nil {
			return c.fail(cmd.name, err)
		}
		fmt.Fprintf(c.stdout, "%s%s: rolled back %s, now at version %d\n", d.where(), ch.what, versions(done), target)
		return exitOK
	})
}

func (c *cli) migrateStatus(ctx context.Context, args []string) int {
	cmd := command{name: "migrate status", synopsis: "[flags]", help: "Shows the schema version the database has and the one this pgsession needs."}
	fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
	d := addDBFlags(fs, true)
	chosen := addChainFlag(fs)
	if _, code, ok := c.parse(cmd, fs, args); !ok {
		return code
	}
	ch := chosen()
	return c.withPool(ctx, cmd.name, d, func(ctx context.Context, pool *pgxpool.Pool) int {
		have, want, err := ch.version(ctx, pool, d)
		if err != nil {
			return c.fail(cmd.name, err)
		}
		var verdict string
		switch {
		case have == want:
			verdict = "up to date"
		case have < want:
			verdict = fmt.Sprintf("%d migration(s) pending: run \"%s\"", want-have, ch.hint)
		default:
			verdict = "the database is newer than this pgsession: upgrade it before running it here"
		}
		fmt.Fprintf(c.stdout, "%s%s: database at version %d, this pgsession needs %d: %s\n", d.where(), ch.what, have, want, verdict)
		return exitOK
	})
}

func (c *cli) migrateSQL(_ context.Context, args []string) int {
	cmd := command{name: "migrate sql", synopsis: "[flags]", help: "Prints the SQL of every migration (up, or with -down the way back) as one\ntransaction, for teams that apply schema changes with their own tool. It\nrecords the versions as \"migrate up\" does, so Managers with\nManualMigrations accept the result. It needs no database."}
	fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
	d := addDBFlags(fs, false)
	down := fs.Bool("down", false, "print the down migrations, newest first")
	create := fs.Bool("create-schema", false, "begin with CREATE SCHEMA IF NOT EXISTS (up only)")
	chosen := addChainFlag(fs)
	if _, code, ok := c.parse(cmd, fs, args); !ok {
		return code
	}
	sql, err := chosen().sql(d, *down, *create)
	if err != nil {
		return c.fail(cmd.name, err)
	}
	fmt.Fprint(c.stdout, sql)
	return exitOK
}

// versions formats migration versions: "migration 1" or "migrations 1, 2, 3".
func versions(vs []int) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = fmt.Sprint(v)
	}
	if len(vs) == 1 {
		return "migration " + s[0]
	}
	return "migrations " + strings.Join(s, ", ")
}
