package main

import (
	"context"
	"flag"

	"github.com/jackc/pgx/v5/pgxpool"
)

const statsHelp = `Shows, from one read-only snapshot of the database:

  sessions    the live ones (of how many users, how many anonymous), and the
              expired ones the sweep has not deleted yet (reads never see them)
  top users   the users with the most live sessions (-top)
  attributes  per live session: the size of its attributes as stored
              (pg_column_size, after compression) and how many it has, as
              p50, p90, p99 and max
  tables      each table's size: in all, its data (with TOAST), its indexes
  listening   the nodes listening for announcements now: the backends of this
              database whose application_name is a Manager's listener's,
              "pgsession-listener-" and the node's NodeID. PostgreSQL shows a
              backend's channels to that backend only, so this counts the
              listeners of other schemas and prefixes in the database too, and
              misses listeners that connect with settings of their own
              (Config.ListenerConnect).
  sweep       whether a pass is running, or stopped mid-way, or when the next
              is due: the table keeps no finish time, and a finished pass sets
              the next due time to its end plus 0.9 x the node's SweepInterval

Cost: the counts and top users take one sequential scan of the sessions table,
grouped by user (memory grows with the number of users). The attributes are
measured on every session while the table holds at most -sample rows, and
past that on a TABLESAMPLE SYSTEM sample of its pages sized for about -sample
rows, so that part stays bounded as the table grows. The rest reads catalogs.
Nothing is written, and the reads take no lock that writers wait for. On a very
large table, raise -timeout.`

func (c *cli) stats(ctx context.Context, args []string) int {
	cmd := command{name: "stats", synopsis: "[flags]", help: statsHelp}
	fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
	d := addDBFlags(fs, true)
	asJSON := fs.Bool("json", false, "print one JSON object")
	top := fs.Int("top", 10, "list this many `users`, those with the most live sessions")
	sample := fs.Int64("sample", 100_000, "measure attributes on a sample of about this many `rows` when the table holds more (0: read every row)")
	if _, code, ok := c.parse(cmd, fs, args); !ok {
		return code
	}
	if *top < 0 {
		return c.usageFail(cmd.name, "-top must be 0 or more, got %d", *top)
	}
	if *sample < 0 {
		return c.usageFail(cmd.name, "-sample must be 0 or more, got %d", *sample)
	}
	return c.withSchema(ctx, cmd.name, d, func(ctx context.Context, pool *pgxpool.Pool, t tables) int {
		r, err := collectStats(ctx, pool, t, statsOptions{top: *top, sample: *sample})
		if err != nil {
			return c.fail(cmd.name, err)
		}
		if *asJSON {
			return c.writeJSON(cmd.name, r)
		}
		if err := writeReport(c.stdout, r); err != nil {
			return c.fail(cmd.name, err)
		}
		return exitOK
	})
}
