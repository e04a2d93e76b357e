// Command bench measures pgsession beside scs v2 with pgxstore and beside
// raw pgx statements (the floor), in one run against one PostgreSQL:
//
//  1. single operations (get hit, get miss, create, update, delete, renew):
//     ops/s, p50 and p99 latency, allocations and statements per operation;
//  2. an HTTP workload over real sockets on two nodes per library: 90%
//     reads, 9% writes, 1% log out and log in again; and the read path
//     alone, driven by a lean raw HTTP/1.1 client (httpread.go);
//  3. memory per cached session on the memory backend (two cache sizes)
//     and on PostgreSQL;
//  4. the writes (statements, WAL) of a read-only HTTP workload
//     (touchwal.go), the HTTP workload during an expiry sweep
//     (sweepload.go), and get (cache miss) on tables of millions of rows
//     (bigtable.go);
//  5. invalidation latency and the server's cost per update with 2, 8 and
//     32 nodes on one PostgreSQL (nodes.go).
//
// Every library works in a fresh schema of its own, dropped at the end.
//
//	cd bench && go run . [-quick] [-out ../docs]
//
// -quick runs each part briefly and prints the table only; without it the
// command also writes BENCHMARKS.md and bench.svg into the -out directory.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// settings are the sizes of one run.
type settings struct {
	quick      bool
	ops        int           // timed iterations per single operation
	warmup     int           // untimed iterations before them
	clients    int           // HTTP client goroutines per library
	duration   time.Duration // HTTP run per library
	memorySess int           // sessions for the memory measurement

	readClients    int           // HTTP read path: client goroutines per library
	readDuration   time.Duration // HTTP read path: run per library and variant
	readProfileDir string        // HTTP read path: write a CPU profile of each run here
}

func main() {
	quick := flag.Bool("quick", false, "run each part briefly and print the table only (nothing is written)")
	out := flag.String("out", "../docs", "directory for BENCHMARKS.md and bench.svg (full runs only)")
	dsn := flag.String("db", defaultDSN(), "PostgreSQL connection string")
	clients := flag.Int("clients", 8, "HTTP client goroutines per library")
	readClients := flag.Int("read-clients", 64, "HTTP read path: client goroutines per library")
	readProfile := flag.String("read-cpuprofile", "", "HTTP read path: directory for a CPU profile of each run")
	flag.Parse()

	s := settings{quick: *quick, ops: 3000, warmup: 200, clients: *clients,
		duration: 20 * time.Second, memorySess: 100_000}
	if s.quick {
		s.ops, s.warmup, s.duration, s.memorySess = 200, 20, 2*time.Second, 10_000
	}
	s.readClients, s.readDuration, s.readProfileDir = *readClients, 10*time.Second, *readProfile
	if s.quick {
		s.readDuration = 500 * time.Millisecond
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, *dsn, s, *out)
	stop()
	if err != nil {
		progressDone()
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func defaultDSN() string {
	if u := os.Getenv("PGSESSION_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

func run(ctx context.Context, dsn string, s settings, out string) (err error) {
	env, err := newEnv(ctx, dsn)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, env.close()) }()

	var rep report
	rep.settings = s
	rep.started = time.Now()
	if err := env.admin.QueryRow(ctx, "SELECT version()").Scan(&rep.pgVersion); err != nil {
		return fmt.Errorf("server version: %w", err)
	}
	progressPlan(append(plan(s), nodesPart(s)))
	progressPart(partOps)
	if rep.ops, err = runOps(ctx, env, s); err != nil {
		return fmt.Errorf("single operations: %w", err)
	}
	progressPart(partHTTP)
	if rep.http, err = runHTTP(ctx, env, s); err != nil {
		return fmt.Errorf("http workload: %w", err)
	}
	progressPart(partRead)
	if rep.httpRead, err = runHTTPRead(ctx, env, s); err != nil {
		return fmt.Errorf("http read path: %w", err)
	}
	if rep.bare, err = runHTTPReadVsBare(ctx, env, s); err != nil {
		return fmt.Errorf("http read beside a bare handler: %w", err)
	}
	progressPart(partMemory)
	mem, err := runMemory(ctx, s.memorySess)
	if err != nil {
		return fmt.Errorf("memory: %w", err)
	}
	memPG, err := runMemoryPostgres(ctx, env, s)
	if err != nil {
		return fmt.Errorf("memory (PostgreSQL): %w", err)
	}
	memLarge, err := runMemory(ctx, s.memoryLarge())
	if err != nil {
		return fmt.Errorf("memory (%d sessions): %w", s.memoryLarge(), err)
	}
	rep.memory = []memResult{mem, memPG, memLarge}
	progressPart(partTouch)
	if rep.touch, err = runTouchWAL(ctx, env, s); err != nil {
		return fmt.Errorf("touch writes: %w", err)
	}
	progressPart(partSweep)
	if rep.sweep, err = runSweepLoad(ctx, env, s); err != nil {
		return fmt.Errorf("sweep under load: %w", err)
	}
	progressPart(partBig)
	if rep.big, err = runBigTable(ctx, env, s); err != nil {
		return fmt.Errorf("large table: %w", err)
	}
	progressPart(partNodes)
	// The parts before are done: close what they left open, so that the
	// server has the connections 32 nodes need.
	if err := env.release(envMark{}); err != nil {
		return err
	}
	if rep.nodes, err = runNodes(ctx, env, s); err != nil {
		return fmt.Errorf("many nodes: %w", err)
	}
	rep.elapsed = time.Since(rep.started)
	progressDone()
	rep.printText(os.Stdout)
	if s.quick {
		return nil
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "bench.svg"), []byte(rep.svg()), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "BENCHMARKS.md"), []byte(rep.markdown()), 0o644); err != nil {
		return err
	}
	fmt.Printf("\nwrote %s and %s\n", filepath.Join(out, "BENCHMARKS.md"), filepath.Join(out, "bench.svg"))
	return nil
}

// env is the database side of a run: an admin pool that creates and drops
// the schemas, and the cleanups to run at the end (last in, first out).
type env struct {
	dsn      string
	admin    *pgxpool.Pool
	schemas  []string
	cleanups []func() error
}

func newEnv(ctx context.Context, dsn string) (*env, error) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	admin, err := pgxpool.New(cctx, dsn)
	if err != nil {
		return nil, err
	}
	if err := admin.Ping(cctx); err != nil {
		admin.Close()
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	return &env{dsn: dsn, admin: admin}, nil
}

// schema creates a fresh schema, dropped by close.
func (e *env) schema(ctx context.Context, what string) (string, error) {
	var b [5]byte
	rand.Read(b[:])
	name := "pgsbench_" + what + "_" + hex.EncodeToString(b[:])
	if _, err := e.admin.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("create schema: %w", err)
	}
	e.schemas = append(e.schemas, name)
	return name, nil
}

// pool opens a pool whose statements tr counts; with a schema, the pool's
// search_path is that schema.
func (e *env) pool(ctx context.Context, schema string, tr pgx.QueryTracer, maxConns int32) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(e.dsn)
	if err != nil {
		return nil, err
	}
	if schema != "" {
		cfg.ConnConfig.RuntimeParams["search_path"] = schema
	}
	cfg.ConnConfig.Tracer = tr
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	p, err := pgxpool.NewWithConfig(cctx, cfg)
	if err != nil {
		return nil, err
	}
	e.defer_(func() error { p.Close(); return nil })
	return p, nil
}

func (e *env) defer_(f func() error) { e.cleanups = append(e.cleanups, f) }

// close runs the cleanups, drops the schemas and closes the admin pool.
func (e *env) close() error {
	err := e.release(envMark{})
	e.admin.Close()
	return err
}

// envMark is a point in a run's resources (see mark and release).
type envMark struct{ cleanups, schemas int }

// mark returns the current point, for release.
func (e *env) mark() envMark { return envMark{len(e.cleanups), len(e.schemas)} }

// release runs the cleanups registered since m, last first (servers,
// Managers, pools), and drops the schemas made since m: a workload that
// releases what it used leaves no connections or tables to the next.
func (e *env) release(m envMark) error {
	var errs []error
	for i := len(e.cleanups) - 1; i >= m.cleanups; i-- {
		errs = append(errs, e.cleanups[i]())
	}
	e.cleanups = e.cleanups[:m.cleanups]
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, s := range e.schemas[m.schemas:] {
		if _, err := e.admin.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{s}.Sanitize()+" CASCADE"); err != nil {
			errs = append(errs, fmt.Errorf("drop schema %s: %w", s, err))
		}
	}
	e.schemas = e.schemas[:m.schemas]
	return errors.Join(errs...)
}

// Statement kinds, taken from the context of the statement: the HTTP
// servers mark each request's context with the kind of request.
const (
	kindBackground = iota // no request: background work, or untagged
	kindRead
	kindWrite
	kindAuth
	kindAnnounce // background pg_notify: the announcement of a write
	numKinds
)

type kindKey struct{}

func withKind(ctx context.Context, k int) context.Context {
	return context.WithValue(ctx, kindKey{}, k)
}

func kindOf(ctx context.Context) int {
	if k, ok := ctx.Value(kindKey{}).(int); ok {
		return k
	}
	return kindBackground
}

// stmtCounter is a pgx tracer that counts the statements a pool sends: one
// per Query or Exec, one per SendBatch, by kind.
type stmtCounter struct {
	n [numKinds]atomic.Int64
}

func (c *stmtCounter) add(ctx context.Context) { c.n[kindOf(ctx)].Add(1) }

func (c *stmtCounter) total() int64 {
	var t int64
	for i := range c.n {
		t += c.n[i].Load()
	}
	return t
}

func (c *stmtCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	k := kindOf(ctx)
	if k == kindBackground && strings.Contains(d.SQL, "pg_notify") {
		k = kindAnnounce // sent by pgsession's announcer for the writes
	}
	c.n[k].Add(1)
	return ctx
}

func (c *stmtCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (c *stmtCounter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	c.add(ctx)
	return ctx
}

func (c *stmtCounter) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

func (c *stmtCounter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

func machine() string {
	return fmt.Sprintf("%d CPUs, %s/%s, %s", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version())
}
