package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/pgsession/pgsession"
)

func (c *cli) sessionsList(ctx context.Context, args []string) int {
	cmd := command{name: "sessions list", synopsis: "[flags] USER | -all [-limit N]", nargs: anyArgs,
		help: "Lists the user's live sessions, newest first; with -all, the newest live\nsessions of every user and the anonymous ones. The IDs are what\n\"pgsession sessions revoke\" takes; they are not credentials."}
	fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
	d := addDBFlags(fs, true)
	asJSON := fs.Bool("json", false, "print a JSON array")
	all := fs.Bool("all", false, "list the sessions of every user, not one user's")
	limit := fs.Int("limit", 100, "with -all, list at most this many `sessions`, the newest")
	pos, code, ok := c.parse(cmd, fs, args)
	if !ok {
		return code
	}
	switch {
	case *all && len(pos) > 0:
		return c.usageFail(cmd.name, "-all lists every user's sessions: give no USER")
	case !*all && len(pos) != 1:
		return c.usageFail(cmd.name, "want 1 argument(s), got %d: a USER, or -all", len(pos))
	case !*all && isSet(fs, "limit"):
		return c.usageFail(cmd.name, "-limit goes with -all")
	case *limit < 1:
		return c.usageFail(cmd.name, "-limit must be 1 or more, got %d", *limit)
	}
	if *all {
		return c.listAll(ctx, cmd.name, d, *limit, *asJSON)
	}
	return c.withManager(ctx, cmd.name, d, func(ctx context.Context, m *pgsession.Manager) int {
		list, err := m.ListUser(ctx, pos[0])
		if err != nil {
			return c.fail(cmd.name, err)
		}
		rows := make([]sessionJSON, len(list))
		for i, s := range list {
			rows[i] = sessionJSON{
				ID: s.ID().String(), User: s.UserID(), Version: s.Version(), Created: s.CreatedAt(),
				LastSeen: s.LastSeenAt(), Expires: s.ExpiresAt(), IP: s.IP(), UserAgent: s.UserAgent(),
			}
		}
		if len(rows) == 0 && !*asJSON {
			fmt.Fprintf(c.stdout, "%s has no live sessions\n", forTerminal(pos[0]))
			return exitOK
		}
		return c.printSessions(cmd.name, rows, false, *asJSON)
	})
}

// isSet reports whether the command line gave the flag.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func (c *cli) sessionsRevoke(ctx context.Context, args []string) int {
	cmd := command{name: "sessions revoke", synopsis: "[flags] ID", nargs: 1,
		help: "Ends one session, named by its ID (64 hex digits, from \"sessions list\").\nEvery node drops it at once. Fails if no live session has that ID."}
	fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
	d := addDBFlags(fs, true)
	pos, code, ok := c.parse(cmd, fs, args)
	if !ok {
		return code
	}
	id, err := pgsession.ParseID(pos[0])
	if err != nil {
		return c.usageFail(cmd.name, "%q is not a session ID (64 hex digits)", pos[0])
	}
	return c.withManager(ctx, cmd.name, d, func(ctx context.Context, m *pgsession.Manager) int {
		s, err := m.GetByID(ctx, id, pgsession.NoTouch())
		if errors.Is(err, pgsession.ErrNotFound) {
			return c.fail(cmd.name, fmt.Errorf("no live session with ID %s", id))
		}
		if err != nil {
			return c.fail(cmd.name, err)
		}
		if err := m.Delete(ctx, id); err != nil {
			return c.fail(cmd.name, err)
		}
		who := "an anonymous session"
		if s.UserID() != "" {
			who = "a session of " + forTerminal(s.UserID())
		}
		fmt.Fprintf(c.stdout, "revoked %s (%s)\n", id, who)
		return exitOK
	})
}

func (c *cli) sessionsRevokeUser(ctx context.Context, args []string) int {
	cmd := command{name: "sessions revoke-user", synopsis: "[flags] USER", nargs: 1,
		help: "Ends every session of the user (\"log out everywhere\"). Every node drops\nthem at once."}
	fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
	d := addDBFlags(fs, true)
	pos, code, ok := c.parse(cmd, fs, args)
	if !ok {
		return code
	}
	return c.withManager(ctx, cmd.name, d, func(ctx context.Context, m *pgsession.Manager) int {
		n, err := m.DeleteUser(ctx, pos[0])
		if err != nil {
			return c.fail(cmd.name, err)
		}
		fmt.Fprintf(c.stdout, "ended %d session(s) of %s\n", n, forTerminal(pos[0]))
		return exitOK
	})
}

func (c *cli) sweep(ctx context.Context, args []string) int {
	cmd := command{name: "sweep", synopsis: "[flags]",
		help: "Runs one expiry sweep now: deletes expired sessions in batches and trims\nexpired attributes. Nodes sweep on their own every SweepInterval; this is\nfor jobs and for nodes that run with sweeping off. Expired sessions are\ninvisible to reads whether or not they have been swept."}
	fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
	d := addDBFlags(fs, true)
	if _, code, ok := c.parse(cmd, fs, args); !ok {
		return code
	}
	return c.withManager(ctx, cmd.name, d, func(ctx context.Context, m *pgsession.Manager) int {
		res, err := m.Sweep(ctx)
		if err != nil {
			return c.fail(cmd.name, err)
		}
		if !res.Ran {
			fmt.Fprintln(c.stdout, "not run: a node holds the sweep lease, or finished a pass less than its SweepInterval ago")
			return exitOK
		}
		fmt.Fprintf(c.stdout, "swept in %d batch(es): %d expired session(s) deleted, %d session(s) trimmed of expired attributes\n",
			res.Batches, res.Deleted, res.Trimmed)
		return exitOK
	})
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format(time.DateTime)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// clip shortens s to at most n characters.
func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
