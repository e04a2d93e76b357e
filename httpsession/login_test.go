package httpsession_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/httpsession"
)

// An anonymous session logging in becomes the user's under a new token (a
// token planted before log in is dead), and brings along only the keys the
// application names: by default none.
func TestLogInFromAnonymousKeepsOnlyChosenKeys(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		mw, log := newMW(t, c.node(t, testConfig()))
		// The attacker's own, perfectly valid, anonymous session, planted in
		// the victim's browser with a value of the attacker's choosing.
		attrs := map[string]any{"cart": []string{"tea"}, "shipping_address": "attacker's"}

		planted := start(t, mw, attrs)
		after := login(t, mw, "ada", planted)
		require.NotEqual(t, planted.Value, after.Value)
		require.Nil(t, sessionOf(t, mw, planted), "the planted token is dead")
		s := sessionOf(t, mw, after)
		require.Equal(t, "ada", s.UserID())
		require.Equal(t, []string{httpsession.AuthTimeKey}, s.Keys(), "nothing carried over by default")

		planted = start(t, mw, attrs)
		after = login(t, mw, "ada", planted, httpsession.KeepKeys("cart"), httpsession.KeepKeys("language"))
		require.Nil(t, sessionOf(t, mw, planted))
		s = sessionOf(t, mw, after)
		require.Equal(t, "ada", s.UserID())
		require.Equal(t, []string{"tea"}, pgsession.AttrOr[[]string](s, "cart", nil), "kept")
		require.False(t, s.Has("shipping_address"), "not named, not kept")

		// Log in without a session starts one.
		fresh := login(t, mw, "bob", nil, httpsession.KeepKeys("cart"))
		require.Equal(t, "bob", sessionOf(t, mw, fresh).UserID())
		log.requireNone(t)
	})
}

// The same user logging in again (re-authentication) keeps the session's
// data under a new token.
func TestLogInAgainKeepsData(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		m := c.node(t, testConfig())
		mw, log := newMW(t, m)
		first := login(t, mw, "ada", nil)
		h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { mw.Set(r, "mfa_verified", true) }))
		first = setCookie(serve(h, get(first)), sessionCookie)

		again := login(t, mw, "ada", first)
		require.NotEqual(t, first.Value, again.Value)
		require.Nil(t, sessionOf(t, mw, first), "the old token is dead")
		s := sessionOf(t, mw, again)
		require.Equal(t, "ada", s.UserID())
		require.True(t, pgsession.AttrOr(s, "mfa_verified", false), "data kept")
		all, err := m.ListUser(ctx, "ada")
		require.NoError(t, err)
		require.Len(t, all, 1, "the same session, renewed")
		log.requireNone(t)
	})
}

// Logging in as Alice in a browser holding Bob's session ends Bob's session
// and starts an empty one: Alice never inherits Bob's data (here, a flag
// saying a second factor was checked).
func TestLogInAsAnotherUserStartsAfresh(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		m := c.node(t, testConfig())
		mw, log := newMW(t, m)
		bob := login(t, mw, "bob", nil)
		h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { mw.Set(r, "mfa_verified", true) }))
		bob = setCookie(serve(h, get(bob)), sessionCookie)
		require.True(t, pgsession.AttrOr(sessionOf(t, mw, bob), "mfa_verified", false))

		var pendingKept bool
		h = mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mw.Set(r, "flash", "welcome") // this request's own change
			s, err := mw.LogIn(r, "alice", httpsession.KeepKeys("mfa_verified"))
			require.NoError(t, err)
			require.Equal(t, "alice", s.UserID())
			require.False(t, s.Has("mfa_verified"))
			saved, err := mw.Save(r)
			require.NoError(t, err)
			pendingKept = saved.Has("flash")
		}))
		alice := setCookie(serve(h, get(bob)), sessionCookie)
		require.NotNil(t, alice)
		require.NotEmpty(t, alice.Value)
		require.True(t, pendingKept, "changes the log-in request made are saved")

		s := sessionOf(t, mw, alice)
		require.Equal(t, "alice", s.UserID())
		require.False(t, s.Has("mfa_verified"), "Bob's flag did not reach Alice")
		require.Nil(t, sessionOf(t, mw, bob), "Bob's token is dead")
		left, err := m.ListUser(ctx, "bob")
		require.NoError(t, err)
		require.Empty(t, left, "Bob's session was ended, not handed over")
		log.requireNone(t)
	})
}

// LogIn needs a user.
func TestLogInEmptyUser(t *testing.T) {
	mw, _ := newMW(t, newCluster(t, "memory").node(t, testConfig()))
	var err error
	h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, err = mw.LogIn(r, "") }))
	resp := serve(h, get())
	require.ErrorIs(t, err, pgsession.ErrInvalidUserID)
	require.Empty(t, resp.Cookies())
}
