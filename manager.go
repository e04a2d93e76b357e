package pgsession

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pgsession/pgsession/internal/cache"
	"github.com/pgsession/pgsession/internal/notify"

	"github.com/pgsession/pgsession/internal/memory"
	"github.com/pgsession/pgsession/internal/postgres"
	"github.com/pgsession/pgsession/internal/store"
)

// Manager keeps sessions for one node. Create one per process (per pool) and
// share it; all methods are safe for concurrent use. Close it on shutdown so
// pending last-access writes are flushed and background goroutines stop.
type Manager struct {
	cfg      Config
	instance string // a randomName per Manager, for what it must tell apart (see random_name.go)
	limits   limits
	backend  store.Backend
	toucher  *toucher
	cache    *cache.Cache[*Session] // nil when Config.CacheSize is -1
	gone     *goneIDs               // nil when Config.NotFoundCacheSize is -1
	bus      bus
	flightMu sync.Mutex
	flights  map[ID]*flight // guarded by flightMu; reads in progress, shared by concurrent Gets
	stats    counters
	hooks    hooks
	listener *notify.Listener // nil on memory
	changes  *changeReader    // nil on memory, or when ChangePollInterval is -1
	events   *eventHub        // session event subscribers (Config.Events)
	trust    trust

	lockMu sync.Mutex     // orders lock registration against Close
	lockWG sync.WaitGroup // lock heartbeats

	closed    atomic.Bool
	writes    writeGate     // updates in progress, which Close waits for
	stop      chan struct{} // closed by Close: background loops end
	bgCtx     context.Context
	bgCancel  context.CancelCauseFunc // cancels background work in flight on Close, with ErrClosed
	wg        sync.WaitGroup          // background loops
	closeOnce sync.Once
	closeErr  error
}

// Open connects to PostgreSQL with a connection string, migrates the schema
// (unless Config.ManualMigrations) and starts the node. The Manager owns the
// pool it opens and closes it on Close.
func Open(ctx context.Context, connString string, cfg Config) (*Manager, error) {
	poolCfg, err := pgxpool.ParseConfig(connString)
	if err != nil {
		return nil, fmt.Errorf("pgsession: open: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, poolCfg)
	if err != nil {
		return nil, fmt.Errorf("pgsession: open: %w", err)
	}
	m, err := newPostgres(ctx, pool, cfg, true)
	if err != nil {
		pool.Close()
		return nil, err
	}
	return m, nil
}

// New starts a node on an existing pool, which the caller keeps owning: Close
// does not close it. It migrates the schema unless Config.ManualMigrations.
func New(ctx context.Context, pool *pgxpool.Pool, cfg Config) (*Manager, error) {
	return newPostgres(ctx, pool, cfg, false)
}

func newPostgres(ctx context.Context, pool *pgxpool.Pool, cfg Config, ownsPool bool) (*Manager, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("pgsession: new: %w", err)
	}
	names, err := schemaNames(cfg)
	if err != nil {
		return nil, fmt.Errorf("pgsession: new: %w", err)
	}
	if err := prepareSchema(ctx, pool, names, cfg); err != nil {
		return nil, fmt.Errorf("pgsession: new: %w", err)
	}
	backend := postgres.New(pool, names, ownsPool)
	if cfg.Events {
		backend.EnableEvents()
	}
	m, err := newManager(cfg, backend)
	if err != nil {
		return nil, err
	}
	connect := cfg.ListenerConnect
	if connect == nil {
		connCfg := pool.Config().ConnConfig.Copy()
		connCfg.Tracer = nil // the pool's tracer counts the pool's statements
		connCfg.RuntimeParams["application_name"] = "pgsession-listener-" + cfg.NodeID
		connect = func(ctx context.Context) (*pgx.Conn, error) { return pgx.ConnectConfig(ctx, connCfg) }
	}
	l := &notify.Listener{
		Connect: connect, Channel: names.Channel(), Instance: m.instance,
		PingInterval: cfg.ListenerPingInterval, PingTimeout: cfg.ListenerPingTimeout,
		OnEvent: m.onEvent, OnUp: m.listenerUp, OnDown: m.listenerDown, Log: cfg.Logger,
		KeepOwn: cfg.Events,
	}
	if cfg.ChangePollInterval > 0 {
		m.changes = &changeReader{log: backend, interval: cfg.ChangePollInterval,
			apply: m.applyChanges, fresh: m.changeLogFresh, warn: cfg.Logger.Warn}
		if err := m.changes.start(ctx); err != nil {
			m.abandon()
			return nil, fmt.Errorf("pgsession: new: read the change log: %w", err)
		}
	}
	conn, err := l.Dial(ctx)
	if err != nil {
		m.abandon()
		return nil, fmt.Errorf("pgsession: new: %w", err)
	}
	ann := newAnnouncer(m.instance, m.backend.Announce, cfg.Logger.Warn)
	ann.events = cfg.Events
	m.bus = &postgresBus{listener: l, announcer: ann}
	m.listener = l
	m.goBackground(func() { l.Run(m.bgCtx, conn) })
	m.goBackground(func() { ann.run(m.bgCtx, m.stop) })
	if m.changes != nil {
		m.goBackground(func() { m.changes.run(m.bgCtx, m.stop) })
	}
	m.goBackground(func() { runChangePruner(m.bgCtx, m.stop, backend, cfg.Logger.Warn) })
	m.startLoops()
	return m, nil
}

func schemaNames(cfg Config) (*postgres.Names, error) {
	names, err := postgres.NewNames(cfg.Schema, cfg.TablePrefix)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return names, nil
}

func prepareSchema(ctx context.Context, pool *pgxpool.Pool, names *postgres.Names, cfg Config) error {
	want := postgres.Sessions.LatestVersion(names)
	if !cfg.ManualMigrations {
		if _, err := postgres.Sessions.Migrate(ctx, pool, names, want, cfg.CreateSchema); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		return nil
	}
	have, err := postgres.Sessions.Version(ctx, pool, names)
	if err != nil {
		return err
	}
	if have != want {
		return fmt.Errorf("%w: database has %d, this code needs %d", ErrSchemaVersion, have, want)
	}
	return nil
}

// MemoryStore holds sessions in process memory. Managers that share one
// MemoryStore behave as nodes sharing one database.
type MemoryStore struct{ s *memory.Store }

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{s: memory.New()} }

// NewMemory starts a node on an in-memory store: for a single process, the
// demo and tests. A nil store gives the Manager a private one.
func NewMemory(st *MemoryStore, cfg Config) (*Manager, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("pgsession: new: %w", err)
	}
	if _, err := schemaNames(cfg); err != nil { // same rules everywhere
		return nil, fmt.Errorf("pgsession: new: %w", err)
	}
	if st == nil {
		st = NewMemoryStore()
	}
	m, err := newManager(cfg, st.s)
	if err != nil {
		return nil, err
	}
	m.bus = newMemoryBus(st.s, m)
	m.setTrust(func(t *trust) { t.listening = true }) // in-process delivery cannot be missed
	m.startLoops()
	return m, nil
}

// newManager builds a Manager without its bus; the cache starts disabled
// until the bus can deliver invalidations.
func newManager(cfg Config, b store.Backend) (*Manager, error) {
	m := &Manager{cfg: cfg, instance: randomName(), limits: cfg.limits(), backend: b,
		stop: make(chan struct{}), flights: map[ID]*flight{}, events: newEventHub(cfg.EventBuffer)}
	m.bgCtx, m.bgCancel = context.WithCancelCause(context.Background())
	m.toucher = newToucher(b, cfg)
	if cfg.CacheSize > 0 {
		c, err := cache.New(cache.Options[*Session]{
			MaxEntries: cfg.CacheSize, MaxBytes: cfg.CacheBytes,
			Version: (*Session).Version, Bytes: sizeOf,
		})
		if err != nil {
			return nil, fmt.Errorf("pgsession: new: cache: %w", err)
		}
		c.SetEnabled(false)
		m.cache = c
	}
	if cfg.NotFoundCacheSize > 0 {
		g, err := newGoneIDs(cfg.NotFoundCacheSize, int64(min(cfg.CacheMaxAge, notFoundTTL)))
		if err != nil {
			if m.cache != nil {
				m.cache.Close()
			}
			return nil, fmt.Errorf("pgsession: new: not-found cache: %w", err)
		}
		m.gone = g
	}
	acquireCoarseClock() // released by Close or abandon, once nothing above can fail
	return m, nil
}

// abandon releases what newManager took, for a constructor that fails
// before the Manager is handed out.
func (m *Manager) abandon() {
	m.bgCancel(ErrClosed)
	if m.cache != nil {
		m.cache.Close()
	}
	m.gone.close()
	releaseCoarseClock()
}

func (m *Manager) goBackground(f func()) {
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		f()
	}()
}

func (m *Manager) startLoops() {
	if m.cfg.TouchInterval > 0 {
		m.goBackground(func() { m.toucher.run(m.bgCtx, m.stop) })
	}
	if m.cfg.SweepInterval > 0 {
		m.goBackground(m.runJanitor)
	}
}

// Config returns the configuration in effect, defaults filled in.
func (m *Manager) Config() Config { return m.cfg }

// Close waits for updates in progress, stops every background goroutine,
// then sends what is pending: last-access writes and announcements of
// updates. If the Manager opened its pool, it closes it. Close returns by
// ctx's deadline, whatever the state of the database; what could not be
// sent by then is reported in the error (announcements missed that way are
// picked up by other nodes from the change log within the fault bound).
// Calls after the first return nil and do nothing.
func (m *Manager) Close(ctx context.Context) error {
	m.closeOnce.Do(func() { m.closeErr = m.close(ctx) })
	return m.closeErr
}

func (m *Manager) close(ctx context.Context) error {
	m.lockMu.Lock()
	m.closed.Store(true)
	m.lockMu.Unlock()
	var errs []error
	if err := m.writes.close(ctx); err != nil {
		errs = append(errs, fmt.Errorf("wait for updates in progress: %w", err))
	}
	close(m.stop)
	m.bgCancel(ErrClosed) // ends every lock's context, and background work in flight
	if err := waitBounded(ctx, &m.wg, &m.lockWG); err != nil {
		errs = append(errs, fmt.Errorf("stop background work: %w", err))
	}
	if err := m.toucher.flush(ctx); err != nil {
		errs = append(errs, fmt.Errorf("flush touches: %w", err))
	}
	if err := m.bus.close(ctx); err != nil {
		errs = append(errs, fmt.Errorf("announce updates: %w", err))
	}
	m.events.close() // nothing publishes any more: the listener and the bus have stopped
	if m.cache != nil {
		m.cache.Close()
	}
	m.gone.close()
	releaseCoarseClock()
	if err := closeBounded(ctx, m.backend.Close); err != nil {
		errs = append(errs, fmt.Errorf("close pool: %w", err))
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("pgsession: close: %w", errors.Join(errs...))
}

// waitBounded waits for the groups, or until ctx ends.
func waitBounded(ctx context.Context, groups ...*sync.WaitGroup) error {
	return closeBounded(ctx, func() {
		for _, g := range groups {
			g.Wait()
		}
	})
}

// closeBounded runs f and waits for it until ctx ends; f then finishes on
// its own (a pool closing waits for connections the caller still uses).
func closeBounded(ctx context.Context, f func()) error {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// op wraps an error with the operation's name; nil stays nil.
func op(name string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("pgsession: %s: %w", name, err)
}

func (m *Manager) checkOpen(name string) error {
	if m.closed.Load() {
		return op(name, ErrClosed)
	}
	return nil
}

// Len returns how many sessions the store holds, expired or not (for tests
// and the demo).
func (st *MemoryStore) Len() int { return st.s.Len() }
