package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/token"
)

// Default addresses and schema.
const (
	DefaultAddrA  = "127.0.0.1:8080"
	DefaultAddrB  = "127.0.0.1:8081"
	DefaultSchema = "pgsession_demo"
)

// MaxSessionsPerUser is the demo Managers' cap on one user's live sessions:
// a log-in past it ends the user's oldest session, so no one can pile up
// sessions (and rows) without bound by logging in over and over.
const MaxSessionsPerUser = 10

// nodeNames name the nodes, in the order of Options.Addrs.
var nodeNames = [2]string{"A", "B"}

// Options configure Start.
type Options struct {
	// Addrs are the listen addresses of node A and node B. Port 0 picks a
	// free port (the tests do). Defaults to DefaultAddrA and DefaultAddrB.
	Addrs [2]string
	// DatabaseURL selects PostgreSQL: each node then opens its own Manager
	// (pool and listener), as two processes would. Defaults to "": both
	// nodes share one in-process MemoryStore.
	DatabaseURL string
	// Schema holds the tables on PostgreSQL; it is created and migrated at
	// start. Defaults to DefaultSchema.
	Schema string
	// Keys signs and verifies the session tokens of both nodes. Required.
	Keys *token.Ring
	// ReauthMaxAge is how recent a log-in must be for the user to end
	// their other sessions. Defaults to DefaultReauthMaxAge; tests shorten
	// it.
	ReauthMaxAge time.Duration
	// Heartbeat is how often an idle event stream (GET /api/events) gets a
	// comment line, and checks that its session is still live. Defaults to
	// DefaultHeartbeat; tests shorten it.
	Heartbeat time.Duration
	// MaxStreams caps the event streams open on each node, all users
	// together; one more is answered 503. Defaults to DefaultMaxStreams;
	// tests lower it.
	MaxStreams int
	// Logger receives a line per request and the errors the middleware
	// reports. Defaults to discarding them.
	Logger *slog.Logger
}

// Cluster is the two running nodes.
type Cluster struct {
	// Backend describes where the sessions live, for people.
	Backend string
	// Nodes are node A and node B.
	Nodes [2]*Node

	servers  [2]*http.Server
	managers []*pgsession.Manager
	errs     chan error
	stopOnce sync.Once
	stopErr  error
}

// Start opens both nodes' Managers, binds both addresses and serves until
// Shutdown. On error nothing is left running.
func Start(ctx context.Context, opts Options) (_ *Cluster, err error) {
	if opts.Keys == nil {
		return nil, errors.New("demo: no signing keys")
	}
	for i, def := range [2]string{DefaultAddrA, DefaultAddrB} {
		if opts.Addrs[i] == "" {
			opts.Addrs[i] = def
		}
	}
	if opts.Schema == "" {
		opts.Schema = DefaultSchema
	}
	switch {
	case opts.ReauthMaxAge == 0:
		opts.ReauthMaxAge = DefaultReauthMaxAge
	case opts.ReauthMaxAge < 0:
		return nil, errors.New("demo: negative ReauthMaxAge")
	}
	switch {
	case opts.Heartbeat == 0:
		opts.Heartbeat = DefaultHeartbeat
	case opts.Heartbeat < 0:
		return nil, errors.New("demo: negative Heartbeat")
	}
	switch {
	case opts.MaxStreams == 0:
		opts.MaxStreams = DefaultMaxStreams
	case opts.MaxStreams < 0:
		return nil, errors.New("demo: negative MaxStreams")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Cluster{errs: make(chan error, 2)}
	defer func() {
		if err != nil {
			c.closeManagers(context.WithoutCancel(ctx))
		}
	}()

	// Bind first: a busy port is the likeliest failure and the cheapest.
	var lns [2]net.Listener
	for i, addr := range opts.Addrs {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			for _, l := range lns[:i] {
				l.Close()
			}
			return nil, fmt.Errorf("node %s: %w", nodeNames[i], err)
		}
		lns[i] = ln
	}
	closeListeners := func() {
		for _, l := range lns {
			l.Close()
		}
	}

	var store *pgsession.MemoryStore
	if opts.DatabaseURL == "" {
		store = pgsession.NewMemoryStore()
		c.Backend = "memory (both nodes share one in-process store)"
	} else {
		c.Backend = fmt.Sprintf("PostgreSQL, schema %s (each node has its own pool and listener)", opts.Schema)
	}
	for i, name := range nodeNames {
		cfg := pgsession.Config{
			NodeID:             "demo-" + name,
			Schema:             opts.Schema,
			CreateSchema:       true,
			Logger:             opts.Logger.With("node", name),
			SweepInterval:      time.Minute,
			MaxSessionsPerUser: MaxSessionsPerUser,
			// The pages' live session lists (GET /api/events) subscribe to
			// session events, which every node must announce.
			Events: true,
		}
		var m *pgsession.Manager
		if store != nil {
			m, err = pgsession.NewMemory(store, cfg)
		} else {
			m, err = pgsession.Open(ctx, opts.DatabaseURL, cfg)
		}
		if err != nil {
			closeListeners()
			return nil, fmt.Errorf("node %s: %w", name, err)
		}
		c.managers = append(c.managers, m)
		n, err := newNode(name, m, opts.Keys, c.Backend, opts.ReauthMaxAge, opts.Logger.With("node", name))
		if err != nil {
			closeListeners()
			return nil, err
		}
		n.URL = "http://" + displayAddr(lns[i].Addr())
		n.heartbeat = opts.Heartbeat
		n.streams.max = opts.MaxStreams
		c.Nodes[i] = n
	}
	for _, n := range c.Nodes {
		for _, p := range c.Nodes {
			n.peers = append(n.peers, peer{Name: p.Name, Port: portOf(p.URL)})
		}
	}
	for i, n := range c.Nodes {
		srv := &http.Server{
			Handler:           n.Handler(),
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       10 * time.Second,
			WriteTimeout:      30 * time.Second,
			IdleTimeout:       time.Minute,
			ErrorLog:          slog.NewLogLogger(opts.Logger.Handler(), slog.LevelWarn),
		}
		c.servers[i] = srv
		go func() {
			if err := srv.Serve(lns[i]); !errors.Is(err, http.ErrServerClosed) {
				c.errs <- fmt.Errorf("node %s: %w", n.Name, err)
			}
		}()
	}
	return c, nil
}

// URLs returns the base URL of node A and node B.
func (c *Cluster) URLs() [2]string { return [2]string{c.Nodes[0].URL, c.Nodes[1].URL} }

// Err delivers an error if a server stops by itself.
func (c *Cluster) Err() <-chan error { return c.errs }

// Shutdown stops both servers gracefully (requests in flight finish, within
// ctx; event streams, which never would, end first), then closes the
// Managers, which flushes pending last-access writes. Later calls return the
// first call's result.
func (c *Cluster) Shutdown(ctx context.Context) error {
	c.stopOnce.Do(func() {
		for _, n := range c.Nodes {
			n.stopStreams()
		}
		var wg sync.WaitGroup
		errs := make([]error, len(c.servers)+1)
		for i, srv := range c.servers {
			wg.Go(func() {
				if err := srv.Shutdown(ctx); err != nil {
					errs[i] = fmt.Errorf("node %s: shut down: %w", nodeNames[i], err)
					srv.Close()
				}
			})
		}
		wg.Wait()
		errs[len(c.servers)] = c.closeManagers(context.WithoutCancel(ctx))
		c.stopErr = errors.Join(errs...)
	})
	return c.stopErr
}

func (c *Cluster) closeManagers(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var errs []error
	for _, m := range c.managers {
		errs = append(errs, m.Close(ctx))
	}
	c.managers = nil
	return errors.Join(errs...)
}

// displayAddr is a listener's address as a browser should use it: an
// unspecified IP (listening on all interfaces) is shown as loopback.
func displayAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	ip := tcp.IP
	if ip.IsUnspecified() {
		ip = net.IPv4(127, 0, 0, 1)
	}
	return net.JoinHostPort(ip.String(), fmt.Sprint(tcp.Port))
}

func portOf(url string) string {
	_, port, _ := net.SplitHostPort(url[len("http://"):])
	return port
}
