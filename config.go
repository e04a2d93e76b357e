package pgsession

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
)

// Config tunes a Manager. The zero value is valid: New fills every unset
// field with its documented default and rejects values that cannot work.
type Config struct {
	// Schema is the PostgreSQL schema that holds the tables: lower-case
	// letters, digits and underscores, at most 40 bytes. Defaults to "public".
	Schema string
	// TablePrefix starts every table name, so several deployments can share a
	// schema. Same character rules as Schema. Defaults to "pgsession_".
	TablePrefix string
	// CreateSchema creates Schema if it is missing. Defaults to false.
	CreateSchema bool
	// ManualMigrations stops New from migrating the schema; it then only
	// checks the version and fails with ErrSchemaVersion when it differs.
	// Set it when migrations run from the CLI or your own tool. Defaults to
	// false: New applies pending migrations (serialized across nodes).
	ManualMigrations bool

	// Lifetime is the absolute lifetime of a session from its creation or
	// last renewal, whatever its activity. Defaults to 24 hours.
	Lifetime time.Duration
	// IdleTimeout ends a session that has not been used for this long.
	// -1 disables idle expiry. Defaults to 2 hours.
	IdleTimeout time.Duration

	// MaxSessionsPerUser caps the live sessions of one user: a create past the
	// cap removes the user's oldest sessions, in the same round trip. 0 means
	// no cap. Defaults to 0.
	MaxSessionsPerUser int
	// MaxAttributeSize is the largest JSON encoding of one attribute value,
	// in bytes. Defaults to 64 KiB.
	MaxAttributeSize int
	// MaxAttributes is the most attributes one session may hold. Defaults to 64.
	MaxAttributes int
	// MaxKeyLength is the longest attribute key, in bytes. Defaults to 128.
	MaxKeyLength int

	// TouchInterval is how often a node writes the last-access times it has
	// gathered, in one statement per batch. -1 disables last-access writes
	// (then IdleTimeout counts from creation). Defaults to 1 second, or a
	// tenth of IdleTimeout if that is shorter.
	TouchInterval time.Duration
	// TouchBatchSize is the most sessions written per touch statement.
	// Defaults to 1000.
	TouchBatchSize int
	// TouchGranularity is how stale a stored last-access time may be: a
	// session is written at most once per granularity. Defaults to 1 minute,
	// or a tenth of IdleTimeout if that is shorter.
	TouchGranularity time.Duration

	// SweepInterval is how often expired sessions are deleted. Nodes share
	// the work through a lease, so one pass runs at a time across the cluster.
	// Expired sessions are invisible before they are swept. -1 disables
	// sweeping on this node. Defaults to 5 minutes.
	SweepInterval time.Duration
	// SweepBatchSize is how many rows one sweep statement examines, bounding
	// how long it holds row locks. Defaults to 1000.
	SweepBatchSize int

	// CacheSize is the most sessions this node keeps in memory. -1 disables
	// the cache: every read goes to the database. Defaults to 10000.
	CacheSize int
	// NotFoundCacheSize is how many IDs known to name no live session
	// (deleted, renewed away, expired, never issued) a node remembers, so a
	// client that keeps sending such a token costs one database read, not
	// one per request. -1 disables it. Defaults to 10000 (about 1 MiB).
	NotFoundCacheSize int
	// CacheBytes bounds the cache's estimated memory. Defaults to 64 MiB.
	CacheBytes int64
	// CacheMaxAge is the longest a cached copy is served after it was read,
	// whatever the notifications and the change log say: the last safety
	// net (DESIGN C4). Defaults to 1 minute.
	CacheMaxAge time.Duration
	// SkipUpdateNotify stops announcing attribute updates to other nodes.
	// Deletions are always announced. Other nodes then serve an older copy
	// until they read the change log (about ChangePollInterval; CacheMaxAge
	// with the change log off), unless the client's MinVersion asks for
	// newer. Defaults to false: updates are announced.
	SkipUpdateNotify bool
	// NotifyOnConflict announces the current version when a version-checked
	// update is refused, so other nodes drop the stale copy that caused it.
	// Defaults to false.
	NotifyOnConflict bool

	// Events turns on session events (Manager.Subscribe): statements then
	// also announce creations and sweeps, and say who owned each deleted
	// session and why it went; updates announce the keys they wrote. Turn
	// it on for every node of a deployment, once every node runs a version
	// that knows it: a node without it ignores those announcements, and so
	// misses the revocations they carry. Defaults to false: what only
	// events need is never sent (see docs/EVENTS.md for what it costs).
	Events bool
	// EventBuffer is how many events one subscriber may fall behind by
	// before the newest are dropped for a gap event. Defaults to 1024.
	EventBuffer int

	// ChangePollInterval is how often the node reads the change log, the
	// durable record of every update, for updates whose announcement it
	// never heard: the writer died after commit, lost the reply, or closed
	// first. It bounds how long such an update can be served stale (DESIGN
	// C7): about this interval plus one query, and if the log cannot be read
	// for 3 intervals the node stops serving from its cache until it can.
	// -1 turns the reading off on this node; such updates are then honoured
	// only after CacheMaxAge. Defaults to 500 ms (two small queries a second
	// per node when nothing changes).
	ChangePollInterval time.Duration

	// ListenerPingInterval is how long the listener connection may stay
	// quiet before it is probed with a heartbeat. With ListenerPingTimeout it
	// bounds how long a silently broken connection goes unnoticed.
	// Defaults to 1 second.
	ListenerPingInterval time.Duration
	// ListenerPingTimeout is how long a heartbeat may take to come back.
	// Defaults to 1 second.
	ListenerPingTimeout time.Duration
	// ListenerConnect opens the listener's dedicated connection. Set it when
	// the pool goes through a proxy that cannot LISTEN (PgBouncer in
	// transaction mode): connect straight to PostgreSQL here. Defaults to a
	// connection made with the pool's own connection settings.
	ListenerConnect func(ctx context.Context) (*pgx.Conn, error)

	// NodeID names this node for people: in lease rows, in the listener's
	// application_name and in the metrics' node label. Give each node a
	// stable name of its own (its host or pod) so restarts keep their
	// series; correctness does not depend on it being unique (each Manager
	// also has a random name for what it must tell apart). Valid UTF-8, no
	// NUL, at most 128 bytes. Defaults to a random value.
	NodeID string
	// Logger receives background errors (touch and sweep failures). Defaults
	// to slog.Default().
	Logger *slog.Logger
}

// Limits on metadata kept for session lists.
const (
	maxUserIDLength    = 256
	maxUserAgentLength = 512
	maxIPLength        = 64
)

// withDefaults returns cfg with every unset field filled and checks the result.
func (cfg Config) withDefaults() (Config, error) {
	def := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	defInt := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	if cfg.Schema == "" {
		cfg.Schema = "public"
	}
	if cfg.TablePrefix == "" {
		cfg.TablePrefix = "pgsession_"
	}
	def(&cfg.Lifetime, 24*time.Hour)
	def(&cfg.IdleTimeout, 2*time.Hour)
	tenthOfIdle := func(d time.Duration) time.Duration {
		if cfg.IdleTimeout > 0 && cfg.IdleTimeout/10 < d {
			return cfg.IdleTimeout / 10
		}
		return d
	}
	def(&cfg.TouchInterval, tenthOfIdle(time.Second))
	def(&cfg.TouchGranularity, tenthOfIdle(time.Minute))
	def(&cfg.SweepInterval, 5*time.Minute)
	defInt(&cfg.TouchBatchSize, 1000)
	defInt(&cfg.EventBuffer, 1024)
	defInt(&cfg.SweepBatchSize, 1000)
	defInt(&cfg.MaxAttributeSize, 64<<10)
	defInt(&cfg.MaxAttributes, 64)
	defInt(&cfg.MaxKeyLength, 128)
	defInt(&cfg.CacheSize, 10000)
	defInt(&cfg.NotFoundCacheSize, 10000)
	if cfg.CacheBytes == 0 {
		cfg.CacheBytes = 64 << 20
	}
	def(&cfg.CacheMaxAge, time.Minute)
	def(&cfg.ChangePollInterval, 500*time.Millisecond)
	def(&cfg.ListenerPingInterval, time.Second)
	def(&cfg.ListenerPingTimeout, time.Second)
	if cfg.NodeID == "" {
		cfg.NodeID = randomName()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return cfg, cfg.validate()
}

// maxNodeIDLength bounds Config.NodeID: it is written into every lease row.
const maxNodeIDLength = 128

func (cfg Config) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
	}
	switch {
	case cfg.Lifetime < 0:
		return bad("Lifetime must be positive")
	case cfg.IdleTimeout < -1:
		return bad("IdleTimeout must be positive, or -1 to disable")
	case cfg.MaxSessionsPerUser < 0:
		return bad("MaxSessionsPerUser must not be negative")
	case cfg.MaxAttributeSize < 0, cfg.MaxAttributes < 0, cfg.MaxKeyLength < 0:
		return bad("attribute limits must be positive")
	case cfg.EventBuffer < 0:
		return bad("EventBuffer must not be negative")
	case cfg.TouchBatchSize < 0, cfg.SweepBatchSize < 0:
		return bad("batch sizes must be positive")
	case cfg.NotFoundCacheSize < -1:
		return bad("NotFoundCacheSize must be positive, or -1 to disable it")
	case cfg.CacheSize < -1, cfg.CacheBytes < 0:
		return bad("CacheSize must be positive, or -1 to disable the cache; CacheBytes positive")
	case cfg.CacheMaxAge < 0, cfg.ListenerPingInterval < 0, cfg.ListenerPingTimeout < 0:
		return bad("CacheMaxAge and listener intervals must be positive")
	case cfg.TouchInterval < -1, cfg.TouchGranularity < 0, cfg.SweepInterval < -1, cfg.ChangePollInterval < -1:
		return bad("intervals must be positive, or -1 to disable")
	case len(cfg.NodeID) > maxNodeIDLength || !cleanText(cfg.NodeID):
		return bad("NodeID must be valid UTF-8 without NUL, at most %d bytes", maxNodeIDLength)
	case cfg.IdleTimeout > 0 && cfg.TouchInterval > 0 && cfg.TouchInterval+cfg.TouchGranularity > cfg.IdleTimeout/2:
		return bad("TouchInterval + TouchGranularity (%v) must be at most half of IdleTimeout (%v), or sessions in use would expire",
			cfg.TouchInterval+cfg.TouchGranularity, cfg.IdleTimeout)
	}
	return nil
}

func (cfg Config) idleTimeout() time.Duration { return max(cfg.IdleTimeout, 0) }
