package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pgsession/pgsession"
)

// sqlCountUsers counts the live sessions and the users they belong to.
const sqlCountUsers = `SELECT count(*), count(DISTINCT s.user_id) FILTER (WHERE s.user_id <> '')
FROM {{sessions}} s WHERE {{live}}`

func (c *cli) sessionsRevokeAll(ctx context.Context, args []string) int {
	cmd := command{name: "sessions revoke-all", synopsis: "-yes [flags]",
		help: "Ends every session: every user's and the anonymous ones, so everyone is\nlogged out. Every node is told at once to drop the copies it holds. Without\n-yes it only says how many live sessions it would end, and exits with status 2."}
	fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
	d := addDBFlags(fs, true)
	yes := fs.Bool("yes", false, "end them: without it, nothing is changed")
	if _, code, ok := c.parse(cmd, fs, args); !ok {
		return code
	}
	if !*yes {
		return c.withSchema(ctx, cmd.name, d, func(ctx context.Context, pool *pgxpool.Pool, t tables) int {
			var n, users int64
			if err := pool.QueryRow(ctx, t.expand(sqlCountUsers)).Scan(&n, &users); err != nil {
				return c.fail(cmd.name, err)
			}
			fmt.Fprintf(c.stderr, "pgsession %s: this would end %d live session(s) of %d user(s) (%s), logging everyone out on every node;\nnothing was changed: pass -yes to end them\n",
				cmd.name, n, users, d.where())
			return exitUsage
		})
	}
	return c.withManager(ctx, cmd.name, d, func(ctx context.Context, m *pgsession.Manager) int {
		n, err := m.DeleteAll(ctx)
		if err != nil {
			return c.fail(cmd.name, err)
		}
		fmt.Fprintf(c.stdout, "%s: ended every session, %d in all (expired ones the sweep had not deleted included); every node was told to drop its copies\n",
			d.where(), n)
		return exitOK
	})
}
