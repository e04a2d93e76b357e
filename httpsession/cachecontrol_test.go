package httpsession_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// A response that sets or clears the session token is never cacheable by
// shared caches, whatever the handler wrote: public becomes private,
// s-maxage goes, a fresh response gains private; the rest is kept. A
// response without a token keeps the handler's headers as they are.
func TestTokenResponsesNotCachedPublicly(t *testing.T) {
	mw, log := newMW(t, newCluster(t, "memory").node(t, testConfig()))
	const ours = `no-cache="Set-Cookie"`
	for _, tc := range []struct {
		cacheControl, expires string
		want                  []string
	}{
		{"public, max-age=3600", "", []string{"private, max-age=3600", ours}},
		{"max-age=60, s-maxage=600", "", []string{"private, max-age=60", ours}},
		{"S-MAXAGE=600", "", []string{"private", ours}},
		{"public", "", []string{"private", ours}},
		{"no-store, public", "", []string{"no-store", ours}},
		{"private, max-age=60", "", []string{"private, max-age=60", ours}},
		{`max-age=60, private="Set-Cookie"`, "", []string{"private, max-age=60", ours}},
		{"no-cache, must-revalidate", "", []string{"no-cache, must-revalidate", ours}},
		{`no-cache="Set-Cookie, X-Token", public, immutable`, "", []string{`private, no-cache="Set-Cookie, X-Token", immutable`, ours}},
		{"", "Thu, 01 Jan 2099 00:00:00 GMT", []string{"private", ours}},
		{"", "", []string{ours}},
	} {
		respond := func(w http.ResponseWriter) {
			if tc.cacheControl != "" {
				w.Header().Set("Cache-Control", tc.cacheControl)
			}
			if tc.expires != "" {
				w.Header().Set("Expires", tc.expires)
			}
			w.Write([]byte("page"))
		}
		sets := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mw.Set(r, "n", 1)
			respond(w)
		}))
		resp := serve(sets, get())
		require.NotNil(t, setCookie(resp, sessionCookie))
		require.Equal(t, tc.want, resp.Header.Values("Cache-Control"), "sets, %q", tc.cacheControl)

		cookie := login(t, mw, "ada", nil)
		clears := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			require.NoError(t, mw.LogOut(r))
			respond(w)
		}))
		resp = serve(clears, get(cookie))
		require.Empty(t, setCookie(resp, sessionCookie).Value)
		require.Equal(t, tc.want, resp.Header.Values("Cache-Control"), "clears, %q", tc.cacheControl)

		// No token in the response: the handler's caching is its own.
		reads := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { respond(w) }))
		resp = serve(reads, get())
		require.Empty(t, resp.Cookies())
		if tc.cacheControl != "" {
			require.Equal(t, []string{tc.cacheControl}, resp.Header.Values("Cache-Control"))
		}
	}
	log.requireNone(t)
}
