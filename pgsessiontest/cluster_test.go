package pgsessiontest

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Two clusters at once, as two fault tests of one package would start.
func TestCluster(t *testing.T) {
	for _, name := range []string{"a", "b"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testCluster(t)
		})
	}
}

func testCluster(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	begin := time.Now()
	c := StartCluster(t)
	t.Logf("StartCluster: %v (%s)", time.Since(begin), c.Addr())
	addr := c.Addr()

	conn := clusterConnect(t, ctx, c)
	if _, err := conn.Exec(ctx, "CREATE TABLE kept (v text)"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "INSERT INTO kept VALUES ('before fast')"); err != nil {
		t.Fatal(err)
	}

	begin = time.Now()
	c.Restart(t, ShutdownFast)
	t.Logf("Restart(fast): %v", time.Since(begin))
	if c.Addr() != addr {
		t.Fatalf("Restart moved the server from %s to %s", addr, c.Addr())
	}
	if _, err := conn.Exec(ctx, "SELECT 1"); err == nil {
		t.Fatal("a connection from before the restart still works")
	}
	conn = clusterConnect(t, ctx, c)
	clusterRows(t, ctx, conn, "before fast")

	// Committed with fsync off: it must survive a crash of the server.
	if _, err := conn.Exec(ctx, "INSERT INTO kept VALUES ('before immediate')"); err != nil {
		t.Fatal(err)
	}
	begin = time.Now()
	c.Restart(t, ShutdownImmediate)
	t.Logf("Restart(immediate): %v", time.Since(begin))
	if _, err := conn.Exec(ctx, "SELECT 1"); err == nil {
		t.Fatal("a connection from before the restart still works")
	}
	conn = clusterConnect(t, ctx, c)
	clusterRows(t, ctx, conn, "before fast", "before immediate")

	// A proxy in front of it, as fault tests use.
	p := NewProxy(t, c.Addr())
	viaProxy, err := pgx.Connect(ctx, "postgres://postgres@"+p.Addr()+"/postgres?sslmode=disable")
	if err != nil {
		t.Fatalf("connect through the proxy: %v", err)
	}
	defer viaProxy.Close(ctx)
	clusterRows(t, ctx, viaProxy, "before fast", "before immediate")

	c.Stop(t, ShutdownFast)
	short, cancelShort := context.WithTimeout(ctx, 2*time.Second)
	defer cancelShort()
	if down, err := pgx.Connect(short, c.URL()); err == nil {
		down.Close(ctx)
		t.Fatal("connected to a stopped cluster")
	}
	begin = time.Now()
	c.Start(t)
	t.Logf("Start: %v", time.Since(begin))
	conn = clusterConnect(t, ctx, c)
	clusterRows(t, ctx, conn, "before fast", "before immediate")
}

// The cluster is gone when its test ends: server stopped, folder removed.
func TestClusterCleanup(t *testing.T) {
	var dir, addr string
	t.Run("start", func(t *testing.T) {
		c := StartCluster(t)
		dir, addr = c.Dir(), c.Addr()
	})
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("cluster folder %s still there: %v", dir, err)
	}
	if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		conn.Close()
		t.Errorf("something still listens on %s", addr)
	}
}

// A port taken, by another server, between choosing it and starting
// postgres: try another port, and do not take the other server for ours.
// (Not parallel: it replaces clusterPort.)
func TestClusterPortClash(t *testing.T) {
	other := StartCluster(t)
	tries := 0
	clusterPort = func() (int, error) {
		tries++
		if tries == 1 {
			return other.port, nil
		}
		return freePort()
	}
	defer func() { clusterPort = freePort }()

	c := StartCluster(t)
	if tries != 2 || c.Addr() == other.Addr() {
		t.Fatalf("started on %s after %d tries, want another port than %s after 2", c.Addr(), tries, other.Addr())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var dir string
	if err := clusterConnect(t, ctx, c).QueryRow(ctx, "SHOW data_directory").Scan(&dir); err != nil {
		t.Fatal(err)
	}
	if dir != c.dataDir() {
		t.Fatalf("connected to the server in %s, want %s", dir, c.dataDir())
	}
}

func clusterConnect(t *testing.T, ctx context.Context, c *Cluster) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(ctx, c.URL())
	if err != nil {
		t.Fatalf("connect to %s: %v", c.URL(), err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func clusterRows(t *testing.T, ctx context.Context, conn *pgx.Conn, want ...string) {
	t.Helper()
	rows, err := conn.Query(ctx, "SELECT v FROM kept ORDER BY v")
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("rows = %q, want %q", got, want)
	}
}
