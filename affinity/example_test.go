package affinity_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/pgsession/pgsession/affinity"
	"github.com/pgsession/pgsession/pgsessiontest"
)

// A reverse proxy pins each browser session to a worker, routes by the pin,
// touches it on every request, and moves a worker's sessions when the worker
// is replaced.
func ExampleNewMemory() {
	ctx := context.Background()
	store, err := affinity.NewMemory(affinity.Config{App: "proxy", IdleTimeout: 30 * time.Minute})
	if err != nil {
		panic(err)
	}

	// First request of a session: pick a worker and pin it.
	if _, err := store.Get(ctx, "cookie-value-1"); errors.Is(err, affinity.ErrNotFound) {
		_, err = store.Set(ctx, "cookie-value-1", "worker-7", "alice@example.com")
		if err != nil {
			panic(err)
		}
	}
	_, _ = store.Set(ctx, "cookie-value-2", "worker-7", "")

	// Later requests: route by the pin and record the access.
	e, err := store.Touch(ctx, "cookie-value-1")
	if err != nil {
		panic(err)
	}
	fmt.Println("route to", e.WorkerID, "for", e.UserSub)

	// worker-7 is being replaced by worker-9.
	moved, _ := store.RerouteWorker(ctx, "worker-7", "worker-9")
	n, _ := store.CountForWorker(ctx, "worker-9")
	fmt.Println("moved", moved, "now on worker-9:", n)

	// The session logs out.
	_ = store.Delete(ctx, "cookie-value-1")
	_, err = store.Get(ctx, "cookie-value-1")
	fmt.Println("after delete:", errors.Is(err, affinity.ErrNotFound))
	// Output:
	// route to worker-7 for alice@example.com
	// moved 2 now on worker-9: 2
	// after delete: true
}

// The same store in PostgreSQL: NewPostgres migrates the schema (the
// affinity table shares pgsession's migration chain) and every method is
// one round trip, judged by the database clock.
func ExampleNewPostgres() {
	ctx := context.Background()
	t := &exampleTB{}
	defer t.cleanup()
	pool := pgsessiontest.Pool(t, nil)
	store, err := affinity.NewPostgres(ctx, pool, affinity.Config{
		Schema: pgsessiontest.Schema(t), // your schema; "public" by default
		App:    "proxy",
	})
	if err != nil {
		panic(err)
	}
	_, _ = store.Set(ctx, "cookie-value", "worker-1", "")
	e, _ := store.Get(ctx, "cookie-value")
	fmt.Println(e.WorkerID, e.Key == affinity.KeyOf("cookie-value"))
	// Output: worker-1 true
}

// exampleTB lets an Example use the test harness: a failure panics and
// cleanups run when the example ends.
type exampleTB struct {
	testing.TB
	cleanups []func()
}

func (*exampleTB) Helper()                        {}
func (*exampleTB) Fatalf(format string, a ...any) { panic(fmt.Sprintf(format, a...)) }
func (t *exampleTB) Cleanup(f func())             { t.cleanups = append(t.cleanups, f) }
func (*exampleTB) Errorf(format string, a ...any) { panic(fmt.Sprintf(format, a...)) }
func (t *exampleTB) cleanup() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}

// Entries recorded by another store keep their times: the idle clock runs
// on from the recorded access, and the newer record wins.
func ExampleImporter() {
	ctx := context.Background()
	store, err := affinity.NewMemory(affinity.Config{IdleTimeout: time.Hour})
	if err != nil {
		panic(err)
	}
	var imp affinity.Importer = store
	seen := time.Now().Add(-20 * time.Minute)
	in := affinity.ImportEntry{SessionID: "cookie-value", WorkerID: "worker-3", UserSub: "alice", LastAccess: seen}
	e, outcome, _ := imp.Import(ctx, in)
	fmt.Println(outcome, e.WorkerID, e.ExpiresIn.Round(time.Minute))

	// Importing it again changes nothing; older data neither.
	_, outcome, _ = imp.Import(ctx, in)
	fmt.Println(outcome)

	// An entry idle past the timeout would be dead on arrival.
	in.SessionID, in.LastAccess = "gone", time.Now().Add(-2*time.Hour)
	_, _, err = imp.Import(ctx, in)
	fmt.Println(errors.Is(err, affinity.ErrExpired))
	// Output:
	// created worker-3 40m0s
	// kept
	// true
}
