package pgsession_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/pgsessiontest"
)

// The life of a session on the in-memory backend: the same calls work on
// PostgreSQL.
func Example() {
	ctx := context.Background()
	m, err := pgsession.NewMemory(nil, pgsession.Config{})
	if err != nil {
		panic(err)
	}
	defer m.Close(ctx)

	// An anonymous visitor fills a cart.
	s, _ := m.Create(ctx, "", map[string]any{"cart": []string{"tea"}})

	// At log in the session gets a new token, keeping the cart.
	s, _ = m.Renew(ctx, s.ID(), pgsession.AsUser("ada"))

	// A later request brings the token back.
	got, _ := m.Get(ctx, s.Token())
	cart, _ := pgsession.Attr[[]string](got, "cart")
	fmt.Println(got.UserID(), cart, got.Version())

	// Only the named keys are written.
	got, _ = m.Update(ctx, got.ID(), new(pgsession.Patch).Set("theme", "dark").Delete("cart"))
	fmt.Println(got.Keys(), got.Version())
	// Output:
	// ada [tea] 2
	// [theme] 3
}

// A version-checked update refuses to overwrite a change it has not seen.
func ExampleIfVersion() {
	ctx := context.Background()
	m, _ := pgsession.NewMemory(nil, pgsession.Config{})
	defer m.Close(ctx)

	s, _ := m.Create(ctx, "ada", map[string]any{"n": 1})
	_, _ = m.Update(ctx, s.ID(), new(pgsession.Patch).Set("n", 2)) // another request

	_, err := m.Update(ctx, s.ID(), new(pgsession.Patch).Set("n", 10), pgsession.IfVersion(s.Version()))
	fmt.Println(errors.Is(err, pgsession.ErrVersionConflict))
	// Output: true
}

// "Log out my other devices": end every session of the user but this one.
func ExampleManager_DeleteUser() {
	ctx := context.Background()
	m, _ := pgsession.NewMemory(nil, pgsession.Config{})
	defer m.Close(ctx)

	phone, _ := m.Create(ctx, "ada", nil, pgsession.WithClient("Phone", ""))
	_, _ = m.Create(ctx, "ada", nil, pgsession.WithClient("Laptop", ""))
	n, _ := m.DeleteUser(ctx, "ada", phone.ID())
	left, _ := m.ListUser(ctx, "ada")
	fmt.Println(n, len(left), left[0].UserAgent())
	// Output: 1 1 Phone
}

// On PostgreSQL: New migrates the schema, and every call is one round trip.
func ExampleNew() {
	ctx := context.Background()
	pool := pgsessiontest.AdminPool(exampleTB{})
	schema := fmt.Sprintf("pgsession_example_%d", time.Now().UnixNano())
	defer pool.Exec(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE")

	m, err := pgsession.New(ctx, pool, pgsession.Config{Schema: schema, CreateSchema: true})
	if err != nil {
		panic(err)
	}
	defer m.Close(ctx)
	s, _ := m.Create(ctx, "ada", map[string]any{"theme": "dark"})
	got, _ := m.Get(ctx, s.Token())
	fmt.Println(got.UserID(), pgsession.AttrOr(got, "theme", "light"))
	// Output: ada dark
}

// The schema as SQL, for teams that run migrations with their own tool.
func ExampleMigrationSQL() {
	sql, _ := pgsession.MigrationSQL(pgsession.Config{Schema: "auth"}, false)
	for _, line := range strings.Split(sql, "\n") {
		if strings.HasPrefix(line, "CREATE TABLE") && strings.Contains(line, "sessions") {
			fmt.Println(line)
		}
	}
	// Output:
	// CREATE TABLE "auth"."pgsession_sessions" (
}

// Reading the user an adapted framework's session data names, as scsstore
// and gorillastore do before binding the session to that user.
func ExampleUserIDOf() {
	data := map[string]any{"uid": int64(42), "cart": []string{"book"}}
	user, err := pgsession.UserIDOf(data["uid"])
	fmt.Println(user, err)
	_, err = pgsession.UserIDOf(data["cart"])
	fmt.Println(errors.Is(err, pgsession.ErrInvalidUserID))
	// Output:
	// 42 <nil>
	// true
}

// exampleTB lets an Example use the test harness: a failure panics.
type exampleTB struct{ testing.TB }

func (exampleTB) Helper()                        {}
func (exampleTB) Fatalf(format string, a ...any) { panic(fmt.Sprintf(format, a...)) }
