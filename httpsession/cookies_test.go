package httpsession_test

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/httpsession"
	"github.com/pgsession/pgsession/token"
)

// The cookie carries the __Host- prefix whenever it can (Secure, Path=/, no
// Domain), so a sibling subdomain cannot toss one of our name; the other
// configurations keep their name, and NoHostPrefix opts out.
func TestHostPrefixByDefault(t *testing.T) {
	m := newCluster(t, "memory").node(t, testConfig())
	for name, tc := range map[string]struct {
		cookie httpsession.CookieConfig
		want   string
	}{
		"default":         {httpsession.CookieConfig{}, "__Host-session"},
		"own name":        {httpsession.CookieConfig{Name: "sid"}, "__Host-sid"},
		"__Host- name":    {httpsession.CookieConfig{Name: "__Host-sid"}, "__Host-sid"},
		"insecure":        {httpsession.CookieConfig{Insecure: true}, "session"},
		"domain":          {httpsession.CookieConfig{Domain: "example.test"}, "session"},
		"path":            {httpsession.CookieConfig{Path: "/app"}, "session"},
		"__Secure- name":  {httpsession.CookieConfig{Name: "__Secure-sid"}, "__Secure-sid"},
		"opted out":       {httpsession.CookieConfig{NoHostPrefix: true}, "session"},
		"explicit prefix": {httpsession.CookieConfig{HostPrefix: true}, "__Host-session"},
	} {
		mw, log := newMW(t, m, func(cfg *httpsession.Config) { cfg.Cookie = tc.cookie })
		require.Equal(t, tc.want, cookieName(mw), name)
		c := start(t, mw, map[string]any{"n": 1})
		require.Equal(t, tc.want, c.Name, name)
		if strings.HasPrefix(tc.want, "__Host-") {
			require.True(t, c.Secure, name)
			require.Equal(t, "/", c.Path, name)
			require.Empty(t, c.Domain, name)
		}
		require.Equal(t, 1, pgsession.AttrOr(sessionOf(t, mw, c), "n", 0), name)
		log.requireNone(t)
	}

	for name, cookie := range map[string]httpsession.CookieConfig{
		"prefix and opt-out":       {HostPrefix: true, NoHostPrefix: true},
		"__Host- name and opt-out": {Name: "__Host-sid", NoHostPrefix: true},
	} {
		_, err := httpsession.New(httpsession.Config{Manager: m, Keys: ring(t, "k1"), Cookie: cookie})
		require.ErrorIs(t, err, pgsession.ErrInvalidConfig, name)
	}
}

// withCookies builds a request carrying a Cookie header of name=value
// pairs, in that order.
func withCookies(pairs ...string) *http.Request {
	r := get()
	r.Header.Set("Cookie", strings.Join(pairs, "; "))
	return r
}

// Cookie tossing: where a sibling subdomain can add a cookie of our name
// (here without the __Host- prefix; with it, only a non-browser client can
// send two), a request carrying the user's cookie and another valid one
// (the attacker's own logged-in session) has no session, whichever comes
// first: the user's actions never land in the attacker's account.
func TestTwoSessionsInCookiesMeanNone(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		m := c.node(t, testConfig())
		for _, cookie := range []httpsession.CookieConfig{{}, {NoHostPrefix: true}} {
			mw, log := newMW(t, m, func(cfg *httpsession.Config) { cfg.Cookie = cookie })
			name := cookieName(mw)
			victim := login(t, mw, "victim", nil)
			attacker := login(t, mw, "attacker", nil)

			var saw *pgsession.Session
			save := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				saw = mw.Session(r)
				mw.Set(r, "card", "4111 1111 1111 1111")
			}))
			for _, pair := range [][2]*http.Cookie{{attacker, victim}, {victim, attacker}} {
				resp := serve(save, withCookies(name+"="+pair[0].Value, name+"="+pair[1].Value))
				require.Nil(t, saw, name)
				issued := setCookie(resp, name)
				require.NotNil(t, issued, "a new anonymous session")
				require.Empty(t, sessionOf(t, mw, issued).UserID())
			}
			require.False(t, sessionOf(t, mw, attacker).Has("card"), "nothing landed in the attacker's session")
			require.False(t, sessionOf(t, mw, victim).Has("card"))

			// Two cookies of one session (an older copy under another Path)
			// agree: the session, at the newer version.
			bump := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { mw.Set(r, "n", 1) }))
			newer := setCookie(serve(bump, get(victim)), name)
			for _, r := range []*http.Request{
				withCookies(name+"="+victim.Value, name+"="+newer.Value),
				withCookies(name+"="+newer.Value, name+"="+victim.Value),
			} {
				claims, ok := httpsession.ReadToken(mw, r)
				require.True(t, ok)
				want, err := mw.Config().Keys.Decode(newer.Value)
				require.NoError(t, err)
				require.Equal(t, want.Version, claims.Version, "the newer version wins")
				serve(reader(mw, new(seen)), r)
			}
			require.Equal(t, "victim", sessionOf(t, mw, newer).UserID())
			log.requireNone(t)
		}
	})
}

// Junk cookies of our name do not push out the user's valid one: values
// that cannot be tokens cost nothing, and up to the bound of
// token-length values are verified. Past the bound the request has no
// session, whatever the order, and no request costs more verifications.
func TestJunkCookiesDoNotLogOut(t *testing.T) {
	mw, log := newMW(t, newCluster(t, "memory").node(t, testConfig()))
	var verified atomic.Int64
	httpsession.CountVerifications(mw, &verified)
	victim := login(t, mw, "victim", nil)
	name := cookieName(mw)
	tokenLike := strings.Repeat("A", token.MinLen)

	var pairs []string
	for range 100 {
		pairs = append(pairs, name+"=junk", name+"=", "other=1")
	}
	pairs = append(pairs, name+"="+strings.Repeat("A", 5000), name+`="quoted junk"`)
	for range httpsession.MaxTokenTries - 1 {
		pairs = append(pairs, name+"="+tokenLike) // each costs a verification
	}
	for _, valid := range []string{victim.Value, `"` + victim.Value + `"`} {
		verified.Store(0)
		r := withCookies(append(pairs, name+"="+valid)...)
		var out seen
		serve(reader(mw, &out), r)
		require.NotNil(t, out.get(), "the victim's cookie, last, still counts")
		require.Equal(t, "victim", out.get().UserID())
		require.EqualValues(t, httpsession.MaxTokenTries, verified.Load())
	}

	// Cookies split over several Cookie lines, as HTTP/2 sends them.
	r := get()
	for _, p := range append(pairs, name+"="+victim.Value) {
		r.Header.Add("Cookie", p)
	}
	var out seen
	serve(reader(mw, &out), r)
	require.NotNil(t, out.get())

	// Past the bound: no session, wherever the valid cookie is.
	for _, at := range []int{0, httpsession.MaxTokenTries, 999} {
		var cookies []string
		for range 1000 {
			cookies = append(cookies, name+"="+tokenLike)
		}
		cookies[at] = name + "=" + victim.Value
		verified.Store(0)
		serve(reader(mw, &out), withCookies(cookies...))
		require.Nil(t, out.get(), "valid cookie at %d", at)
		require.LessOrEqual(t, verified.Load(), int64(httpsession.MaxTokenTries))
	}
	log.requireNone(t)
}
