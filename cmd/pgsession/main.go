// Command pgsession runs the pgsession demo and administers sessions kept in
// PostgreSQL: schema migrations, session lists, counts and revocation,
// statistics, expiry sweeps, the import of scs sessions and of blockyard's
// sticky-session entries, and a live feed of session events.
//
// Usage:
//
//	pgsession demo [-addr1 ADDR] [-addr2 ADDR] [-db URL] [-schema NAME]
//	pgsession migrate up [-create-schema]
//	pgsession migrate down [-to N]
//	pgsession migrate status
//	pgsession migrate sql [-down] [-create-schema]
//	pgsession sessions list [-json] USER
//	pgsession sessions list -all [-limit N] [-json]
//	pgsession sessions count [-user USER]
//	pgsession sessions revoke ID
//	pgsession sessions revoke-user USER
//	pgsession sessions revoke-all -yes
//	pgsession stats [-top N] [-sample N] [-json]
//	pgsession sweep
//	pgsession import scs [-table NAME] [-from-schema NAME] [-batch N] [-user-key KEY] [-dry-run]
//	pgsession import blockyard [-from-db URL] [-from-schema NAME] [-table NAME] [-app NAME] [-idle-timeout D] [-batch N] [-dry-run]
//	pgsession watch [-json]
//	pgsession key [-id ID]
//
// The commands that reach the database take -db (default $DATABASE_URL),
// -schema (default public) and -prefix (default pgsession_). Every command
// prints its own help with -h. The exit status is 0 on success, 1 when the
// command failed and 2 when it was called wrongly.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// The first signal asks for a graceful stop; from then on signals
		// have their default effect, so a second Ctrl-C ends the process.
		<-ctx.Done()
		stop()
	}()
	code := (&cli{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}).run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}
