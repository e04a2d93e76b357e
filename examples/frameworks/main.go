// Command frameworks serves one small application, a visit counter with log
// in and log out, written for chi, echo or gin, with its sessions kept by
// pgsession's net/http middleware (httpsession). Each framework's version
// is one file: chi.go, echo.go, gin.go.
//
//	go run . -framework echo     # then open http://127.0.0.1:8080/
//	curl -c jar -b jar http://127.0.0.1:8080/
//	curl -c jar -b jar -d user=ada http://127.0.0.1:8080/login
//
// Sessions live in process memory unless DATABASE_URL names a PostgreSQL
// database (the tables go in the schema pgsession_examples, created if
// missing). Tokens are signed with the keys in PGSESSION_KEYS ("id:secret",
// see `pgsession key`), or with a key made for the run.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"time"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/httpsession"
	"github.com/pgsession/pgsession/token"
)

// apps are the versions of the application, by framework.
var apps = map[string]func(*httpsession.Middleware) http.Handler{
	"chi":  chiApp,
	"echo": echoApp,
	"gin":  ginApp,
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, nil); err != nil {
		fmt.Fprintf(os.Stderr, "frameworks: %v\n", err)
		os.Exit(1)
	}
}

// run serves until ctx ends. If ready is not nil it receives the address
// served, once the listener is open.
func run(ctx context.Context, args []string, out io.Writer, ready chan<- string) error {
	fs := flag.NewFlagSet("frameworks", flag.ContinueOnError)
	framework := fs.String("framework", "chi", "chi, echo or gin")
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	app, ok := apps[*framework]
	if !ok {
		return fmt.Errorf("unknown framework %q (want one of %s)", *framework, strings.Join(frameworkNames(), ", "))
	}

	m, backend, err := newManager(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		return err
	}
	defer m.Close(context.Background())
	keys, err := newKeys(os.Getenv("PGSESSION_KEYS"))
	if err != nil {
		return err
	}
	mw, err := httpsession.New(httpsession.Config{
		Manager: m,
		Keys:    keys,
		// Plain HTTP on this machine, for the example only: in production
		// leave Insecure out (the cookie is then Secure and __Host-).
		Cookie: httpsession.CookieConfig{Insecure: true},
	})
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: app(mw), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(out, "%s on http://%s/, sessions in %s\n", *framework, ln.Addr(), backend)
	if ready != nil {
		ready <- ln.Addr().String()
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return err
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// newManager opens the sessions on PostgreSQL if databaseURL is set, else in
// memory.
func newManager(ctx context.Context, databaseURL string) (*pgsession.Manager, string, error) {
	if databaseURL == "" {
		m, err := pgsession.NewMemory(nil, pgsession.Config{})
		return m, "memory (set DATABASE_URL for PostgreSQL)", err
	}
	m, err := pgsession.Open(ctx, databaseURL, pgsession.Config{Schema: "pgsession_examples", CreateSchema: true})
	return m, "PostgreSQL", err
}

// newKeys reads the signing keys, or makes one for this run (tokens then
// die with the process).
func newKeys(env string) (*token.Ring, error) {
	if strings.TrimSpace(env) != "" {
		keys, err := token.ParseKeys(env)
		if err != nil {
			return nil, fmt.Errorf("PGSESSION_KEYS: %w", err)
		}
		return token.NewRing(keys...)
	}
	key, err := token.GenerateKey("run")
	if err != nil {
		return nil, err
	}
	return token.NewRing(key)
}

// who names the session's user for the pages.
func who(s *pgsession.Session) string {
	if s == nil || s.UserID() == "" {
		return "anonymous"
	}
	return s.UserID()
}

// frameworkNames lists the frameworks, sorted.
func frameworkNames() []string {
	names := make([]string, 0, len(apps))
	for name := range apps {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}
