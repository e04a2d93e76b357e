package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/cmd/pgsession/internal/demo"
)

// Exit statuses.
const (
	exitOK    = 0 // done
	exitFail  = 1 // the command ran and failed
	exitUsage = 2 // the command was called wrongly
)

// cli is one invocation: where it writes and what it reads from the
// environment, so tests can run it in process.
type cli struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	// demoStarted, if set, is called once the demo's nodes serve (tests).
	demoStarted func(*demo.Cluster)
}

const usage = `pgsession: the pgsession demo, and admin commands for sessions kept in PostgreSQL.

Usage:
  pgsession <command> [flags] [arguments]

Commands:
  demo                       run the demo web app: two nodes sharing their sessions
  migrate up                 apply pending schema migrations
  migrate down [-to N]       roll the schema back (default: by one version)
  migrate status             show the schema version, and whether migrations are pending
  migrate sql [-down]        print the migrations' SQL, for other migration tools
  sessions list USER         list a user's live sessions
  sessions list -all         list every live session, newest first (-limit N, default 100)
  sessions count [-user U]   count the live sessions, or one user's
  sessions revoke ID         end one session
  sessions revoke-user USER  end every session of a user ("log out everywhere")
  sessions revoke-all -yes   end every session of every user, on every node
  stats [-json]              session counts, top users, sizes, listening nodes, the sweep
  sweep                      delete expired sessions now (one pass)
  import scs [-dry-run]      copy the live sessions of an scs postgresstore table, same tokens
  import blockyard           copy blockyard's sticky-session entries into the affinity table
  watch [-json]              print session events from every node as they happen, until Ctrl-C
  key [-id ID]               print a new token signing key, for PGSESSION_KEYS

Commands that reach the database take -db URL (default $DATABASE_URL),
-schema NAME (default public) and -prefix NAME (default pgsession_).
Run "pgsession <command> -h" for a command's flags.

Exit status: 0 on success, 1 when the command failed, 2 when it was called wrongly.
`

// run runs the command line args (without the program name) and returns the
// exit status.
func (c *cli) run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(c.stderr, usage)
		return exitUsage
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "-h", "-help", "--help", "help":
		if len(rest) > 0 && rest[0] != "help" && !strings.HasPrefix(rest[0], "-") {
			return c.run(ctx, append(rest, "-h"))
		}
		fmt.Fprint(c.stdout, usage)
		return exitOK
	case "demo":
		return c.demo(ctx, rest)
	case "migrate":
		return c.group(ctx, "migrate", rest, map[string]func(context.Context, []string) int{
			"up": c.migrateUp, "down": c.migrateDown, "status": c.migrateStatus, "sql": c.migrateSQL,
		})
	case "sessions":
		return c.group(ctx, "sessions", rest, map[string]func(context.Context, []string) int{
			"list": c.sessionsList, "count": c.sessionsCount, "revoke": c.sessionsRevoke,
			"revoke-user": c.sessionsRevokeUser, "revoke-all": c.sessionsRevokeAll,
		})
	case "stats":
		return c.stats(ctx, rest)
	case "sweep":
		return c.sweep(ctx, rest)
	case "import":
		return c.group(ctx, "import", rest, map[string]func(context.Context, []string) int{
			"scs": c.importSCS, "blockyard": c.importBlockyard,
		})
	case "watch":
		return c.watch(ctx, rest)
	case "key":
		return c.key(ctx, rest)
	default:
		fmt.Fprintf(c.stderr, "pgsession: unknown command %q\n\n%s", cmd, usage)
		return exitUsage
	}
}

// group runs a subcommand of a command with subcommands (migrate, sessions).
func (c *cli) group(ctx context.Context, name string, args []string, subs map[string]func(context.Context, []string) int) int {
	help := func() string {
		var b strings.Builder
		fmt.Fprintf(&b, "Usage: pgsession %s <subcommand> [flags] [arguments]\n\nSubcommands:\n", name)
		for _, line := range strings.Split(usage, "\n") {
			if strings.HasPrefix(line, "  "+name+" ") {
				b.WriteString(line + "\n")
			}
		}
		fmt.Fprintf(&b, "\nRun \"pgsession %s <subcommand> -h\" for its flags.\n", name)
		return b.String()
	}
	if len(args) == 0 {
		fmt.Fprintf(c.stderr, "pgsession %s: missing subcommand\n\n%s", name, help())
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(c.stdout, help())
		return exitOK
	}
	sub, ok := subs[args[0]]
	if !ok {
		fmt.Fprintf(c.stderr, "pgsession %s: unknown subcommand %q\n\n%s", name, args[0], help())
		return exitUsage
	}
	return sub(ctx, args[1:])
}

// command describes one (sub)command for parse.
type command struct {
	name     string // as typed: "sessions list"
	synopsis string // the arguments after the name: "[flags] USER"
	help     string // a paragraph on what it does
	nargs    int    // positional arguments it needs; anyArgs: the command checks
}

// anyArgs is command.nargs for a command whose flags decide how many
// positional arguments it takes (sessions list USER, or -all and none).
const anyArgs = -1

// parse parses args into fs (flags may come before or after the positional
// arguments) and checks the number of positional arguments. ok is false
// when the command must not run; code then says how to exit: 0 after -h,
// 2 after a usage error (both already printed).
func (c *cli) parse(cmd command, fs *flag.FlagSet, args []string) (pos []string, code int, ok bool) {
	fs.SetOutput(io.Discard)
	printUsage := func(w io.Writer) {
		fmt.Fprintf(w, "Usage: pgsession %s %s\n\n%s\n", cmd.name, cmd.synopsis, cmd.help)
		if hasFlags(fs) {
			fmt.Fprintf(w, "\nFlags:\n")
			fs.SetOutput(w)
			fs.PrintDefaults()
			fs.SetOutput(io.Discard)
		}
	}
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			printUsage(c.stdout)
			return nil, exitOK, false
		}
		if err != nil {
			fmt.Fprintf(c.stderr, "pgsession %s: %v\n\n", cmd.name, err)
			printUsage(c.stderr)
			return nil, exitUsage, false
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if cmd.nargs != anyArgs && len(pos) != cmd.nargs {
		fmt.Fprintf(c.stderr, "pgsession %s: want %d argument(s), got %d\n\n", cmd.name, cmd.nargs, len(pos))
		printUsage(c.stderr)
		return nil, exitUsage, false
	}
	return pos, exitOK, true
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

// fail prints a command's error and returns the failure status.
func (c *cli) fail(name string, err error) int {
	fmt.Fprintf(c.stderr, "pgsession %s: %v\n", name, err)
	return exitFail
}

// usageFail prints a usage error and returns the usage status.
func (c *cli) usageFail(name, format string, args ...any) int {
	fmt.Fprintf(c.stderr, "pgsession %s: %s\nRun \"pgsession %s -h\" for usage.\n", name, fmt.Sprintf(format, args...), name)
	return exitUsage
}

// dbFlags are the flags of every command that reaches the database.
type dbFlags struct {
	url, schema, prefix string
	timeout             time.Duration
}

func addDBFlags(fs *flag.FlagSet, withURL bool) *dbFlags {
	d := &dbFlags{}
	if withURL {
		fs.StringVar(&d.url, "db", "", "PostgreSQL connection `URL` (default $DATABASE_URL)")
		fs.DurationVar(&d.timeout, "timeout", 30*time.Second, "give up after this long")
	}
	fs.StringVar(&d.schema, "schema", "public", "`schema` that holds the tables")
	fs.StringVar(&d.prefix, "prefix", "pgsession_", "`prefix` of the table names")
	return d
}

// errNoDatabase says how to name the database.
var errNoDatabase = errors.New("no database: pass -db URL or set DATABASE_URL")

// connString returns -db, else $DATABASE_URL.
func (c *cli) connString(d *dbFlags) (string, error) {
	if d.url != "" {
		return d.url, nil
	}
	if u := c.getenv("DATABASE_URL"); u != "" {
		return u, nil
	}
	return "", errNoDatabase
}

func (d *dbFlags) config() pgsession.Config {
	return pgsession.Config{Schema: d.schema, TablePrefix: d.prefix}
}

// withManager runs one admin command's work on a Manager opened for it,
// bounded by the command's timeout, and closes the Manager after.
func (c *cli) withManager(ctx context.Context, name string, d *dbFlags, run func(context.Context, *pgsession.Manager) int) int {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	m, err := c.openManager(ctx, d)
	if err != nil {
		return c.fail(name, err)
	}
	defer closeManager(ctx, m)
	return run(ctx, m)
}

// openManager starts a Manager for a one-shot admin command: it never
// migrates (a schema that is behind is an error saying so), and it runs no
// background work and keeps no cache.
func (c *cli) openManager(ctx context.Context, d *dbFlags) (*pgsession.Manager, error) {
	return c.openManagerWith(ctx, d, nil)
}

// openManagerWith is openManager with tune, if set, applied to the Config
// last: watch turns events on.
func (c *cli) openManagerWith(ctx context.Context, d *dbFlags, tune func(*pgsession.Config)) (*pgsession.Manager, error) {
	url, err := c.connString(d)
	if err != nil {
		return nil, err
	}
	cfg := d.config()
	cfg.ManualMigrations = true
	cfg.TouchInterval, cfg.SweepInterval, cfg.CacheSize = -1, -1, -1
	cfg.Logger = slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if tune != nil {
		tune(&cfg)
	}
	m, err := pgsession.Open(ctx, url, cfg)
	if errors.Is(err, pgsession.ErrSchemaVersion) {
		return nil, fmt.Errorf("%w\n(run \"pgsession migrate up\" with the same -schema and -prefix)", err)
	}
	return m, err
}

// closeManager closes m after a command, with a bound of its own.
func closeManager(ctx context.Context, m *pgsession.Manager) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = m.Close(ctx) // nothing is pending: no touches, no announcements
}
