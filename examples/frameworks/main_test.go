package main

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession/httpsession"
	"github.com/pgsession/pgsession/pgsessiontest"
)

func TestMain(m *testing.M) { pgsessiontest.Main(m) }

// client is a browser-like client: it keeps cookies.
func client(t *testing.T, base *http.Client) *http.Client {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	c := *base
	c.Jar = jar
	return &c
}

func get(t *testing.T, c *http.Client, u string) string {
	t.Helper()
	resp, err := c.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	return string(body)
}

func post(t *testing.T, c *http.Client, u string, form url.Values) {
	t.Helper()
	resp, err := c.PostForm(u, form)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
}

// session walks one browser through an application: two visits, a log in
// that keeps the count, a visit, a log out that starts over.
func session(t *testing.T, name string, c *http.Client, u string) {
	t.Helper()
	require.Equal(t, name+": visit 1, anonymous", get(t, c, u+"/"))
	require.Equal(t, name+": visit 2, anonymous", get(t, c, u+"/"))
	post(t, c, u+"/login", url.Values{"user": {"ada"}})
	require.Equal(t, name+": visit 3, ada", get(t, c, u+"/"))
	post(t, c, u+"/logout", nil)
	require.Equal(t, name+": visit 1, anonymous", get(t, c, u+"/"))
}

// Each framework's application, served over TLS with httpsession's
// production defaults (a Secure __Host- cookie).
func TestApps(t *testing.T) {
	t.Parallel()
	for _, name := range frameworkNames() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			m, _, err := newManager(context.Background(), "")
			require.NoError(t, err)
			t.Cleanup(func() { m.Close(context.Background()) })
			keys, err := newKeys("")
			require.NoError(t, err)
			mw, err := httpsession.New(httpsession.Config{Manager: m, Keys: keys})
			require.NoError(t, err)
			srv := httptest.NewTLSServer(apps[name](mw))
			t.Cleanup(srv.Close)

			session(t, name, client(t, srv.Client()), srv.URL)
			// A second browser counts on its own.
			require.Equal(t, name+": visit 1, anonymous", get(t, client(t, srv.Client()), srv.URL+"/"))
		})
	}
}

// The command itself: it serves the framework chosen, and stops when its
// context ends.
func TestRun(t *testing.T) {
	t.Setenv("DATABASE_URL", "")
	t.Setenv("PGSESSION_KEYS", "")
	for _, name := range frameworkNames() {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			ready := make(chan string, 1)
			var out strings.Builder
			done := make(chan error, 1)
			go func() { done <- run(ctx, []string{"-framework", name, "-addr", "127.0.0.1:0"}, &out, ready) }()
			var addr string
			select {
			case addr = <-ready:
			case err := <-done:
				t.Fatal(err)
			case <-time.After(10 * time.Second):
				t.Fatal("not serving")
			}
			session(t, name, client(t, http.DefaultClient), "http://"+addr)
			cancel()
			require.NoError(t, <-done)
			require.Contains(t, out.String(), name+" on http://"+addr)
		})
	}
}

func TestRunRefusesUnknownFramework(t *testing.T) {
	t.Parallel()
	err := run(context.Background(), []string{"-framework", "rails"}, io.Discard, nil)
	require.ErrorContains(t, err, `unknown framework "rails" (want one of chi, echo, gin)`)
}
