package main

import (
	"context"
	"errors"
	"flag"
	"time"

	"github.com/pgsession/pgsession"
)

const watchHelp = `Prints session events from every node as they happen, one line each, until
Ctrl-C (SIGINT) or SIGTERM: sessions created, updated (the new version and the
keys written), deleted (why, and for a renewal the new session's ID), a user's
sessions ended (revoke-user, DeleteUser), every session ended (revoke-all,
DeleteAll), and "events missed" when events may have been lost (this command's
connection was cut and is back, or it fell behind): read again what you track.
An update that wrote too many keys to announce them shows
"keys=(too many to announce)", and no keys with -json.

Only nodes that run with Config.Events on send events: a node without it
announces no creations, updates or sweeps, and its deletions come with no user
and reason "unknown". Each line starts with the time this command received the
event (UTC). User IDs and keys are shown escaped (see "sessions list"), an
anonymous session's user as "-". With -json each event is one JSON object on a
line: time, kind, session_id, user_id, version, keys, reason, new_id, the empty
ones left out.

It listens on a connection of its own, as a node does ("stats" counts it among
the listening nodes), and never migrates: the schema must be at this
pgsession's version.`

func (c *cli) watch(ctx context.Context, args []string) int {
	cmd := command{name: "watch", synopsis: "[flags]", help: watchHelp}
	fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
	d := addDBFlags(fs, true)
	fs.Lookup("timeout").Usage = "give up connecting after this long (watching itself has no limit)"
	asJSON := fs.Bool("json", false, "print each event as a JSON object on a line")
	if _, code, ok := c.parse(cmd, fs, args); !ok {
		return code
	}

	openCtx, cancel := context.WithTimeout(ctx, d.timeout)
	m, err := c.openManagerWith(openCtx, d, func(cfg *pgsession.Config) {
		cfg.Events = true
		// The watcher serves no reads: what keeps a cache coherent is
		// wasted on it.
		cfg.ChangePollInterval, cfg.NotFoundCacheSize = -1, -1
	})
	cancel()
	if err != nil {
		return c.fail(cmd.name, err)
	}
	defer closeManager(ctx, m)

	events, err := m.Subscribe(ctx)
	if err != nil {
		return c.fail(cmd.name, err)
	}
	// The note comes once the subscription is in place, so whatever commits
	// from now on is printed (tests wait for it, too).
	c.note(cmd.name, "watching %s; only nodes that run with Config.Events on send events (Ctrl-C stops)", d.where())

	format := formatEventLine
	if *asJSON {
		format = formatEventJSON
	}
	for ev := range events {
		if _, err := c.stdout.Write(format(time.Now(), ev)); err != nil {
			return c.fail(cmd.name, err)
		}
	}
	if ctx.Err() == nil { // the Manager closed under us: not what was asked
		return c.fail(cmd.name, errors.New("the event stream ended"))
	}
	return exitOK
}
