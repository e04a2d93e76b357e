package httpsession_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession/httpsession"
)

// A token that verifies but whose session is gone (ended on another device,
// expired) is cleared from the client, so the browser stops sending it. A
// token that does not verify is left alone, and a request that starts a new
// session gets the new token instead.
func TestDeadTokenIsCleared(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		m := c.node(t, testConfig())
		mw, log := newMW(t, m, func(cfg *httpsession.Config) { cfg.Header = "X-Session" })
		cookie := login(t, mw, "ada", nil)
		_, err := m.DeleteUser(ctx, "ada") // "log out everywhere", elsewhere
		require.NoError(t, err)

		var out seen
		resp := serve(reader(mw, &out), get(cookie))
		require.Nil(t, out.get())
		cleared := setCookie(resp, sessionCookie)
		require.NotNil(t, cleared, "the dead cookie is cleared")
		require.Empty(t, cleared.Value)
		require.Equal(t, -1, cleared.MaxAge, "Max-Age=0")
		require.Equal(t, "/", cleared.Path)
		require.Contains(t, resp.Header.Values("Cache-Control"), `no-cache="Set-Cookie"`)

		// The header transport: an empty token header says "drop yours".
		r := get()
		r.Header.Set("X-Session", cookie.Value)
		resp = serve(reader(mw, &out), r)
		vals, ok := resp.Header["X-Session"]
		require.True(t, ok)
		require.Equal(t, []string{""}, vals)
		require.Empty(t, resp.Cookies())

		// A dead token and a new session: the new token wins.
		h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { mw.Set(r, "n", 1) }))
		fresh := setCookie(serve(h, get(cookie)), sessionCookie)
		require.NotEmpty(t, fresh.Value)

		// Not ours (does not verify): nothing to clear.
		resp = serve(reader(mw, &out), get(&http.Cookie{Name: sessionCookie, Value: cookie.Value + "x"}))
		require.Empty(t, resp.Cookies())
		log.requireNone(t)
	})
}
