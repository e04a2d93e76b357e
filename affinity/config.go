package affinity

import (
	"fmt"
	"regexp"
	"time"

	"github.com/pgsession/pgsession/internal/postgres"
)

// Config tunes a Store. The zero value is valid: constructors fill every
// unset field with its documented default and reject values that cannot
// work with ErrInvalidConfig. Every node of one application must use the
// same App, IdleTimeout and TouchGranularity.
type Config struct {
	// App names the application the entries belong to, so several
	// applications (or proxies) can share one table or one Redis: 1 to 64
	// bytes of letters, digits, '_', '.' and '-'. Defaults to "default".
	App string
	// IdleTimeout ends an entry that has not been accessed (Set or Touch)
	// for this long. Expired entries are invisible at once; SweepIdle
	// reclaims their space. Defaults to 1 hour.
	IdleTimeout time.Duration
	// TouchGranularity is how stale a recorded access may be: Touch writes
	// at most once per granularity per entry and only reads in between,
	// which keeps request-rate touches from becoming request-rate writes.
	// -1 writes every touch. Must be shorter than IdleTimeout. Defaults to
	// 1 minute, or a tenth of IdleTimeout if that is shorter.
	TouchGranularity time.Duration

	// Schema is the PostgreSQL schema of the table (PostgreSQL only): lower
	// case letters, digits and underscores, at most 40 bytes. Defaults to
	// "public".
	Schema string
	// TablePrefix starts the table's name (PostgreSQL only); the table is
	// <prefix>affinity. Same character rules as Schema. Defaults to
	// "pgsession_", the prefix of pgsession's own tables, whose migrations
	// this table shares.
	TablePrefix string
	// CreateSchema creates Schema if it is missing (PostgreSQL only).
	// Defaults to false.
	CreateSchema bool
	// ManualMigrations stops NewPostgres from migrating; it then only checks
	// the schema version and fails when it is not the one this code needs.
	// Defaults to false: pending migrations are applied (serialized across
	// nodes): the affinity tables alone, in a migration chain of their own.
	ManualMigrations bool
}

// Defaults.
const (
	DefaultApp              = "default"
	DefaultIdleTimeout      = time.Hour
	DefaultTouchGranularity = time.Minute
	defaultSchema           = "public"
	defaultTablePrefix      = "pgsession_"
)

var appPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// WithDefaults returns cfg with every unset field filled, or an error
// wrapping ErrInvalidConfig. Constructors call it; Store.Config returns
// its result.
func (cfg Config) WithDefaults() (Config, error) {
	if cfg.App == "" {
		cfg.App = DefaultApp
	}
	if !appPattern.MatchString(cfg.App) {
		return cfg, fmt.Errorf("%w: App %q must be 1 to 64 bytes of [A-Za-z0-9_.-]", ErrInvalidConfig, cfg.App)
	}
	switch {
	case cfg.IdleTimeout == 0:
		cfg.IdleTimeout = DefaultIdleTimeout
	case cfg.IdleTimeout < time.Millisecond:
		return cfg, fmt.Errorf("%w: IdleTimeout %v is shorter than 1ms", ErrInvalidConfig, cfg.IdleTimeout)
	}
	switch {
	case cfg.TouchGranularity == 0:
		cfg.TouchGranularity = min(DefaultTouchGranularity, cfg.IdleTimeout/10)
	case cfg.TouchGranularity == -1:
	case cfg.TouchGranularity < 0 || cfg.TouchGranularity >= cfg.IdleTimeout:
		return cfg, fmt.Errorf("%w: TouchGranularity %v must be -1 or between 0 and IdleTimeout %v",
			ErrInvalidConfig, cfg.TouchGranularity, cfg.IdleTimeout)
	}
	if cfg.Schema == "" {
		cfg.Schema = defaultSchema
	}
	if cfg.TablePrefix == "" {
		cfg.TablePrefix = defaultTablePrefix
	}
	if _, err := postgres.NewNames(cfg.Schema, cfg.TablePrefix); err != nil {
		return cfg, fmt.Errorf("%w: %v", ErrInvalidConfig, err)
	}
	return cfg, nil
}

// Granularity is TouchGranularity as a duration: 0 when every touch writes.
func (cfg Config) Granularity() time.Duration {
	return max(cfg.TouchGranularity, 0)
}
