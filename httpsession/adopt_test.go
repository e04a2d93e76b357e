package httpsession_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession"
)

// A copy written through the Manager (here a version-checked update) is
// adopted: the client's token then carries its version, so another node
// that never heard of the write still serves it (MinVersion).
func TestAdoptRefreshesTheToken(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		cfg := testConfig()
		cfg.SkipUpdateNotify = true // node b learns only from the token
		a, b := c.node(t, cfg), c.node(t, cfg)
		mwA, logA := newMW(t, a)
		mwB, _ := newMW(t, b)
		cookie := start(t, mwA, map[string]any{"n": 1})
		before := sessionOf(t, mwB, cookie) // cached on b
		require.Equal(t, 1, pgsession.AttrOr(before, "n", 0))

		h := mwA.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			cur := mwA.Session(r)
			s, err := a.Update(ctx, cur.ID(), new(pgsession.Patch).Set("n", 2), pgsession.IfVersion(cur.Version()))
			require.NoError(t, err)
			require.NoError(t, mwA.Adopt(r, s))
			require.NoError(t, mwA.Adopt(r, cur), "an older copy changes nothing")
			require.Equal(t, s.Version(), mwA.Session(r).Version())
			other, err := a.Create(ctx, "", nil)
			require.NoError(t, err)
			require.ErrorIs(t, mwA.Adopt(r, other), pgsession.ErrNotFound, "not this request's session")
		}))
		fresh := setCookie(serve(h, get(cookie)), cookieName(mwA))
		require.NotNil(t, fresh, "the token was refreshed")
		logA.requireNone(t)

		require.Equal(t, 1, pgsession.AttrOr(sessionOf(t, mwB, cookie), "n", 0), "the old token: b's cached copy")
		require.Equal(t, 2, pgsession.AttrOr(sessionOf(t, mwB, fresh), "n", 0), "the new token: at least the adopted version")
	})
}
