package main

import (
	"context"
	"encoding/base64"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/pgsession/pgsession/cmd/pgsession/internal/demo"
	"github.com/pgsession/pgsession/token"
)

func (c *cli) demo(ctx context.Context, args []string) int {
	cmd := command{name: "demo", synopsis: "[flags]", help: fmt.Sprintf(`Runs two nodes of a small web app that share their sessions: log in on one,
open the other and you are logged in there too; count on both; list your
devices, revoke one, log out everywhere. Both nodes share one in-process
memory store, or, with -db or DATABASE_URL, PostgreSQL: then each node has its
own Manager (pool and LISTEN connection), as two processes would, and the
tables live in -schema, created and migrated at start. A user holds at most
%d sessions: a log-in past that ends the user's oldest session.

Each node also serves Prometheus metrics at /metrics. That endpoint has no
authentication, so the demo answers it only to clients on loopback (127.0.0.1,
::1). A real deployment serves metrics on an internal port or behind
authentication.

Tokens are signed with the keys in PGSESSION_KEYS ("id:base64secret,...", see
"pgsession key"); without it a key is generated for this run only.
Ctrl-C (SIGINT) or SIGTERM stops both nodes gracefully.`, demo.MaxSessionsPerUser)}
	fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
	addr1 := fs.String("addr1", demo.DefaultAddrA, "listen `address` of node A (port 0: any free port)")
	addr2 := fs.String("addr2", demo.DefaultAddrB, "listen `address` of node B")
	db := fs.String("db", "", "PostgreSQL connection `URL`; -db '' forces the memory store (default $DATABASE_URL)")
	schema := fs.String("schema", demo.DefaultSchema, "`schema` of the demo's tables on PostgreSQL")
	quiet := fs.Bool("quiet", false, "do not log each request")
	if _, code, ok := c.parse(cmd, fs, args); !ok {
		return code
	}
	dbSet := false
	fs.Visit(func(f *flag.Flag) { dbSet = dbSet || f.Name == "db" })
	if !dbSet {
		*db = c.getenv("DATABASE_URL")
	}

	keys, generated, err := c.demoKeys()
	if err != nil {
		return c.fail(cmd.name, err)
	}
	level := slog.LevelInfo
	if *quiet {
		level = slog.LevelWarn
	}
	log := slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: level}))

	startCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	cl, err := demo.Start(startCtx, demo.Options{
		Addrs: [2]string{*addr1, *addr2}, DatabaseURL: *db, Schema: *schema, Keys: keys, Logger: log,
	})
	cancel()
	if err != nil {
		return c.fail(cmd.name, err)
	}
	urls := cl.URLs()
	fmt.Fprintf(c.stdout, "pgsession demo: two nodes sharing their sessions\n")
	fmt.Fprintf(c.stdout, "  backend  %s\n", cl.Backend)
	fmt.Fprintf(c.stdout, "  node A   %s/\n", urls[0])
	fmt.Fprintf(c.stdout, "  node B   %s/\n", urls[1])
	fmt.Fprintf(c.stdout, "  metrics  /metrics on each node, to loopback clients only (it has no authentication)\n")
	if generated {
		fmt.Fprintf(c.stdout, "  keys     generated for this run: sessions do not outlive it (set PGSESSION_KEYS to keep them; \"pgsession key\" makes one)\n")
	} else {
		fmt.Fprintf(c.stdout, "  keys     from PGSESSION_KEYS (signing with %q)\n", keys.SigningKeyID())
	}
	fmt.Fprintf(c.stdout, "Log in on one node, then open the other. Ctrl-C stops both.\n")
	if c.demoStarted != nil {
		c.demoStarted(cl)
	}

	code := exitOK
	select {
	case <-ctx.Done():
		fmt.Fprintln(c.stdout, "stopping: finishing requests in flight")
	case err := <-cl.Err():
		c.fail(cmd.name, err)
		code = exitFail
	}
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := cl.Shutdown(stopCtx); err != nil {
		return c.fail(cmd.name, err)
	}
	if code == exitOK {
		fmt.Fprintln(c.stdout, "stopped")
	}
	return code
}

// demoKeys reads PGSESSION_KEYS, or generates a key both nodes share.
func (c *cli) demoKeys() (ring *token.Ring, generated bool, err error) {
	keys, err := keysFromEnv(c.getenv("PGSESSION_KEYS"))
	if err != nil {
		return nil, false, err
	}
	if keys == nil {
		k, err := token.GenerateKey("demo")
		if err != nil {
			return nil, false, err
		}
		keys, generated = []token.Key{k}, true
	}
	ring, err = token.NewRing(keys...)
	return ring, generated, err
}

// keysFromEnv parses PGSESSION_KEYS; empty gives no keys.
func keysFromEnv(v string) ([]token.Key, error) {
	if v == "" {
		return nil, nil
	}
	keys, err := token.ParseKeys(v)
	if err != nil {
		return nil, fmt.Errorf("PGSESSION_KEYS: %w", err)
	}
	return keys, nil
}

func (c *cli) key(_ context.Context, args []string) int {
	cmd := command{name: "key", synopsis: "[flags]", help: `Prints a new signing key as "id:secret" (32 random bytes, base64url), the
format PGSESSION_KEYS reads. To rotate, put the new key first and keep the old
one after it until the tokens it signed have expired:

  PGSESSION_KEYS="$(pgsession key -id k2),k1:..."`}
	fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
	id := fs.String("id", time.Now().UTC().Format("20060102"), "key `id`: 1 to 16 of A-Z a-z 0-9 . _ -")
	if _, code, ok := c.parse(cmd, fs, args); !ok {
		return code
	}
	k, err := token.GenerateKey(*id)
	if err != nil {
		return c.usageFail(cmd.name, "%v", err)
	}
	fmt.Fprintf(c.stdout, "%s:%s\n", k.ID, base64.RawURLEncoding.EncodeToString(k.Secret))
	return exitOK
}
