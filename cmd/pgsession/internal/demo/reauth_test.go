package demo_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession/cmd/pgsession/internal/demo"
)

// Ending the user's other sessions needs a recent log-in, on the form path
// and the API path alike, all at once or one by one: it works right after
// log in, is refused once the log-in is older than the max age (on either
// node), and works again after logging in again as the same user, which
// keeps the user's counter. Logging out never needs it.
func TestRecentLogInToEndOtherSessions(t *testing.T) {
	const maxAge = time.Second
	forEachBackend(t, func(t *testing.T, cl *demo.Cluster) {
		a, b := cl.URLs()[0], cl.URLs()[1]
		laptop, phone := newClient(t, "laptop/1.0"), newClient(t, "phone/2.0")

		// Right after log in.
		phone.logIn(b, "sam")
		laptop.logIn(a, "sam")
		var ended struct {
			Ended int `json:"ended"`
		}
		require.Equal(t, http.StatusOK, laptop.call("POST", a+"/api/logout-others", nil, &ended))
		require.Equal(t, 1, ended.Ended)
		phone.requireLoggedOut(b)
		require.Equal(t, http.StatusOK, laptop.call("POST", b+"/api/counter", nil, nil))

		// Too old, on both paths.
		phone.logIn(b, "sam")
		phoneID := phone.currentID(b)
		waitPast(laptop, a, maxAge)
		for _, node := range []string{a, b} {
			for _, req := range []struct{ method, path string }{
				{"POST", "/api/logout-others"},
				{"DELETE", "/api/sessions/" + phoneID},
			} {
				resp, body := laptop.do(req.method, node+req.path, nil)
				require.Equal(t, http.StatusForbidden, resp.StatusCode, "%s %s: %s", req.method, req.path, body)
				var e struct {
					Error string `json:"error"`
				}
				require.NoError(t, json.Unmarshal(body, &e), "%s", body)
				require.Contains(t, e.Error, "re-authentication required")
			}
			resp := laptop.postForm(node+"/logout-others", nil)
			require.Equal(t, http.StatusSeeOther, resp.StatusCode)
			require.Equal(t, "/?m=reauth", resp.Header.Get("Location"))
			resp = laptop.postForm(node+"/revoke", url.Values{"id": {phoneID}})
			require.Equal(t, "/?m=reauth", resp.Header.Get("Location"))
		}
		status, _ := phone.me(a)
		require.Equal(t, http.StatusOK, status, "the phone's session survived")
		resp, body := laptop.do("GET", b+"/?m=reauth", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Contains(t, string(body), `id="reauth-form"`)
		require.Contains(t, string(body), `<input type="hidden" name="name" value="sam">`)
		require.Equal(t, http.StatusOK, laptop.call("POST", a+"/api/counter", nil, nil), "counting needs no recent log-in")

		// Logging in again, through the form, and the form works again.
		resp = laptop.postForm(b+"/login", url.Values{"name": {"sam"}})
		require.Equal(t, "/", resp.Header.Get("Location"))
		resp = laptop.postForm(b+"/revoke", url.Values{"id": {phoneID}})
		require.Equal(t, "/?m=revoked", resp.Header.Get("Location"))
		phone.requireLoggedOut(a)
		requireCounter(t, laptop, a, "sam", 2)

		// Too old again; logging in again through the API makes the API work.
		phone.logIn(a, "sam")
		waitPast(laptop, b, maxAge)
		require.Equal(t, http.StatusForbidden, laptop.call("POST", b+"/api/logout-others", nil, nil))
		laptop.logIn(b, "sam")
		require.Equal(t, http.StatusOK, laptop.call("POST", b+"/api/logout-others", nil, &ended))
		require.Equal(t, 1, ended.Ended)
		phone.requireLoggedOut(b)
		requireCounter(t, laptop, a, "sam", 2)

		// Revoking this very session is logging out, which needs no recent
		// log-in.
		waitPast(laptop, a, maxAge)
		resp = laptop.postForm(a+"/revoke", url.Values{"id": {laptop.currentID(a)}})
		require.Equal(t, "/?m=revoked", resp.Header.Get("Location"))
		laptop.requireLoggedOut(b)
	}, func(o *demo.Options) { o.ReauthMaxAge = maxAge })
}

// waitPast sleeps until the client's log-in, as node reports it, is older
// than maxAge.
func waitPast(c *client, node string, maxAge time.Duration) {
	c.t.Helper()
	status, m := c.me(node)
	require.Equal(c.t, http.StatusOK, status)
	require.False(c.t, m.AuthenticatedAt.IsZero(), "a log-in time")
	time.Sleep(time.Until(m.AuthenticatedAt.Add(maxAge + 10*time.Millisecond)))
}

// requireCounter checks who the client is and its counter, through node.
func requireCounter(t *testing.T, c *client, node, user string, want int64) {
	t.Helper()
	status, m := c.me(node)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, user, m.User)
	require.Equal(t, want, *m.Counter)
}
