package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgsession/pgsession/affinity"
)

// pgsession import blockyard copies the live entries of blockyard's
// sticky-session table (session ID to worker, user and last access) into
// the affinity store's table, each with its own last access, so a proxy
// switched to package affinity keeps routing every session to the worker
// that holds it, and idle sessions still end on time.
//
// It reads the table in batches ordered by id (keyset paging) and writes
// each entry with one affinity.Postgres.Import: an entry is written whole
// or not at all, and the newer record wins, so a live entry the proxy has
// pinned since is kept and a rerun finishes what a failed run left.

// blockyardCounts is what an import did, for the summary.
type blockyardCounts struct {
	read, imported, updated, exists, expired, malformed int
}

func (c *cli) importBlockyard(ctx context.Context, args []string) int {
	cmd := command{name: "import blockyard", synopsis: "[flags]",
		help: "Copies every live entry of blockyard's sticky-session table (id, worker_id,\n" +
			"user_sub, last_access, expires_at) into the affinity table of package affinity,\n" +
			"keeping each entry's worker, user and last access, so the idle clock of every\n" +
			"session goes on running. An entry that expired in blockyard, or that has been\n" +
			"idle for -idle-timeout, is skipped. Where the affinity table already has a live\n" +
			"entry the newer last access wins, so an entry the proxy pinned since is kept and\n" +
			"a rerun finishes what an interrupted run left. A row that is not a valid entry\n" +
			"(a NULL or empty worker, text that is not UTF-8, ...) is reported and skipped.\n" +
			"-timeout bounds each batch, not the whole import. Expiry is judged by the\n" +
			"source database's clock, and again by the affinity database's when writing."}
	fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
	d := addDBFlags(fs, true)
	fromDB := fs.String("from-db", "", "blockyard's database `URL` (default: the -db database)")
	fromSchema := fs.String("from-schema", "", "the `schema` of blockyard's table (default: blockyard, else public, as blockyard's search_path)")
	table := fs.String("table", blockyardTable, "blockyard's `table`")
	app := fs.String("app", affinity.DefaultApp, "the affinity Config.App of the proxies")
	idle := fs.Duration("idle-timeout", affinity.DefaultIdleTimeout, "the affinity Config.IdleTimeout of the proxies")
	imp := addImportFlags(fs)
	if _, code, ok := c.parse(cmd, fs, args); !ok {
		return code
	}
	switch {
	case imp.problem() != "":
		return c.usageFail(cmd.name, "%s", imp.problem())
	case *table == "":
		return c.usageFail(cmd.name, "-table must not be empty")
	case *idle <= 0:
		return c.usageFail(cmd.name, "-idle-timeout must be positive, got %v", *idle)
	}
	acfg := affinity.Config{App: *app, IdleTimeout: *idle, Schema: d.schema, TablePrefix: d.prefix, ManualMigrations: true}
	if _, err := acfg.WithDefaults(); err != nil {
		return c.usageFail(cmd.name, "%v", err)
	}

	openCtx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	pool, err := c.openPool(openCtx, d)
	if err != nil {
		return c.fail(cmd.name, err)
	}
	defer pool.Close()
	store, err := affinity.NewPostgres(openCtx, pool, acfg)
	if errors.Is(err, affinity.ErrSchemaVersion) {
		err = fmt.Errorf("%w\n(run \"%s\" with the same -schema and -prefix)", err, affinityChain.hint)
	}
	if err != nil {
		return c.fail(cmd.name, err)
	}
	srcPool := pool
	if *fromDB != "" {
		if srcPool, err = c.openPool(openCtx, &dbFlags{url: *fromDB}); err != nil {
			return c.fail(cmd.name, fmt.Errorf("-from-db: %w", err))
		}
		defer srcPool.Close()
	}
	if *fromSchema == "" {
		if *fromSchema, err = findBlockyardSchema(openCtx, srcPool, *table); err != nil {
			return c.fail(cmd.name, err)
		}
	}
	src := pgx.Identifier{*fromSchema, *table}.Sanitize()
	name := forTerminal(*fromSchema) + "." + forTerminal(*table)
	var total, noID int64
	if err := srcPool.QueryRow(openCtx, fmt.Sprintf(sqlBlockyardCount, src)).Scan(&total, &noID); err != nil {
		return c.fail(cmd.name, fmt.Errorf("read %s: %w", name, err))
	}
	cancel()

	progress := newImportProgress(c.stderr, total)
	var n blockyardCounts
	skip := c.rowSkipper(cmd.name, progress, &n.malformed, reportKey)
	if noID > 0 {
		n.read += int(noID)
		n.malformed += int(noID)
		c.note(cmd.name, "skipped %d row(s) whose id is NULL", noID)
	}
	verbs := [2]string{"imported", "updated"}
	if *imp.dryRun {
		verbs = [2]string{"would import", "would update"}
	}
	summary := func() {
		progress.clear()
		fmt.Fprintf(c.stdout, "%s into %s, app %s: read %d, %s %d, %s %d, already there %d, expired skipped %d, malformed skipped %d\n",
			name, d.where(), acfg.App, n.read, verbs[0], n.imported, verbs[1], n.updated, n.exists, n.expired, n.malformed)
	}
	failed := func(err error) int {
		summary()
		return c.fail(cmd.name, err)
	}

	last, first := "", true
	for {
		bctx, cancel := context.WithTimeout(ctx, d.timeout)
		rows, err := readBlockyardBatch(bctx, srcPool, src, last, first, *imp.batch, *idle)
		if err != nil {
			cancel()
			return failed(fmt.Errorf("read %s: %w", name, err))
		}
		for _, r := range rows {
			n.read++
			p := r.problem()
			switch {
			case r.lastAccess != nil && r.expiresAt != nil && !r.live:
				n.expired++
				continue
			case p != "":
				skip(r.id, "%s", p)
				continue
			}
			outcome, err := importBlockyardRow(bctx, store, r.entry(), *imp.dryRun)
			switch {
			case err == nil:
			case errors.Is(err, affinity.ErrExpired):
				n.expired++
				continue
			case errors.Is(err, affinity.ErrInvalidArgument):
				skip(r.id, "%s", forTerminal(err.Error()))
				continue
			default:
				cancel()
				return failed(err)
			}
			switch outcome {
			case affinity.ImportCreated:
				n.imported++
			case affinity.ImportUpdated:
				n.updated++
			default:
				n.exists++
			}
		}
		cancel()
		progress.show(importCounts{read: n.read, imported: n.imported + n.updated, exists: n.exists})
		if len(rows) < *imp.batch {
			break
		}
		last, first = rows[len(rows)-1].id, false
	}
	summary()
	return exitOK
}

// importBlockyardRow imports in, or with dryRun says what importing it
// would do, from the entry there now, writing nothing.
func importBlockyardRow(ctx context.Context, store *affinity.Postgres, in affinity.ImportEntry, dryRun bool) (affinity.ImportOutcome, error) {
	if !dryRun {
		_, outcome, err := store.Import(ctx, in)
		return outcome, err
	}
	e, err := store.Get(ctx, in.SessionID)
	switch {
	case errors.Is(err, affinity.ErrNotFound):
		return affinity.ImportCreated, nil
	case err != nil:
		return 0, err
	case e.LastAccess.Before(in.LastAccess.Truncate(time.Microsecond)):
		return affinity.ImportUpdated, nil
	}
	return affinity.ImportKept, nil
}
