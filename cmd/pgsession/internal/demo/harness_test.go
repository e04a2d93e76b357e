package demo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession/cmd/pgsession/internal/demo"
	"github.com/pgsession/pgsession/pgsessiontest"
	"github.com/pgsession/pgsession/token"
)

func TestMain(m *testing.M) { pgsessiontest.Main(m) }

// forEachBackend runs test on both nodes of a demo on the memory store and
// on a demo on PostgreSQL (a fresh schema, each node with its own Manager).
// adjust, if any, changes the demo's options first.
func forEachBackend(t *testing.T, test func(t *testing.T, cl *demo.Cluster), adjust ...func(*demo.Options)) {
	t.Parallel()
	for _, kind := range []string{"memory", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			test(t, startDemo(t, kind, adjust...))
		})
	}
}

// startDemo starts both nodes on free ports; they stop when the test ends.
func startDemo(t *testing.T, kind string, adjust ...func(*demo.Options)) *demo.Cluster {
	t.Helper()
	key, err := token.GenerateKey("test")
	require.NoError(t, err)
	ring, err := token.NewRing(key)
	require.NoError(t, err)
	opts := demo.Options{Addrs: [2]string{"127.0.0.1:0", "127.0.0.1:0"}, Keys: ring}
	if kind == "postgres" {
		opts.DatabaseURL = pgsessiontest.DatabaseURL()
		opts.Schema = pgsessiontest.Schema(t) // registered first, so dropped after the nodes stop
	}
	for _, f := range adjust {
		f(&opts)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cl, err := demo.Start(ctx, opts)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, cl.Shutdown(ctx))
	})
	return cl
}

// client is one browser, as far as the API can tell: its own cookie jar
// (cookies belong to the host, so both nodes, on two ports of 127.0.0.1,
// get the same ones) and its own user agent.
type client struct {
	t    *testing.T
	ua   string
	jar  http.CookieJar
	http *http.Client
}

func newClient(t *testing.T, userAgent string) *client {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	t.Cleanup(tr.CloseIdleConnections)
	return &client{t: t, ua: userAgent, jar: jar, http: &http.Client{
		Jar: jar, Transport: tr, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// do sends a request with an optional JSON body and returns the response
// with its body read.
func (c *client) do(method, url string, body any) (*http.Response, []byte) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(c.t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	require.NoError(c.t, err)
	req.Header.Set("User-Agent", c.ua)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	return resp, b
}

// call sends a request and decodes a JSON answer into out (unless nil). It
// returns the status.
func (c *client) call(method, url string, body, out any) int {
	c.t.Helper()
	resp, b := c.do(method, url, body)
	if out != nil && resp.StatusCode < 300 {
		require.NoError(c.t, json.Unmarshal(b, out), "body: %s", b)
	}
	return resp.StatusCode
}

type me struct {
	User            string    `json:"user"`
	Node            string    `json:"node"`
	Version         int64     `json:"version"`
	Counter         *int64    `json:"counter"`
	AuthenticatedAt time.Time `json:"authenticated_at"`
	AuthMethod      string    `json:"auth_method"`
}

type sessionInfo struct {
	ID        string    `json:"id"`
	Current   bool      `json:"current"`
	Created   time.Time `json:"created"`
	LastSeen  time.Time `json:"last_seen"`
	UserAgent string    `json:"user_agent"`
}

// logIn logs the client in as user through node.
func (c *client) logIn(node, user string) me {
	c.t.Helper()
	var m me
	require.Equal(c.t, http.StatusOK, c.call("POST", node+"/api/login", map[string]string{"user": user}, &m))
	require.Equal(c.t, user, m.User)
	return m
}

// me reads /api/me, returning the status and the answer.
func (c *client) me(node string) (int, me) {
	c.t.Helper()
	var m me
	return c.call("GET", node+"/api/me", nil, &m), m
}

// sessions lists the client's user's sessions through node.
func (c *client) sessions(node string) []sessionInfo {
	c.t.Helper()
	var list []sessionInfo
	require.Equal(c.t, http.StatusOK, c.call("GET", node+"/api/sessions", nil, &list))
	return list
}

// currentID returns the ID of the client's own session.
func (c *client) currentID(node string) string {
	c.t.Helper()
	for _, s := range c.sessions(node) {
		if s.Current {
			return s.ID
		}
	}
	c.t.Fatal("no session marked current")
	return ""
}

// requireLoggedOut waits until node answers /api/me with 401. A revocation
// made on the other node reaches this node's cache within the staleness
// bound S (milliseconds, over LISTEN/NOTIFY); on the memory store, at once.
func (c *client) requireLoggedOut(node string) {
	c.t.Helper()
	start := time.Now()
	deadline := start.Add(2 * time.Second)
	for {
		status, _ := c.me(node)
		if status == http.StatusUnauthorized {
			c.t.Logf("%s: logged out after %v", node, time.Since(start))
			return
		}
		require.Equal(c.t, http.StatusOK, status)
		if time.Now().After(deadline) {
			c.t.Fatalf("%s still answers for a revoked session after 2s", node)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// sessionCookie returns the client's session cookie for the demo's host.
func (c *client) sessionCookie(node string) *http.Cookie {
	c.t.Helper()
	req, err := http.NewRequest("GET", node, nil)
	require.NoError(c.t, err)
	for _, ck := range c.jar.Cookies(req.URL) {
		if ck.Name == "session" {
			return ck
		}
	}
	return nil
}

// postForm posts an HTML form, as the demo's pages do, and returns the
// response with its body read.
func (c *client) postForm(url string, form url.Values) *http.Response {
	c.t.Helper()
	resp, _ := c.send("POST", url, "application/x-www-form-urlencoded", form.Encode())
	return resp
}
