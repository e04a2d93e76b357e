package scsstore_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/pgsessiontest/backends"
	"github.com/pgsession/pgsession/scsstore"
)

// cluster is one shared store (pgsessiontest's backends: a fresh schema,
// or a MemoryStore) and the pgsession nodes a test starts on it.
type cluster struct {
	t    *testing.T
	b    *backends.Backend
	kind string // "memory" or "postgres"
}

// forEachBackend runs the same test on the memory backend and on PostgreSQL.
func forEachBackend(t *testing.T, test func(t *testing.T, c *cluster)) {
	backends.ForEach(t, func(t *testing.T, b *backends.Backend) { test(t, &cluster{t: t, b: b, kind: b.Kind}) })
}

// node starts a pgsession Manager on the cluster's store, closed when the
// test ends. Background touches and sweeps are off.
func (c *cluster) node() *pgsession.Manager {
	c.t.Helper()
	return c.nodeWith(pgsession.Config{})
}

// nodeWith is node with cfg's other settings.
func (c *cluster) nodeWith(cfg pgsession.Config) *pgsession.Manager {
	c.t.Helper()
	cfg.TouchInterval, cfg.SweepInterval = -1, -1
	return c.b.Node(c.t, cfg, nil)
}

// newSCS returns an scs SessionManager on m, switched over in one line, that
// fails the test on any error it would turn into a 500.
func newSCS(t testing.TB, m *pgsession.Manager, opts ...scsstore.Option) *scs.SessionManager {
	sm := scs.New()
	sm.Store = scsstore.New(m, opts...)
	sm.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
		t.Errorf("scs error on %s: %v", r.URL.Path, err)
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
	return sm
}

// app is a small scs application: the handlers a real one would have.
func app(sm *scs.SessionManager) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/put", func(w http.ResponseWriter, r *http.Request) {
		sm.Put(r.Context(), "msg", r.URL.Query().Get("v"))
	})
	mux.HandleFunc("/get", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, sm.GetString(r.Context(), "msg")+"|"+sm.GetString(r.Context(), "user"))
	})
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		if err := sm.RenewToken(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		sm.Put(r.Context(), "user", r.URL.Query().Get("u"))
	})
	mux.HandleFunc("/logout", func(w http.ResponseWriter, r *http.Request) {
		if err := sm.Destroy(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("/expire", func(w http.ResponseWriter, r *http.Request) {
		sm.SetDeadline(r.Context(), time.Now().Add(-time.Minute))
	})
	return sm.LoadAndSave(mux)
}

// client is a browser with one cookie jar entry: the scs session cookie.
type client struct {
	t      testing.TB
	h      http.Handler
	cookie string // the cookie's value; "" for none
}

// do sends a GET through the handler and keeps the session cookie the
// response sets (or clears). It returns the body, and fails the test on
// any status but 200.
func (c *client) do(path string) string {
	c.t.Helper()
	rec := serve(c.h, path, c.cookie)
	res := rec.Result()
	require.Equal(c.t, http.StatusOK, res.StatusCode, rec.Body.String())
	for _, ck := range res.Cookies() {
		if ck.Name != "session" {
			continue
		}
		if ck.MaxAge < 0 {
			c.cookie = ""
		} else {
			c.cookie = ck.Value
		}
	}
	return rec.Body.String()
}

// serve runs one request through h with the given session cookie.
func serve(h http.Handler, path, cookie string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: "session", Value: cookie})
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
