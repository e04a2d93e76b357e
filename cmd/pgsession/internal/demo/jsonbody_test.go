package demo_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession/cmd/pgsession/internal/demo"
)

// send sends body with the given Content-Type ("" for none), as a form on
// another site can make a browser do.
func (c *client) send(method, url, contentType, body string) (*http.Response, []byte) {
	c.t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(c.t, err)
	req.Header.Set("User-Agent", c.ua)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.http.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	return resp, b
}

// The API takes a body only when it is declared JSON: a text/plain or form
// post (what a page on another site can make a browser send without a
// preflight) is refused with 415 and logs nobody in, or out, or counts.
func TestAPIWantsJSON(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cl *demo.Cluster) {
		a, b := cl.URLs()[0], cl.URLs()[1]
		const login = `{"user": "mallory"}`
		refused := []string{
			"text/plain",
			"text/plain; charset=utf-8",
			"application/x-www-form-urlencoded",
			"multipart/form-data; boundary=x",
			"application/jsonx",
			"", // no Content-Type at all
		}

		// A browser with no session is not logged in as mallory.
		victim := newClient(t, "victim/1.0")
		for _, ct := range refused {
			resp, body := victim.send("POST", a+"/api/login", ct, login)
			require.Equal(t, http.StatusUnsupportedMediaType, resp.StatusCode, "%q: %s", ct, body)
			require.JSONEq(t, `{"error":"send the body as JSON, with Content-Type: application/json"}`, string(body))
			require.Empty(t, resp.Cookies(), "%q: no session cookie", ct)
		}
		status, _ := victim.me(b)
		require.Equal(t, http.StatusUnauthorized, status)

		// A logged-in browser stays who it is, and its counter stays put.
		victim.logIn(b, "alice")
		for _, ct := range refused {
			resp, _ := victim.send("POST", b+"/api/login", ct, login)
			require.Equal(t, http.StatusUnsupportedMediaType, resp.StatusCode, ct)
			resp, _ = victim.send("POST", a+"/api/counter", ct, "{}")
			require.Equal(t, http.StatusUnsupportedMediaType, resp.StatusCode, ct)
			resp, _ = victim.send("POST", a+"/api/logout", ct, "x")
			require.Equal(t, http.StatusUnsupportedMediaType, resp.StatusCode, ct)
		}
		status, m := victim.me(a)
		require.Equal(t, http.StatusOK, status)
		require.Equal(t, "alice", m.User)
		require.Zero(t, *m.Counter)

		// JSON, with parameters and in any case, is accepted; so is a post
		// with no body, whatever it says.
		for _, ct := range []string{"application/json; charset=utf-8", "Application/JSON"} {
			resp, body := newClient(t, "api/1.0").send("POST", a+"/api/login", ct, login)
			require.Equal(t, http.StatusOK, resp.StatusCode, "%q: %s", ct, body)
		}
		resp, body := victim.send("POST", b+"/api/counter", "text/plain", "")
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	})
}
