package pgsession_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/pgsessiontest"
)

// The consistency promise under faults, on a PostgreSQL server of the
// test's own (never the shared one, which other tests use meanwhile): each
// fault must leave no read stale past its bound and lose nothing
// acknowledged (DESIGN C1, C5, C7). One server, one fault after another.
func TestConsistencyUnderFaults(t *testing.T) {
	t.Parallel()
	server := pgsessiontest.StartCluster(t)
	faults := []struct {
		name string
		run  func(t *testing.T, e *faultEnv)
	}{
		{"listener terminated", faultListenerTerminated},
		{"listener black-holed", faultListenerBlackholed},
		{"reply lost and writer cut off", faultReplyLost},
		{"writer killed between commit and announcement", faultWriterKilled},
		{"restart fast mid-load", func(t *testing.T, e *faultEnv) { faultRestart(t, e, pgsessiontest.ShutdownFast) }},
		{"restart immediate mid-load", func(t *testing.T, e *faultEnv) { faultRestart(t, e, pgsessiontest.ShutdownImmediate) }},
	}
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) { f.run(t, newFaultEnv(t, server)) })
	}
}

// faultEnv is a schema of its own on the private server.
type faultEnv struct {
	t      *testing.T
	server *pgsessiontest.Cluster
	schema string
}

func newFaultEnv(t *testing.T, server *pgsessiontest.Cluster) *faultEnv {
	var b [6]byte
	rand.Read(b[:])
	e := &faultEnv{t: t, server: server, schema: "fault_" + hex.EncodeToString(b[:])}
	e.exec("CREATE SCHEMA " + e.schema)
	return e
}

// exec runs one statement on a connection of its own.
func (e *faultEnv) exec(sql string, args ...any) int64 {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, e.server.URL())
	require.NoError(e.t, err)
	defer conn.Close(ctx)
	tag, err := conn.Exec(ctx, sql, args...)
	require.NoError(e.t, err)
	return tag.RowsAffected()
}

// storedVersion reads a session's version from the table (0: no row).
func (e *faultEnv) storedVersion(id pgsession.ID) int64 {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, e.server.URL())
	require.NoError(e.t, err)
	defer conn.Close(ctx)
	var v int64
	err = conn.QueryRow(ctx, "SELECT version FROM "+e.schema+".pgsession_sessions WHERE id = $1", id[:]).Scan(&v)
	if err == pgx.ErrNoRows {
		return 0
	}
	require.NoError(e.t, err)
	return v
}

// pool opens a pool on the server, through proxy when it is not nil.
func (e *faultEnv) pool(proxy *pgsessiontest.Proxy, configure func(*pgxpool.Config)) *pgxpool.Pool {
	cfg, err := pgxpool.ParseConfig(e.server.URL())
	require.NoError(e.t, err)
	cfg.ConnConfig.ConnectTimeout = 2 * time.Second
	cfg.MaxConns = 8
	if proxy != nil {
		host, port, _ := net.SplitHostPort(proxy.Addr())
		n, _ := strconv.Atoi(port)
		cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Fallbacks = host, uint16(n), nil
	}
	if configure != nil {
		configure(cfg)
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	require.NoError(e.t, err)
	e.t.Cleanup(pool.Close)
	return pool
}

// listener connects a node's listener, through proxy when not nil, under
// an application_name to find it by.
func (e *faultEnv) listener(proxy *pgsessiontest.Proxy, app string) func(context.Context) (*pgx.Conn, error) {
	return func(ctx context.Context) (*pgx.Conn, error) {
		cc, err := pgx.ParseConfig(e.server.URL())
		if err != nil {
			return nil, err
		}
		cc.ConnectTimeout = 2 * time.Second
		cc.RuntimeParams["application_name"] = app
		if proxy != nil {
			host, port, _ := net.SplitHostPort(proxy.Addr())
			n, _ := strconv.Atoi(port)
			cc.Host, cc.Port, cc.Fallbacks = host, uint16(n), nil
		}
		return pgx.ConnectConfig(ctx, cc)
	}
}

// node starts a Manager on pool, closed when the test ends.
func (e *faultEnv) node(pool *pgxpool.Pool, cfg pgsession.Config) *pgsession.Manager {
	cfg.Schema = e.schema
	if cfg.TouchInterval == 0 {
		cfg.TouchInterval = -1
	}
	cfg.SweepInterval = -1
	m, err := pgsession.New(context.Background(), pool, cfg)
	require.NoError(e.t, err)
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		m.Close(ctx) // some faults leave things unsendable: Close reports them, the test does not care
	})
	return m
}

// honoured waits until m serves id at version v or later, and returns how
// long that took; it fails the test past the fault bound.
func honoured(t *testing.T, m *pgsession.Manager, id pgsession.ID, v int64, since time.Time) time.Duration {
	t.Helper()
	require.Eventually(t, func() bool {
		s, err := m.GetByID(context.Background(), id, pgsession.NoTouch())
		return err == nil && s.Version() >= v
	}, faultBound, time.Millisecond, "version %d not served within S_fault", v)
	return time.Since(since)
}

// A listener killed by the server: the node notices, reads through, and
// serves nothing older than what was committed meanwhile.
func faultListenerTerminated(t *testing.T, e *faultEnv) {
	ctx := ctxT(t)
	a := e.node(e.pool(nil, nil), testConfig())
	app := "listener-" + e.schema
	cfg := testConfig()
	cfg.ListenerConnect = e.listener(nil, app)
	b := e.node(e.pool(nil, nil), cfg)
	s, err := a.Create(ctx, "", map[string]any{"n": 1})
	require.NoError(t, err)
	require.True(t, cachedAt(b, s.ID(), 1))

	require.Equal(t, int64(1), e.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", app))
	u, err := a.Update(ctx, s.ID(), new(pgsession.Patch).Set("n", 2))
	require.NoError(t, err)
	t.Logf("b served v%d %v after commit", u.Version(), honoured(t, b, s.ID(), u.Version(), time.Now()))
	require.Eventually(t, func() bool { return b.Stats().Reconnects == 1 }, faultBound, time.Millisecond)
}

// A listener whose packets vanish: noticed by its heartbeat; an update
// made meanwhile is honoured from the change log, which b reads through its
// pool, well before that.
func faultListenerBlackholed(t *testing.T, e *faultEnv) {
	ctx := ctxT(t)
	a := e.node(e.pool(nil, nil), testConfig())
	proxy := pgsessiontest.NewProxy(t, e.server.Addr())
	cfg := testConfig()
	cfg.ListenerConnect = e.listener(proxy, "listener-"+e.schema)
	b := e.node(e.pool(nil, nil), cfg)
	s, err := a.Create(ctx, "", map[string]any{"n": 1})
	require.NoError(t, err)
	require.True(t, cachedAt(b, s.ID(), 1))

	proxy.Blackhole()
	t.Cleanup(proxy.Cut)
	u, err := a.Update(ctx, s.ID(), new(pgsession.Patch).Set("n", 2))
	require.NoError(t, err)
	t.Logf("b served v%d %v after commit", u.Version(), honoured(t, b, s.ID(), u.Version(), time.Now()))
	cut := time.Now()
	require.Eventually(t, func() bool { return b.Stats().CacheBypassed }, faultBound+time.Second, time.Millisecond)
	t.Logf("black hole noticed %v after the update", time.Since(cut))
}

// The writer's update commits but its reply is lost, and the writer stays
// cut off (a partition): it cannot announce anything, yet every other node
// honours the update from the change log.
func faultReplyLost(t *testing.T, e *faultEnv) {
	ctx := ctxT(t)
	proxy := pgsessiontest.NewProxy(t, e.server.Addr())
	pool := e.pool(proxy, func(cfg *pgxpool.Config) {
		cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeExec // no prepare round trip to lose
		cfg.MaxConns = 1
	})
	a := e.node(pool, withListener(testConfig(), e.listener(nil, "a-"+e.schema)))
	b := e.node(e.pool(nil, nil), testConfig())
	s, err := a.Create(ctx, "", map[string]any{"n": 1})
	require.NoError(t, err)
	require.True(t, cachedAt(b, s.ID(), 1))
	require.Eventually(t, func() bool { return pool.Stat().AcquiredConns() == 0 }, within, time.Millisecond)

	proxy.DropReplies()
	t.Cleanup(func() { proxy.Cut(); proxy.Pass() })
	upd, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	_, err = a.Update(upd, s.ID(), new(pgsession.Patch).Set("n", 2))
	cancel()
	require.ErrorIs(t, err, pgsession.ErrOutcomeUnknown)
	require.Equal(t, int64(2), e.storedVersion(s.ID()), "committed; only the reply was lost")
	t.Logf("b served v2 %v after the writer gave up", honoured(t, b, s.ID(), 2, time.Now()))
}

// The writer is a separate process, killed (SIGKILL) after its update
// committed and before it could announce it.
func faultWriterKilled(t *testing.T, e *faultEnv) {
	ctx := ctxT(t)
	b := e.node(e.pool(nil, nil), testConfig())
	s, err := b.Create(ctx, "", map[string]any{"n": 1})
	require.NoError(t, err)
	require.True(t, cachedAt(b, s.ID(), 1))

	id := s.ID()
	cmd := exec.Command(os.Args[0], "-test.run=^TestFaultChildWriter$", "-test.count=1")
	cmd.Env = append(os.Environ(), childWriterEnv+"="+strings.Join([]string{e.server.URL(), e.schema, hex.EncodeToString(id[:])}, " "))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := bufio.NewScanner(out)
	var version int64
	for version == 0 && lines.Scan() {
		if v, ok := strings.CutPrefix(lines.Text(), "COMMITTED "); ok {
			version, err = strconv.ParseInt(v, 10, 64)
			require.NoError(t, err)
		}
	}
	require.NotZero(t, version, "the child never reported its commit")
	require.NoError(t, cmd.Process.Kill())
	killed := time.Now()
	require.Error(t, cmd.Wait(), "killed")
	require.True(t, cachedAt(b, id, 1) || cachedAt(b, id, version), "nothing announced it")
	t.Logf("b served v%d %v after the writer was killed", version, honoured(t, b, id, version, killed))
}

const childWriterEnv = "PGSESSION_FAULT_CHILD_WRITER"

// TestFaultChildWriter is the process faultWriterKilled kills: it updates a
// session, prints the committed version, and waits to be killed before it
// announces anything.
func TestFaultChildWriter(t *testing.T) {
	spec := os.Getenv(childWriterEnv)
	if spec == "" {
		t.Skip("the writer process of TestConsistencyUnderFaults; runs only as its child")
	}
	parts := strings.Fields(spec)
	require.Len(t, parts, 3)
	raw, err := hex.DecodeString(parts[2])
	require.NoError(t, err)
	var id pgsession.ID
	copy(id[:], raw)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, parts[0])
	require.NoError(t, err)
	m, err := pgsession.New(ctx, pool, pgsession.Config{Schema: parts[1], TouchInterval: -1, SweepInterval: -1})
	require.NoError(t, err)
	pgsession.SetBeforeAnnounceHook(m, func(_ pgsession.ID, v int64) {
		fmt.Printf("COMMITTED %d\n", v)
		select {} // killed here
	})
	_, err = m.Update(ctx, id, new(pgsession.Patch).Set("n", 2))
	t.Fatalf("the update returned (%v) instead of waiting to be killed", err)
}

func withListener(cfg pgsession.Config, connect func(context.Context) (*pgx.Conn, error)) pgsession.Config {
	cfg.ListenerConnect = connect
	return cfg
}
