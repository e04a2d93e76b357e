package pgsessiontest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Cluster is a PostgreSQL server of a test's own, for fault tests that
// restart or stop the server: the shared one at 127.0.0.1:5432 is used by
// other tests at the same time and must never be restarted.
//
// The postmaster is a child of the test process, so it dies with it even
// when the test binary panics or times out and Cleanup never runs. Settings
// live in postgresql.conf, so ALTER SYSTEM followed by Restart applies.
// fsync is off, but commits still reach the kernel before they return, so
// they survive an immediate shutdown (not a machine crash).
type Cluster struct {
	bin  string // PostgreSQL's bindir
	dir  string // our folder: data/ and postgres.log
	port int
	cred *syscall.Credential // non-nil when running as root

	mu   sync.Mutex
	proc *exec.Cmd     // guarded by mu; nil while stopped
	done chan struct{} // guarded by mu; closed when proc has exited
}

// ShutdownMode is how Stop and Restart shut the server down, as pg_ctl's -m.
type ShutdownMode string

const (
	// ShutdownSmart waits for every client to disconnect.
	ShutdownSmart ShutdownMode = "smart"
	// ShutdownFast ends sessions and rolls back their transactions cleanly:
	// a planned restart.
	ShutdownFast ShutdownMode = "fast"
	// ShutdownImmediate quits at once with no checkpoint, so the next start
	// runs crash recovery: a crash of the server.
	ShutdownImmediate ShutdownMode = "immediate"
)

// clusterTimeout bounds every wait: initdb, a start, a stop.
const clusterTimeout = 30 * time.Second

// StartCluster creates a cluster in a temporary folder, starts it on a free
// port of 127.0.0.1 and returns once it accepts connections. It is stopped
// (immediate) and removed when the test ends. It takes a second or two.
func StartCluster(tb testing.TB) *Cluster {
	tb.Helper()
	bin, err := postgresBindir()
	if err != nil {
		tb.Fatalf("pgsessiontest: %v", err)
	}
	c := &Cluster{bin: bin}
	if os.Geteuid() == 0 {
		// initdb and postgres refuse to run as root.
		c.cred, err = postgresUser()
		if err != nil {
			tb.Fatalf("pgsessiontest: running as root, and %v", err)
		}
	}
	// Not tb.TempDir: the folder must be owned by, and its parents
	// traversable by, the postgres user.
	c.dir, err = os.MkdirTemp("", "pgsessiontest-cluster-")
	if err != nil {
		tb.Fatalf("pgsessiontest: %v", err)
	}
	tb.Cleanup(func() {
		c.mu.Lock()
		err := c.stopLocked(ShutdownImmediate)
		c.mu.Unlock()
		if err != nil {
			tb.Errorf("pgsessiontest: stop cluster: %v", err)
			return // keep the folder: the server may still be using it
		}
		if err := os.RemoveAll(c.dir); err != nil {
			tb.Errorf("pgsessiontest: remove cluster: %v", err)
		}
	})
	if c.cred != nil {
		if err := os.Chown(c.dir, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
			tb.Fatalf("pgsessiontest: %v", err)
		}
	}

	if err := c.initdb(); err != nil {
		tb.Fatalf("pgsessiontest: %v", err)
	}
	// A port free now may be taken before postgres binds it: try others.
	for attempt := 1; ; attempt++ {
		c.port, err = clusterPort()
		if err != nil {
			tb.Fatalf("pgsessiontest: %v", err)
		}
		c.mu.Lock()
		err = c.startLocked()
		c.mu.Unlock()
		if err == nil {
			return c
		}
		if !errors.Is(err, errPortInUse) || attempt == 5 {
			tb.Fatalf("pgsessiontest: start cluster: %v", err)
		}
	}
}

// URL is the connection string of the cluster's postgres database, as the
// superuser postgres (no password).
func (c *Cluster) URL() string {
	return "postgres://postgres@" + c.Addr() + "/postgres?sslmode=disable"
}

// Addr is the server's host:port, to put a Proxy in front of it.
func (c *Cluster) Addr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port))
}

// Dir is the cluster's folder: the data directory is Dir()/data and the
// server log Dir()/postgres.log.
func (c *Cluster) Dir() string { return c.dir }

// Restart stops the server as mode says and starts it again on the same
// port, returning once it accepts connections.
func (c *Cluster) Restart(tb testing.TB, mode ShutdownMode) {
	tb.Helper()
	c.Stop(tb, mode)
	c.Start(tb)
}

// Stop shuts the server down as mode says and returns once it has exited;
// connections are refused until Start.
func (c *Cluster) Stop(tb testing.TB, mode ShutdownMode) {
	tb.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proc == nil {
		tb.Fatalf("pgsessiontest: stop cluster: it is not running")
	}
	if err := c.stopLocked(mode); err != nil {
		tb.Fatalf("pgsessiontest: stop cluster: %v", err)
	}
}

// Start starts a stopped server on its port and returns once it accepts
// connections.
func (c *Cluster) Start(tb testing.TB) {
	tb.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proc != nil {
		tb.Fatalf("pgsessiontest: start cluster: it is already running")
	}
	if err := c.startLocked(); err != nil {
		tb.Fatalf("pgsessiontest: start cluster: %v", err)
	}
}

func (c *Cluster) dataDir() string { return filepath.Join(c.dir, "data") }
func (c *Cluster) logPath() string { return filepath.Join(c.dir, "postgres.log") }

// command runs name from the bindir as the postgres user if we are root,
// with its output going to out. Ending ctx kills it and its children.
func (c *Cluster) command(ctx context.Context, out *os.File, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(c.bin, name), args...)
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.Dir = c.dir // our working directory may not be readable by postgres
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: c.cred,
		// Its own process group: signals from the terminal are for the test
		// binary, and Cancel kills initdb's children too.
		Setpgid: true,
		// If the test binary dies without running Cleanup, so does the
		// server. (Go sets it after the change of user, which would clear it.)
		Pdeathsig: syscall.SIGKILL,
	}
	return cmd
}

const clusterConf = `
# pgsessiontest.Cluster
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
max_connections = 100
shared_buffers = 16MB
fsync = off
full_page_writes = off
logging_collector = off
log_destination = 'stderr'
log_line_prefix = '%m [%p] '
`

func (c *Cluster) initdb() error {
	log, err := os.OpenFile(c.logPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer log.Close()
	ctx, cancel := context.WithTimeout(context.Background(), clusterTimeout)
	defer cancel()
	cmd := c.command(ctx, log, "initdb", "-D", c.dataDir(), "-A", "trust", "-U", "postgres",
		"-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions")
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("initdb: %v\n%s", err, c.logTail(0))
	}
	conf, err := os.OpenFile(filepath.Join(c.dataDir(), "postgresql.conf"), os.O_WRONLY|os.O_APPEND, 0)
	if err == nil {
		_, err = conf.WriteString(clusterConf)
		if cerr := conf.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

var errPortInUse = errors.New("port in use")

// startLocked starts postgres on c.port and waits until it accepts
// connections. On failure the server is not running.
func (c *Cluster) startLocked() error {
	log, err := os.OpenFile(c.logPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer log.Close() // the child has its own copy
	from, err := log.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}
	cmd := c.command(context.Background(), log, "postgres", "-D", c.dataDir(), "-p", strconv.Itoa(c.port))
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	c.proc, c.done = cmd, done

	deadline := time.Now().Add(clusterTimeout)
	for {
		select {
		case <-done:
			c.proc, c.done = nil, nil
			tail := c.logTail(from)
			if strings.Contains(tail, "Address already in use") {
				return fmt.Errorf("%w: %d\n%s", errPortInUse, c.port, tail)
			}
			return fmt.Errorf("postgres exited: %v\n%s", cmd.ProcessState, tail)
		default:
		}
		if err := c.ping(done); err == nil {
			return nil
		} else if time.Now().After(deadline) {
			c.stopLocked(ShutdownImmediate)
			return fmt.Errorf("not accepting connections after %v: %v\n%s", clusterTimeout, err, c.logTail(from))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ping connects to the server and checks it is ours: a server that took
// the port first would accept our connections too (trust, same user).
// It gives up when done is closed.
func (c *Cluster) ping(done <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	go func() {
		select {
		case <-done:
			cancel()
		case <-ctx.Done():
		}
	}()
	conn, err := pgconn.Connect(ctx, c.URL())
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	res, err := conn.Exec(ctx, "SHOW data_directory").ReadAll()
	if err != nil {
		return err
	}
	if got := string(res[0].Rows[0][0]); got != c.dataDir() {
		return fmt.Errorf("another server is on port %d: %s", c.port, got)
	}
	return nil
}

// stopLocked shuts the server down as mode says and waits for it to exit,
// killing it if it takes too long. It does nothing if it is not running.
func (c *Cluster) stopLocked(mode ShutdownMode) error {
	if c.proc == nil {
		return nil
	}
	// The signals pg_ctl stop -m sends.
	sig := map[ShutdownMode]syscall.Signal{
		ShutdownSmart:     syscall.SIGTERM,
		ShutdownFast:      syscall.SIGINT,
		ShutdownImmediate: syscall.SIGQUIT,
	}[mode]
	if sig == 0 {
		return fmt.Errorf("unknown shutdown mode %q (want smart, fast or immediate)", mode)
	}
	proc, done := c.proc, c.done
	c.proc, c.done = nil, nil
	proc.Process.Signal(sig) // fails only if it has exited already
	select {
	case <-done:
		return nil
	case <-time.After(clusterTimeout):
	}
	// Its children notice the postmaster's death and exit on their own.
	proc.Process.Kill()
	<-done
	return fmt.Errorf("%s shutdown took over %v: killed\n%s", mode, clusterTimeout, c.logTail(0))
}

// logTail is the end of the server log written after offset from.
func (c *Cluster) logTail(from int64) string {
	b, err := os.ReadFile(c.logPath())
	if err != nil {
		return "(no server log: " + err.Error() + ")"
	}
	if from < int64(len(b)) {
		b = b[from:]
	} else {
		b = nil
	}
	const max = 4000
	if len(b) > max {
		b = b[len(b)-max:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return "server log " + c.logPath() + ":\n" + string(b)
}

// postgresBindir finds PostgreSQL's programs: pg_config's bindir, else the
// newest /usr/lib/postgresql/*/bin (Debian's layout, not on PATH).
func postgresBindir() (string, error) {
	var tried []string
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		dir := strings.TrimSpace(string(out))
		if _, err := os.Stat(filepath.Join(dir, "initdb")); err == nil {
			return dir, nil
		}
		tried = append(tried, dir)
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgVersion(dirs[i]) > pgVersion(dirs[j]) })
	for _, dir := range dirs {
		if _, err := os.Stat(filepath.Join(dir, "initdb")); err == nil {
			return dir, nil
		}
		tried = append(tried, dir)
	}
	tried = append(tried, "/usr/lib/postgresql/*/bin")
	return "", fmt.Errorf("PostgreSQL's initdb not found (looked in pg_config --bindir and %s): install the PostgreSQL server package", strings.Join(tried, ", "))
}

// pgVersion is the major version in /usr/lib/postgresql/VERSION/bin.
func pgVersion(bindir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(bindir)))
	return v
}

func postgresUser() (*syscall.Credential, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("no postgres user to run the server as: %v", err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, err
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// clusterPort is freePort; tests replace it to force a clash.
var clusterPort = freePort

// freePort is a port of 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
