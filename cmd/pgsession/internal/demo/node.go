package demo

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/httpsession"
	pgsessionprom "github.com/pgsession/pgsession/metrics/prometheus"
	"github.com/pgsession/pgsession/token"
)

// Session attributes the demo keeps.
const (
	counterKey  = "counter"   // int64, the +1 button's count
	lastNodeKey = "last_node" // the node that counted last
)

// maxUserLen is the longest user name the log-in form accepts, in characters.
const maxUserLen = 64

// Node is one node of the demo: a Manager of its own and the middleware on it.
type Node struct {
	// Name is "A" or "B".
	Name string
	// URL is where the node serves, as "http://host:port".
	URL string

	m            *pgsession.Manager
	mw           *httpsession.Middleware
	backend      string
	reauthMaxAge time.Duration // see DefaultReauthMaxAge
	peers        []peer        // every node, this one included, for the page's links
	log          *slog.Logger
	heartbeat    time.Duration // see DefaultHeartbeat

	quit     chan struct{} // closed by stopStreams
	quitOnce sync.Once
	streams  streamSlots // open event streams per user
}

// peer is a node as a page links to it.
type peer struct {
	Name string
	Port string
}

func newNode(name string, m *pgsession.Manager, keys *token.Ring, backend string, reauthMaxAge time.Duration, log *slog.Logger) (*Node, error) {
	mw, err := httpsession.New(httpsession.Config{
		Manager: m,
		Keys:    keys,
		// The demo serves plain HTTP on 127.0.0.1, and a Secure cookie is
		// one a client sends over HTTPS only: curl, Go's cookie jar and
		// browsers that do not treat loopback as a secure origin would
		// drop it, and every request would look logged out. So for this
		// local demo the cookie goes without Secure. Everything else stays
		// at the defaults: named "session", HttpOnly, SameSite=Lax, Path=/.
		// A site served over TLS leaves Insecure false. The refusal of
		// cross-origin posts stays on, as by default (see the package
		// documentation).
		Cookie: httpsession.CookieConfig{Insecure: true},
		OnError: func(r *http.Request, err error) {
			log.WarnContext(r.Context(), "session", "method", r.Method, "path", r.URL.Path, "err", err)
		},
	})
	if err != nil {
		return nil, fmt.Errorf("node %s: %w", name, err)
	}
	return &Node{Name: name, m: m, mw: mw, backend: backend, reauthMaxAge: reauthMaxAge, log: log,
		heartbeat: DefaultHeartbeat, quit: make(chan struct{})}, nil
}

// Handler returns the node's pages and API behind the session middleware.
func (n *Node) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", n.page)
	mux.HandleFunc("POST /login", n.formLogIn)
	mux.HandleFunc("POST /counter", n.formIncrement)
	mux.HandleFunc("POST /revoke", n.formRevoke)
	mux.HandleFunc("POST /logout", n.formLogOut)
	mux.HandleFunc("POST /logout-others", n.formLogOutOthers)
	mux.HandleFunc("POST /logout-everywhere", n.formLogOutEverywhere)

	mux.HandleFunc("POST /api/login", n.apiLogIn)
	mux.HandleFunc("GET /api/me", n.apiMe)
	mux.HandleFunc("POST /api/counter", n.apiIncrement)
	mux.HandleFunc("GET /api/sessions", n.apiSessions)
	mux.HandleFunc("DELETE /api/sessions/{id}", n.apiRevoke)
	mux.HandleFunc("POST /api/logout", n.apiLogOut)
	mux.HandleFunc("POST /api/logout-everywhere", n.apiLogOutEverywhere)
	mux.HandleFunc("POST /api/logout-others", n.apiLogOutOthers)
	mux.HandleFunc("GET /api/events", n.apiEvents)

	// The node's metrics, outside the session middleware: a scraper has no
	// session and needs none.
	reg := prometheus.NewRegistry()
	reg.MustRegister(pgsessionprom.NewCollector(n.m))
	outer := http.NewServeMux()
	outer.Handle("GET /metrics", loopbackOnly(promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))
	outer.HandleFunc("GET /live.js", serveLiveScript) // the same for everyone: no session either
	sessions := n.mw.Handler(mux)
	// The API's content-type check comes before the session middleware, so
	// a refused request costs no session work.
	outer.Handle("/api/", jsonBodies(sessions))
	outer.Handle("/", sessions)
	return n.common(outer)
}

// common sets the headers every response gets, bounds request bodies and
// logs each request with the node that served it.
func (n *Node) common(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		h := w.Header()
		h.Set("X-Pgsession-Node", n.Name)
		// Scripts only from this node's own files (live.js), and requests
		// (its event stream and the session list) only to this node.
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		n.log.Info("request", "method", r.Method, "path", r.URL.Path, "status", sw.status,
			"took", time.Since(start).Round(10*time.Microsecond))
	})
}

// statusWriter remembers the status code, for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// user returns the request's session if a user is logged in with it.
func (n *Node) user(r *http.Request) (*pgsession.Session, bool) {
	s := n.mw.Session(r)
	return s, s != nil && s.UserID() != ""
}

// logIn binds the request to user under a new token, recording that the
// user authenticated now, by name. Another user's session in the same
// browser ends, so no one inherits another's counter; the same user logging
// in again keeps theirs. Nothing is kept from before log in (no KeepKeys):
// the demo writes nothing for anonymous visitors.
func (n *Node) logIn(r *http.Request, user string, remember bool) (*pgsession.Session, error) {
	return n.mw.LogIn(r, user, httpsession.RememberMe(remember), httpsession.AuthMethod(authMethod))
}

// errBadName explains what a user name may be.
var errBadName = fmt.Errorf("enter a name of 1 to %d visible characters", maxUserLen)

// cleanUser trims a user name and checks it.
func cleanUser(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxUserLen ||
		strings.ContainsFunc(s, invisible) {
		return "", errBadName
	}
	return s, nil
}

// invisible reports characters a name may not hold: controls, and format
// characters such as zero-width spaces and direction overrides, which would
// let one name pass for another on the page.
func invisible(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == unicode.ReplacementChar
}

// revoke ends one of the logged-in user's sessions by ID. Ownership is
// checked against the user's own session list, so an ID alone (they are
// shown on pages, and are not secret) never ends someone else's session.
// It reports errNotYours for any other ID, whether or not it exists.
// Ending another of the user's sessions needs a recent log-in (recentAuth);
// ending this one is logging out, which never does.
func (n *Node) revoke(r *http.Request, cur *pgsession.Session, idText string) error {
	id, err := pgsession.ParseID(idText)
	if err != nil {
		return errNotYours
	}
	if id == cur.ID() {
		// Revoking this very session is logging out: the cookie goes too.
		return n.mw.LogOut(r)
	}
	if err := n.recentAuth(r); err != nil {
		return err
	}
	ctx, cancel := n.writeContext(r)
	defer cancel()
	mine, err := n.m.ListUser(ctx, cur.UserID())
	if err != nil {
		return err
	}
	for _, s := range mine {
		if s.ID() == id {
			return n.m.Delete(ctx, id)
		}
	}
	return errNotYours
}

var errNotYours = errors.New("no such session among yours")

// hostFor returns the host (without port) the client used to reach us, so
// links to the other node keep it: cookies belong to a host name, and
// "localhost" and "127.0.0.1" do not share them.
func hostFor(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.Host)
	if err != nil {
		host = r.Host
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return host
}
