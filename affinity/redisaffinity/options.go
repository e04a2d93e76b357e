package redisaffinity

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pgsession/pgsession/affinity"
)

// Options tunes a Store or a Layered store. The zero value is valid:
// constructors fill every unset field with its documented default and
// reject values that cannot work with affinity.ErrInvalidConfig.
type Options struct {
	// Config is the store configuration (App, IdleTimeout,
	// TouchGranularity; the PostgreSQL fields are ignored). NewLayered
	// ignores it and uses its primary store's.
	Config affinity.Config
	// KeyPrefix starts every Redis key, before the application's hash tag:
	// keys are <KeyPrefix>{<App>}:... It must not contain '{' or '}'.
	// Defaults to "pgsession:affinity:".
	KeyPrefix string
	// CallTimeout bounds every call to Redis (one round trip, a script or
	// a pipeline), so a Redis that stops answering costs at most this
	// much per call. The client must be created with ContextTimeoutEnabled
	// set, or go-redis ignores it. Defaults to 250 milliseconds.
	CallTimeout time.Duration
	// CacheMaxAge bounds how long a Layered store keeps a copy read from its
	// primary (a copy also never outlives the entry's remaining idle time).
	// It is the safety net for invalidations lost with a node that died
	// between its write and its invalidation. Defaults to 1 minute.
	CacheMaxAge time.Duration
	// RetryAfter is how long a Layered store bypasses Redis after a Redis
	// call failed, sending everything to the primary, before it tries
	// again. Defaults to 1 second.
	RetryAfter time.Duration
}

// Defaults.
const (
	DefaultKeyPrefix   = "pgsession:affinity:"
	DefaultCallTimeout = 250 * time.Millisecond
	DefaultCacheMaxAge = time.Minute
	DefaultRetryAfter  = time.Second
)

func (o Options) withDefaults() (Options, error) {
	if o.KeyPrefix == "" {
		o.KeyPrefix = DefaultKeyPrefix
	}
	if strings.ContainsAny(o.KeyPrefix, "{}") || len(o.KeyPrefix) > 256 {
		return o, fmt.Errorf("%w: KeyPrefix %q must not contain '{' or '}' and be at most 256 bytes",
			affinity.ErrInvalidConfig, o.KeyPrefix)
	}
	if o.CallTimeout == 0 {
		o.CallTimeout = DefaultCallTimeout
	}
	if o.CacheMaxAge == 0 {
		o.CacheMaxAge = DefaultCacheMaxAge
	}
	if o.RetryAfter == 0 {
		o.RetryAfter = DefaultRetryAfter
	}
	if o.CallTimeout < time.Millisecond || o.CacheMaxAge < time.Millisecond || o.RetryAfter < 0 {
		return o, fmt.Errorf("%w: CallTimeout and CacheMaxAge must be at least 1ms, RetryAfter not negative",
			affinity.ErrInvalidConfig)
	}
	return o, nil
}

// checkClient refuses a client that would ignore CallTimeout: without
// ContextTimeoutEnabled, go-redis waits for its own read timeout (3 s by
// default) whatever the context says, which is the hang this package
// exists to avoid.
func checkClient(client redis.UniversalClient) error {
	if client == nil {
		return fmt.Errorf("%w: nil Redis client", affinity.ErrInvalidConfig)
	}
	enabled := true
	switch c := client.(type) {
	case *redis.Client:
		enabled = c.Options().ContextTimeoutEnabled
	case *redis.ClusterClient:
		enabled = c.Options().ContextTimeoutEnabled
	case *redis.Ring:
		enabled = c.Options().ContextTimeoutEnabled
	}
	if !enabled {
		return fmt.Errorf("%w: the Redis client must set ContextTimeoutEnabled, or calls ignore CallTimeout", affinity.ErrInvalidConfig)
	}
	return nil
}

// keys names every Redis key of one application. All of them carry the
// application's hash tag, so they live in one cluster slot and a script may
// touch several of them.
type keys struct {
	base string // <prefix>{<app>}:
}

func newKeys(prefix, app string) keys { return keys{base: prefix + "{" + app + "}:"} }

// session is the Store's hash of one session.
func (k keys) session(key affinity.Key) string { return k.base + "s:" + key.String() }

// worker is the Store's index of one worker: a sorted set of session keys
// (hex) scored by idle deadline (Redis clock, milliseconds).
func (k keys) worker(workerID string) string { return k.base + "w:" + workerID }

// workers is the Store's set of workers whose index may be non-empty.
func (k keys) workers() string { return k.base + "workers" }

// cached is the Layered store's copy (or tombstone) of one session.
func (k keys) cached(key affinity.Key) string { return k.base + "c:" + key.String() }

// gen is the Layered store's generation hash: the counter, the floor below
// which every copy is stale, and each worker's epoch.
func (k keys) gen() string { return k.base + "gen" }

// call runs f under the call timeout.
func call[T any](ctx context.Context, timeout time.Duration, f func(ctx context.Context) (T, error)) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return f(ctx)
}
