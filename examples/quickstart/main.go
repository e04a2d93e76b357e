// Command quickstart walks through the pgsession API step by step: create,
// read, patch, a refused version-checked update, session lists, renewal at
// log-in and "log out everywhere".
//
// It uses the in-process memory backend, so it needs no server:
//
//	go run ./examples/quickstart
//
// Set DATABASE_URL to run the same steps against PostgreSQL. The demo keeps
// its tables in the schema pgsession_demo, creates it if needed, and empties
// it at the start of each run:
//
//	DATABASE_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable go run ./examples/quickstart
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/pgsession/pgsession"
)

// demoSchema holds the demo's tables on PostgreSQL, apart from everything else.
const demoSchema = "pgsession_demo"

// demoUser owns the sessions the demo creates.
const demoUser = "alice@example.com"

// cart is a typed attribute, read back with pgsession.Attr[cart].
type cart struct {
	Items []string `json:"items"`
	Total int      `json:"total"` // in cents
}

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := run(ctx, os.Stdout, os.Getenv("DATABASE_URL")); err != nil {
		fmt.Fprintf(os.Stderr, "quickstart: %v\n", err)
		os.Exit(1)
	}
}

// printer writes one aligned line per step: a label column, then the details.
type printer struct{ w io.Writer }

func (p printer) step(label, format string, args ...any) {
	fmt.Fprintf(p.w, "  %-16s %s\n", label, fmt.Sprintf(format, args...))
}

func (p printer) section(title string) { fmt.Fprintf(p.w, "\n%s\n", title) }

// short abbreviates an ID for display; the full form is 64 hex digits.
func short(id pgsession.ID) string { return id.String()[:12] + "..." }

// tokenHint shows only the start of a token: it is the session's credential.
func tokenHint(tok string) string { return fmt.Sprintf("%s... (%d chars)", tok[:6], len(tok)) }

func run(ctx context.Context, out io.Writer, databaseURL string) (err error) {
	start := time.Now()
	p := printer{out}

	m, backend, err := open(ctx, databaseURL)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := m.Close(context.WithoutCancel(ctx)); cerr != nil && err == nil {
			err = fmt.Errorf("close: %w", cerr)
		}
	}()
	fmt.Fprintf(out, "pgsession quickstart\n  %-16s %s\n", "backend", backend)

	if databaseURL != "" {
		// The demo owns its schema: start from an empty table on every run.
		n, err := m.DeleteAll(ctx)
		if err != nil {
			return fmt.Errorf("reset demo schema: %w", err)
		}
		p.step("reset", "removed %d session(s) left by an earlier run", n)
	}

	// --- Create and read back ------------------------------------------------
	p.section("1. Create a session and read it back")
	first, err := m.Create(ctx, demoUser,
		map[string]any{"cart": cart{Items: []string{"tea"}, Total: 450}, "theme": "dark"},
		pgsession.WithClient("Firefox/140.0 (Linux)", "192.0.2.10"))
	if err != nil {
		return fmt.Errorf("create: %w", err)
	}
	p.step("Create", "user=%s id=%s version=%d", first.UserID(), short(first.ID()), first.Version())
	p.step("token", "%s: the client keeps it, the server stores only its SHA-256", tokenHint(first.Token()))
	p.step("expires", "in %v, or after %v unused", first.ExpiresAt().Sub(first.CreatedAt()).Round(time.Second), first.IdleTimeout())

	byToken, err := m.Get(ctx, first.Token())
	if err != nil {
		return fmt.Errorf("get by token: %w", err)
	}
	p.step("Get(token)", "id=%s version=%d keys=%v", short(byToken.ID()), byToken.Version(), byToken.Keys())

	byID, err := m.GetByID(ctx, first.ID())
	if err != nil {
		return fmt.Errorf("get by id: %w", err)
	}
	p.step("GetByID", "id=%s client=%q ip=%s", short(byID.ID()), byID.UserAgent(), byID.IP())

	c, err := pgsession.Attr[cart](byID, "cart")
	if err != nil {
		return fmt.Errorf("read cart: %w", err)
	}
	p.step("Attr[cart]", "items=%v total=%d", c.Items, c.Total)

	if _, err := m.Get(ctx, "not-a-real-token"); !errors.Is(err, pgsession.ErrNotFound) {
		return fmt.Errorf("a malformed token should mean no session, got %v", err)
	}
	p.step("Get(bad token)", "no session (ErrNotFound), not an error page")

	// --- Update with a patch ------------------------------------------------
	p.section("2. Update with a patch (only the named keys are written)")
	c.Items = append(c.Items, "scones")
	c.Total += 600
	patch := new(pgsession.Patch).
		Set("cart", c).
		SetTTL("flash", "Scones added to your cart", 10*time.Second).
		Delete("theme")
	updated, err := m.Update(ctx, first.ID(), patch)
	if err != nil {
		return fmt.Errorf("update: %w", err)
	}
	flashUntil, _ := updated.AttrExpiresAt("flash")
	p.step("Update", "version %d -> %d, keys=%v", first.Version(), updated.Version(), updated.Keys())
	p.step("flash", "%q, visible for %v more",
		pgsession.AttrOr(updated, "flash", ""), flashUntil.Sub(updated.UpdatedAt()).Round(time.Second))
	p.step("cart", "items=%v total=%d", pgsession.AttrOr(updated, "cart", cart{}).Items,
		pgsession.AttrOr(updated, "cart", cart{}).Total)

	// A compare-and-set against the version read before the update must fail.
	_, err = m.Update(ctx, first.ID(), new(pgsession.Patch).Set("theme", "light"),
		pgsession.IfVersion(first.Version()))
	if !errors.Is(err, pgsession.ErrVersionConflict) {
		return fmt.Errorf("update with a stale IfVersion should conflict, got %v", err)
	}
	p.step("IfVersion(1)", "refused: %v", err)
	now, err := m.GetByID(ctx, first.ID())
	if err != nil {
		return fmt.Errorf("get after conflict: %w", err)
	}
	p.step("after conflict", "version=%d keys=%v (nothing written)", now.Version(), now.Keys())

	// --- A second device -------------------------------------------------------
	p.section("3. A second device and the user's session list")
	second, err := m.Create(ctx, demoUser, nil, pgsession.WithClient("curl/8.5.0", "198.51.100.7"))
	if err != nil {
		return fmt.Errorf("create second: %w", err)
	}
	p.step("Create", "id=%s version=%d", short(second.ID()), second.Version())
	if err := printList(ctx, p, m); err != nil {
		return err
	}

	// --- Renew at log-in ------------------------------------------------------
	p.section("4. Renew at log-in (new token and ID, same data)")
	renewed, err := m.Renew(ctx, first.ID(), pgsession.AsUser(demoUser))
	if err != nil {
		return fmt.Errorf("renew: %w", err)
	}
	p.step("Renew", "id %s -> %s, version=%d keys=%v",
		short(first.ID()), short(renewed.ID()), renewed.Version(), renewed.Keys())
	p.step("new token", "%s", tokenHint(renewed.Token()))
	if _, err := m.Get(ctx, first.Token()); !errors.Is(err, pgsession.ErrNotFound) {
		return fmt.Errorf("the old token should be gone after renew, got %v", err)
	}
	p.step("Get(old token)", "no session (ErrNotFound)")
	if _, err := m.Get(ctx, renewed.Token()); err != nil {
		return fmt.Errorf("get with the new token: %w", err)
	}
	p.step("Get(new token)", "ok, id=%s", short(renewed.ID()))

	// --- Log out ----------------------------------------------------------
	p.section("5. Log out my other devices, then log out")
	n, err := m.DeleteUser(ctx, demoUser, renewed.ID())
	if err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	p.step("DeleteUser", "ended %d session(s), kept %s", n, short(renewed.ID()))
	if _, err := m.Get(ctx, second.Token()); !errors.Is(err, pgsession.ErrNotFound) {
		return fmt.Errorf("the second device should be logged out, got %v", err)
	}
	p.step("Get(2nd device)", "no session (ErrNotFound)")
	if err := printList(ctx, p, m); err != nil {
		return err
	}
	if err := m.Delete(ctx, renewed.ID()); err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	p.step("Delete", "ended %s: nothing is left behind", short(renewed.ID()))

	p.section("Done")
	p.step("elapsed", "%.1f ms", float64(time.Since(start).Microseconds())/1000)
	return nil
}

// open starts a Manager on PostgreSQL when databaseURL is set, else on memory,
// and says which in words.
func open(ctx context.Context, databaseURL string) (*pgsession.Manager, string, error) {
	if databaseURL == "" {
		m, err := pgsession.NewMemory(nil, pgsession.Config{})
		if err != nil {
			return nil, "", fmt.Errorf("start memory backend: %w", err)
		}
		return m, "memory (in-process; set DATABASE_URL to use PostgreSQL)", nil
	}
	m, err := pgsession.Open(ctx, databaseURL, pgsession.Config{CreateSchema: true, Schema: demoSchema})
	if err != nil {
		return nil, "", fmt.Errorf("open PostgreSQL: %w", err)
	}
	return m, fmt.Sprintf("PostgreSQL %s, schema %s", redact(databaseURL), demoSchema), nil
}

// redact drops a password from a connection URL before it is printed.
func redact(url string) string {
	scheme, rest, ok := strings.Cut(url, "://")
	if !ok {
		return "(DATABASE_URL)"
	}
	creds, host, ok := strings.Cut(rest, "@")
	if !ok {
		return url
	}
	if user, _, hasPass := strings.Cut(creds, ":"); hasPass {
		creds = user + ":***"
	}
	return scheme + "://" + creds + "@" + host
}

func printList(ctx context.Context, p printer, m *pgsession.Manager) error {
	list, err := m.ListUser(ctx, demoUser)
	if err != nil {
		return fmt.Errorf("list user: %w", err)
	}
	p.step("ListUser", "%d live session(s), newest first:", len(list))
	for i, s := range list {
		p.step("", "%d. id=%s version=%d client=%q ip=%s",
			i+1, short(s.ID()), s.Version(), s.UserAgent(), s.IP())
	}
	return nil
}
