package httpsession_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/httpsession"
)

// request builds a request to https://example.test with a session cookie
// and the given headers (name, value, name, value...).
func request(method, path string, cookie *http.Cookie, headers ...string) *http.Request {
	r := get(cookie)
	r.Method, r.URL.Path = method, path
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	return r
}

// By default a cross-origin unsafe request (what a forged form on another
// site makes the browser send, cookie attached) is refused with 403. It
// reaches neither the handler nor the session: served by a Manager that
// is closed, it reports no load error (the control, a same-origin request
// on that Manager, does). Same-origin requests, requests from clients
// that are not browsers, and safe methods pass.
func TestCrossOriginRefusedByDefault(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		good, goodLog := newMW(t, c.node(t, testConfig()))
		cookie := login(t, good, "ada", nil)

		closed := c.node(t, testConfig())
		require.NoError(t, closed.Close(context.Background()))
		unloadable, unloadableLog := newMW(t, closed)

		ran := false
		transfer := func(mw *httpsession.Middleware) http.Handler {
			return mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ran = true
				mw.Set(r, "transferred", true)
			}))
		}
		for name, r := range map[string]*http.Request{
			"cross-site":                      request("POST", "/transfer", cookie, "Sec-Fetch-Site", "cross-site"),
			"same-site, another origin":       request("POST", "/transfer", cookie, "Sec-Fetch-Site", "same-site"),
			"old browser, another port":       request("POST", "/transfer", cookie, "Origin", "https://example.test:8443"),
			"old browser, another host":       request("DELETE", "/transfer", cookie, "Origin", "https://evil.test"),
			"PUT, cross-site":                 request("PUT", "/transfer", cookie, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.test"),
			"PATCH, null origin (sandboxed)":  request("PATCH", "/transfer", cookie, "Origin", "null"),
			"cross-site, Origin faking ours":  request("POST", "/transfer", cookie, "Sec-Fetch-Site", "cross-site", "Origin", "https://example.test"),
			"without a cookie (log-in forms)": request("POST", "/transfer", nil, "Sec-Fetch-Site", "cross-site"),
		} {
			for _, mw := range []*httpsession.Middleware{good, unloadable} {
				ran = false
				resp := serve(transfer(mw), r)
				require.Equal(t, http.StatusForbidden, resp.StatusCode, name)
				require.False(t, ran, name)
				require.Empty(t, resp.Cookies(), name)
			}
			unloadableLog.requireNone(t) // nothing was loaded
		}
		require.False(t, sessionOf(t, good, cookie).Has("transferred"), "nothing changed")

		// The control: a request that passes the check loads the session.
		serve(transfer(unloadable), request("POST", "/transfer", cookie, "Sec-Fetch-Site", "same-origin"))
		require.NotEmpty(t, unloadableLog.all())

		for name, r := range map[string]*http.Request{
			"same-origin":               request("POST", "/transfer", cookie, "Sec-Fetch-Site", "same-origin"),
			"typed by the user":         request("POST", "/transfer", cookie, "Sec-Fetch-Site", "none"),
			"old browser, same origin":  request("POST", "/transfer", cookie, "Origin", "https://example.test"),
			"not a browser":             request("POST", "/transfer", cookie),
			"GET, cross-site":           request("GET", "/transfer", cookie, "Sec-Fetch-Site", "cross-site"),
			"HEAD, cross-site":          request("HEAD", "/transfer", cookie, "Sec-Fetch-Site", "cross-site"),
			"OPTIONS (CORS preflight)":  request("OPTIONS", "/transfer", cookie, "Sec-Fetch-Site", "cross-site"),
			"GET, old browser, elsewhr": request("GET", "/transfer", cookie, "Origin", "https://evil.test"),
		} {
			ran = false
			resp := serve(transfer(good), r)
			require.Equal(t, http.StatusOK, resp.StatusCode, name)
			require.True(t, ran, name)
			fresh := setCookie(resp, sessionCookie)
			require.NotNil(t, fresh, name)
			require.True(t, pgsession.AttrOr(sessionOf(t, good, fresh), "transferred", false), name)
		}
		goodLog.requireNone(t)
	})
}

// Trusted origins and bypass patterns pass; Deny answers the others;
// Disabled turns the check off.
func TestCrossOriginOptions(t *testing.T) {
	m := newCluster(t, "memory").node(t, testConfig())
	ran := false
	handler := func(mw *httpsession.Middleware) http.Handler {
		return mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { ran = true }))
	}
	status := func(mw *httpsession.Middleware, r *http.Request) int {
		ran = false
		code := serve(handler(mw), r).StatusCode
		require.Equal(t, code == http.StatusOK, ran)
		return code
	}

	mw, _ := newMW(t, m, func(cfg *httpsession.Config) {
		cfg.CrossOrigin.TrustedOrigins = []string{"https://app.example.test"}
		cfg.CrossOrigin.BypassPatterns = []string{"POST /hooks/", "/callback/{id}"}
		cfg.CrossOrigin.Deny = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "go away", http.StatusTeapot)
		})
	})
	cross := []string{"Sec-Fetch-Site", "same-site", "Origin", "https://app.example.test"}
	require.Equal(t, http.StatusOK, status(mw, request("POST", "/", nil, cross...)), "trusted origin")
	require.Equal(t, http.StatusOK, status(mw, request("POST", "/", nil, "Origin", "https://app.example.test")), "trusted, old browser")
	require.Equal(t, http.StatusTeapot, status(mw, request("POST", "/", nil, "Sec-Fetch-Site", "cross-site", "Origin", "https://other.test")))
	require.Equal(t, http.StatusOK, status(mw, request("POST", "/hooks/pay", nil, "Sec-Fetch-Site", "cross-site")), "bypass")
	require.Equal(t, http.StatusOK, status(mw, request("PUT", "/callback/7", nil, "Sec-Fetch-Site", "cross-site")), "bypass")
	require.Equal(t, http.StatusTeapot, status(mw, request("PUT", "/hooks/pay", nil, "Sec-Fetch-Site", "cross-site")), "POST only")

	off, _ := newMW(t, m, func(cfg *httpsession.Config) { cfg.CrossOrigin.Disabled = true })
	require.Equal(t, http.StatusOK, status(off, request("POST", "/", nil, "Sec-Fetch-Site", "cross-site")))

	for name, co := range map[string]httpsession.CrossOriginConfig{
		"origin without scheme": {TrustedOrigins: []string{"app.example.test"}},
		"origin with a path":    {TrustedOrigins: []string{"https://app.example.test/x"}},
		"malformed pattern":     {BypassPatterns: []string{"POST /{"}},
		"pattern given twice":   {BypassPatterns: []string{"/hooks/", "/hooks/"}},
		"method without a path": {BypassPatterns: []string{"POST"}},
		"even when it is off":   {Disabled: true, BypassPatterns: []string{"POST /{"}},
		"empty trusted origin":  {TrustedOrigins: []string{""}},
	} {
		_, err := httpsession.New(httpsession.Config{Manager: m, Keys: ring(t, "k1"), CrossOrigin: co})
		require.ErrorIs(t, err, pgsession.ErrInvalidConfig, name)
	}
}

// A request whose session token came in the token header, and verified,
// is not a forgery (browsers never attach that header by themselves), so a
// cross-origin API client using CORS is served. A header that does not
// verify does not exempt the request.
func TestCrossOriginHeaderTokenExempt(t *testing.T) {
	mw, log := newMW(t, newCluster(t, "memory").node(t, testConfig()), func(cfg *httpsession.Config) {
		cfg.Cookie.Disabled = true
		cfg.Header = "Authorization"
	})
	h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := mw.LogIn(r, "robot"); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	}))
	resp := serve(h, request("POST", "/login", nil))
	tok := resp.Header.Get("X-Session-Token")
	require.NotEmpty(t, tok)

	from := []string{"Sec-Fetch-Site", "cross-site", "Origin", "https://spa.test"}
	resp = serve(h, request("POST", "/login", nil, append(from, "Authorization", "Bearer "+tok)...))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NotEmpty(t, resp.Header.Get("X-Session-Token"))

	resp = serve(h, request("POST", "/login", nil, append(from, "Authorization", "Bearer "+tok+"x")...))
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	resp = serve(h, request("POST", "/login", nil, from...))
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	log.requireNone(t)
}
