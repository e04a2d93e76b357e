package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
)

// sqlCountLive counts every live session: one sequential scan.
const sqlCountLive = `SELECT count(*) FROM {{sessions}} s WHERE {{live}}`

// sqlCountUser counts one user's live sessions through the index by user.
const sqlCountUser = `SELECT count(*) FROM {{sessions}} s WHERE s.user_id = $1 AND s.user_id <> '' AND {{live}}`

func (c *cli) sessionsCount(ctx context.Context, args []string) int {
	cmd := command{name: "sessions count", synopsis: "[flags]",
		help: "Prints the number of live sessions (anonymous ones included), or with -user\nthe number of one user's, as a bare number for scripts. The total reads the\nwhole sessions table; one user's count reads the index by user."}
	fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
	d := addDBFlags(fs, true)
	user := fs.String("user", "", "count only this `user`'s sessions")
	if _, code, ok := c.parse(cmd, fs, args); !ok {
		return code
	}
	one := isSet(fs, "user")
	if one && *user == "" {
		return c.usageFail(cmd.name, "-user must name a user (anonymous sessions have none)")
	}
	return c.withSchema(ctx, cmd.name, d, func(ctx context.Context, pool *pgxpool.Pool, t tables) int {
		var n int64
		var err error
		if one {
			err = pool.QueryRow(ctx, t.expand(sqlCountUser), *user).Scan(&n)
		} else {
			err = pool.QueryRow(ctx, t.expand(sqlCountLive)).Scan(&n)
		}
		if err != nil {
			return c.fail(cmd.name, err)
		}
		fmt.Fprintln(c.stdout, n)
		return exitOK
	})
}
