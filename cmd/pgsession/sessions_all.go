package main

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pgsession/pgsession"
)

// sqlNewest reads the newest live sessions of every user. No index orders
// sessions by creation across users, so PostgreSQL scans the table once and
// keeps the newest $1 as it goes (a top-N sort): time grows with the table,
// memory with $1 only, and only $1 rows, without their attributes, travel.
// Manager.All would page through every session, attributes and all, in ID
// order.
const sqlNewest = `SELECT s.id, s.user_id, s.version, s.created_at, s.last_seen_at, s.expires_at, s.ip, s.user_agent
FROM {{sessions}} s WHERE {{live}}
ORDER BY s.created_at DESC, s.id DESC LIMIT $1`

// listAll prints the newest limit live sessions, and says on stderr when
// there are more.
func (c *cli) listAll(ctx context.Context, name string, d *dbFlags, limit int, asJSON bool) int {
	return c.withSchema(ctx, name, d, func(ctx context.Context, pool *pgxpool.Pool, t tables) int {
		rows, err := pool.Query(ctx, t.expand(sqlNewest), limit+1)
		if err != nil {
			return c.fail(name, err)
		}
		list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (sessionJSON, error) {
			var s sessionJSON
			var raw []byte
			var id pgsession.ID
			err := row.Scan(&raw, &s.User, &s.Version, &s.Created, &s.LastSeen, &s.Expires, &s.IP, &s.UserAgent)
			copy(id[:], raw) // 32 bytes: the table's CHECK says so
			s.ID = id.String()
			return s, err
		})
		if err != nil {
			return c.fail(name, err)
		}
		more := len(list) > limit
		if more {
			list = list[:limit]
		}
		if len(list) == 0 && !asJSON {
			fmt.Fprintln(c.stdout, "no live sessions")
			return exitOK
		}
		if code := c.printSessions(name, list, true, asJSON); code != exitOK {
			return code
		}
		if more {
			c.note(name, "showing the newest %d live sessions; there are more (raise -limit, or see \"pgsession sessions count\")", limit)
		}
		return exitOK
	})
}
