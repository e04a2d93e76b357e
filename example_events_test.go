package pgsession_test

import (
	"context"
	"fmt"

	"github.com/pgsession/pgsession"
)

// Session events from every node: here two nodes share a memory store, a
// subscriber listens on one, and the other logs a user in and out.
func ExampleManager_Subscribe() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store := pgsession.NewMemoryStore()
	cfg := pgsession.Config{Events: true} // on every node of the deployment
	a, _ := pgsession.NewMemory(store, cfg)
	defer a.Close(ctx)
	b, _ := pgsession.NewMemory(store, cfg)
	defer b.Close(ctx)

	events, err := a.Subscribe(ctx)
	if err != nil {
		panic(err)
	}
	s, _ := b.Create(ctx, "ada", nil)
	_, _ = b.Update(ctx, s.ID(), new(pgsession.Patch).Set("theme", "dark"))
	renewed, _ := b.Renew(ctx, s.ID())
	_ = b.Delete(ctx, renewed.ID())

	for range 4 {
		e := <-events
		switch e.Kind {
		case pgsession.SessionUpdated:
			fmt.Println(e.Kind, e.UserID, "version", e.Version, "keys", e.Keys)
		case pgsession.SessionDeleted:
			fmt.Println(e.Kind, e.UserID, e.Reason, "replaced:", e.NewID == renewed.ID())
		default:
			fmt.Println(e.Kind, e.UserID)
		}
	}
	// Output:
	// created ada
	// updated ada version 2 keys [theme]
	// deleted ada renewed replaced: true
	// deleted ada deleted replaced: false
}
