package redisaffinity_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pgsession/pgsession/affinity"
	"github.com/pgsession/pgsession/affinity/redisaffinity"
)

// exampleClient connects to the test Redis; prefix keeps the example's
// keys apart, and cleanup deletes them.
func exampleClient() (client *redis.Client, prefix string, cleanup func()) {
	opt, err := redis.ParseURL(redisURL())
	if err != nil {
		panic(err)
	}
	opt.ContextTimeoutEnabled = true // required: it lets CallTimeout bound every call
	client = redis.NewClient(opt)
	prefix = fmt.Sprintf("pgst:example-%d:", time.Now().UnixNano())
	return client, prefix, func() {
		ctx := context.Background()
		iter := client.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			client.Del(ctx, iter.Val())
		}
		client.Close()
	}
}

// Affinity in Redis alone.
func ExampleNewStore() {
	ctx := context.Background()
	client, prefix, cleanup := exampleClient()
	defer cleanup()

	store, err := redisaffinity.NewStore(client, redisaffinity.Options{
		Config:    affinity.Config{App: "proxy", IdleTimeout: 30 * time.Minute},
		KeyPrefix: prefix, // default "pgsession:affinity:"
	})
	if err != nil {
		panic(err)
	}
	_, _ = store.Set(ctx, "cookie-1", "worker-1", "")
	_, _ = store.Set(ctx, "cookie-2", "worker-1", "")
	moved, _ := store.RerouteWorker(ctx, "worker-1", "worker-2")
	e, _ := store.Touch(ctx, "cookie-1")
	fmt.Println("moved", moved, "cookie-1 on", e.WorkerID)
	// Output: moved 2 cookie-1 on worker-2
}

// Redis as a cache in front of a primary store. In production the primary
// is affinity.NewPostgres; the memory store keeps the example short.
func ExampleNewLayered() {
	ctx := context.Background()
	client, prefix, cleanup := exampleClient()
	defer cleanup()

	primary, err := affinity.NewMemory(affinity.Config{App: "proxy"})
	if err != nil {
		panic(err)
	}
	store, err := redisaffinity.NewLayered(primary, client, redisaffinity.Options{KeyPrefix: prefix})
	if err != nil {
		panic(err)
	}
	_, _ = store.Set(ctx, "cookie", "worker-1", "")
	e, _ := store.Get(ctx, "cookie") // from Redis
	fmt.Println(e.WorkerID)

	// Another node reroutes in the primary; the cached copy is stale at once.
	other, _ := redisaffinity.NewLayered(primary, client, redisaffinity.Options{KeyPrefix: prefix})
	_, _ = other.RerouteWorker(ctx, "worker-1", "worker-2")
	e, _ = store.Get(ctx, "cookie")
	fmt.Println(e.WorkerID)

	_ = other.Delete(ctx, "cookie")
	_, err = store.Get(ctx, "cookie")
	fmt.Println(errors.Is(err, affinity.ErrNotFound))
	// Output:
	// worker-1
	// worker-2
	// true
}
