package demo_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession/cmd/pgsession/internal/demo"
)

// Log in on node A; node B knows the user from the same cookie.
func TestLogInAndMe(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cl *demo.Cluster) {
		a, b := cl.URLs()[0], cl.URLs()[1]
		c := newClient(t, "test-browser/1.0")

		status, _ := c.me(a)
		require.Equal(t, http.StatusUnauthorized, status, "no cookie, no session")

		before := time.Now()
		resp, body := c.do("POST", a+"/api/login", map[string]string{"user": "alice"})
		after := time.Now()
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
		require.Equal(t, "A", resp.Header.Get("X-Pgsession-Node"))
		require.JSONEq(t, `{"user":"alice","node":"A","version":1}`, string(body))
		var cookie *http.Cookie
		for _, ck := range resp.Cookies() {
			if ck.Name == "session" {
				cookie = ck
			}
		}
		require.NotNil(t, cookie, "the session cookie")
		require.True(t, cookie.HttpOnly)
		require.False(t, cookie.Secure, "plain HTTP on loopback: the demo sends it without Secure")
		require.Equal(t, http.SameSiteLaxMode, cookie.SameSite)

		for node, name := range map[string]string{a: "A", b: "B"} {
			status, m := c.me(node)
			require.Equal(t, http.StatusOK, status)
			require.Equal(t, "alice", m.User)
			require.Equal(t, name, m.Node)
			require.NotNil(t, m.Counter)
			require.Zero(t, *m.Counter)
			require.Equal(t, "name", m.AuthMethod, "LogIn recorded how")
			require.WithinRange(t, m.AuthenticatedAt, before.Truncate(time.Millisecond), after, "and when")
		}

		// Bad requests.
		for _, body := range []any{
			map[string]string{"user": ""},
			map[string]string{"user": "   "},
			map[string]string{"user": strings.Repeat("x", 65)},
			map[string]string{"user": "tab\there"},
			map[string]int{"user": 3},
			"not an object",
		} {
			resp, msg := c.do("POST", b+"/api/login", body)
			require.Equal(t, http.StatusBadRequest, resp.StatusCode, "%v: %s", body, msg)
			require.Contains(t, string(msg), `"error"`)
		}
		status, m := c.me(b)
		require.Equal(t, http.StatusOK, status, "a refused log in leaves the session alone")
		require.Equal(t, "alice", m.User)
	})
}

// Logging in as someone else in the same browser starts afresh: the new
// user does not inherit the old one's counter.
func TestLogInAsAnotherUser(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cl *demo.Cluster) {
		a, b := cl.URLs()[0], cl.URLs()[1]
		c := newClient(t, "shared-computer/1.0")
		c.logIn(a, "alice")
		require.Equal(t, http.StatusOK, c.call("POST", a+"/api/counter", nil, nil))
		aliceID := c.currentID(a)

		c.logIn(b, "bob")
		status, m := c.me(a)
		require.Equal(t, http.StatusOK, status)
		require.Equal(t, "bob", m.User)
		require.Zero(t, *m.Counter)
		for _, s := range c.sessions(a) {
			require.NotEqual(t, aliceID, s.ID)
		}

		// The same user again keeps the session's data (LogIn renews it).
		require.Equal(t, http.StatusOK, c.call("POST", b+"/api/counter", nil, nil))
		c.logIn(a, "bob")
		status, m = c.me(b)
		require.Equal(t, http.StatusOK, status)
		require.Equal(t, int64(1), *m.Counter)
	})
}

// Each +1 is seen at once by the next request, on either node: the cookie
// carries the version the increment wrote.
func TestCounter(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cl *demo.Cluster) {
		nodes := cl.URLs()
		c := newClient(t, "counter/1.0")
		require.Equal(t, http.StatusUnauthorized, c.call("POST", nodes[0]+"/api/counter", nil, nil))

		c.logIn(nodes[0], "carol")
		lastVersion := int64(0)
		for i := 1; i <= 6; i++ {
			var got struct {
				Counter int64  `json:"counter"`
				Node    string `json:"node"`
				Version int64  `json:"version"`
			}
			here, there := nodes[i%2], nodes[(i+1)%2]
			require.Equal(t, http.StatusOK, c.call("POST", here+"/api/counter", nil, &got))
			require.Equal(t, int64(i), got.Counter)
			require.Greater(t, got.Version, lastVersion)
			lastVersion = got.Version

			status, m := c.me(there)
			require.Equal(t, http.StatusOK, status)
			require.Equal(t, int64(i), *m.Counter, "read your writes on the other node")
			require.GreaterOrEqual(t, m.Version, got.Version)
		}
	})
}

// 25 increments on each node at once, all on one session: none is lost,
// and each request got a count of its own.
func TestCounterConcurrent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cl *demo.Cluster) {
		nodes := cl.URLs()
		c := newClient(t, "load/1.0")
		c.logIn(nodes[0], "dave")

		const perNode = 25
		var (
			wg     sync.WaitGroup
			mu     sync.Mutex
			counts []int64
		)
		start := make(chan struct{})
		for _, node := range nodes {
			for range perNode {
				wg.Go(func() {
					<-start
					// Not c.do: require may stop only the test's own goroutine.
					req, err := http.NewRequest("POST", node+"/api/counter", nil)
					if err != nil {
						t.Error(err)
						return
					}
					req.Header.Set("User-Agent", c.ua)
					resp, err := c.http.Do(req)
					if err != nil {
						t.Error(err)
						return
					}
					body, err := io.ReadAll(resp.Body)
					resp.Body.Close()
					var got struct {
						Counter int64 `json:"counter"`
					}
					if err == nil {
						err = json.Unmarshal(body, &got)
					}
					if resp.StatusCode != http.StatusOK || err != nil {
						t.Errorf("%s: status %d (%v): %s", node, resp.StatusCode, err, body)
						return
					}
					mu.Lock()
					counts = append(counts, got.Counter)
					mu.Unlock()
				})
			}
		}
		close(start)
		wg.Wait()

		slices.Sort(counts)
		want := make([]int64, 2*perNode)
		for i := range want {
			want[i] = int64(i + 1)
		}
		require.Equal(t, want, counts, "every request got its own count, 1 to 50")
		for _, node := range nodes {
			status, m := c.me(node)
			require.Equal(t, http.StatusOK, status)
			require.Equal(t, int64(2*perNode), *m.Counter)
		}
	})
}

// The session list shows every session of the user, and only theirs.
func TestSessions(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cl *demo.Cluster) {
		a, b := cl.URLs()[0], cl.URLs()[1]
		laptop, phone, other := newClient(t, "laptop/1.0"), newClient(t, "phone/2.0"), newClient(t, "bob-pc/3.0")
		require.Equal(t, http.StatusUnauthorized, laptop.call("GET", a+"/api/sessions", nil, nil))
		laptop.logIn(a, "erin")
		phone.logIn(b, "erin")
		other.logIn(a, "bob")

		for _, node := range []string{a, b} {
			list := laptop.sessions(node)
			require.Len(t, list, 2)
			byAgent := map[string]sessionInfo{}
			for _, s := range list {
				require.Len(t, s.ID, 64)
				require.False(t, s.Created.IsZero())
				require.False(t, s.LastSeen.IsZero())
				byAgent[s.UserAgent] = s
			}
			require.True(t, byAgent["laptop/1.0"].Current)
			require.False(t, byAgent["phone/2.0"].Current)
		}
		list := other.sessions(b)
		require.Len(t, list, 1)
		require.Equal(t, "bob-pc/3.0", list[0].UserAgent)
		require.True(t, list[0].Current)
	})
}

// Revoking goes by ID, for the user's own sessions only.
func TestRevoke(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cl *demo.Cluster) {
		a, b := cl.URLs()[0], cl.URLs()[1]
		laptop, phone, mallory := newClient(t, "laptop/1.0"), newClient(t, "phone/2.0"), newClient(t, "mallory/6.6")
		laptop.logIn(a, "frank")
		phone.logIn(b, "frank")
		mallory.logIn(a, "mallory")
		phoneID := phone.currentID(b)

		require.Equal(t, http.StatusUnauthorized, newClient(t, "anon").call("DELETE", a+"/api/sessions/"+phoneID, nil, nil))
		// Another user's ID, however it was learnt, is not theirs to end.
		for _, node := range []string{a, b} {
			resp, body := mallory.do("DELETE", node+"/api/sessions/"+phoneID, nil)
			require.Equal(t, http.StatusNotFound, resp.StatusCode, "%s", body)
		}
		for _, bad := range []string{"zz", strings.Repeat("0", 64), strings.Repeat("g", 64)} {
			require.Equal(t, http.StatusNotFound, mallory.call("DELETE", a+"/api/sessions/"+bad, nil, nil), bad)
		}
		status, _ := phone.me(a)
		require.Equal(t, http.StatusOK, status, "the phone's session survived")

		// The owner ends it from the laptop, on node A; node B drops it too.
		require.Equal(t, http.StatusNoContent, laptop.call("DELETE", a+"/api/sessions/"+phoneID, nil, nil))
		phone.requireLoggedOut(b)
		phone.requireLoggedOut(a)
		require.Len(t, laptop.sessions(b), 1)

		// Revoking the current session logs out and clears the cookie.
		resp, _ := laptop.do("DELETE", b+"/api/sessions/"+laptop.currentID(b), nil)
		require.Equal(t, http.StatusNoContent, resp.StatusCode)
		require.Nil(t, laptop.sessionCookie(a), "cookie cleared")
		status, _ = mallory.me(b)
		require.Equal(t, http.StatusOK, status)
	})
}

// Log out ends the session on both nodes; the old cookie, replayed, is dead.
func TestLogOut(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cl *demo.Cluster) {
		a, b := cl.URLs()[0], cl.URLs()[1]
		c := newClient(t, "browser/1.0")
		c.logIn(a, "gina")
		status, _ := c.me(b) // node B caches the session
		require.Equal(t, http.StatusOK, status)
		old := c.sessionCookie(a)
		require.NotNil(t, old)

		require.Equal(t, http.StatusNoContent, c.call("POST", a+"/api/logout", nil, nil))
		require.Nil(t, c.sessionCookie(a), "cookie cleared")
		status, _ = c.me(a)
		require.Equal(t, http.StatusUnauthorized, status)

		replay := newClient(t, "thief/1.0")
		u, err := http.NewRequest("GET", a, nil)
		require.NoError(t, err)
		replay.jar.SetCookies(u.URL, []*http.Cookie{{Name: "session", Value: old.Value, Path: "/"}})
		replay.requireLoggedOut(b)
		replay.requireLoggedOut(a)

		// Without a session, log out still answers 204.
		require.Equal(t, http.StatusNoContent, c.call("POST", b+"/api/logout", nil, nil))
	})
}

// Log out everywhere on node B ends the user's sessions on node A too, and
// only that user's.
func TestLogOutEverywhere(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cl *demo.Cluster) {
		a, b := cl.URLs()[0], cl.URLs()[1]
		laptop, phone, other := newClient(t, "laptop/1.0"), newClient(t, "phone/2.0"), newClient(t, "other/1.0")
		laptop.logIn(a, "hank")
		phone.logIn(b, "hank")
		other.logIn(a, "ivy")
		status, _ := laptop.me(a) // node A caches the laptop's session
		require.Equal(t, http.StatusOK, status)

		require.Equal(t, http.StatusNoContent, phone.call("POST", b+"/api/logout-everywhere", nil, nil))
		require.Nil(t, phone.sessionCookie(b), "cookie cleared")
		laptop.requireLoggedOut(a)
		laptop.requireLoggedOut(b)
		status, _ = other.me(a)
		require.Equal(t, http.StatusOK, status, "another user is not logged out")
		require.Equal(t, http.StatusNoContent, phone.call("POST", b+"/api/logout-everywhere", nil, nil), "again: nothing to end")
	})
}

// Log out other devices keeps this one.
func TestLogOutOthers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cl *demo.Cluster) {
		a, b := cl.URLs()[0], cl.URLs()[1]
		laptop, phone, tablet := newClient(t, "laptop/1.0"), newClient(t, "phone/2.0"), newClient(t, "tablet/3.0")
		laptop.logIn(a, "jo")
		phone.logIn(b, "jo")
		tablet.logIn(a, "jo")
		for _, c := range []*client{phone, tablet} {
			status, _ := c.me(b)
			require.Equal(t, http.StatusOK, status)
		}

		require.Equal(t, http.StatusUnauthorized, newClient(t, "anon").call("POST", a+"/api/logout-others", nil, nil))
		var got struct {
			Ended int `json:"ended"`
		}
		require.Equal(t, http.StatusOK, laptop.call("POST", a+"/api/logout-others", nil, &got))
		require.Equal(t, 2, got.Ended)
		phone.requireLoggedOut(b)
		tablet.requireLoggedOut(b)
		status, _ := laptop.me(b)
		require.Equal(t, http.StatusOK, status)
		require.Len(t, laptop.sessions(b), 1)
	})
}

// The HTML pages: the log-in form, the counter and the session list.
func TestPages(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cl *demo.Cluster) {
		a, b := cl.URLs()[0], cl.URLs()[1]
		c := newClient(t, "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36")
		resp, body := c.do("GET", a+"/", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Contains(t, string(body), `id="login-form"`)
		require.Contains(t, resp.Header.Get("Content-Security-Policy"), "default-src 'none'")

		post := func(node, path string, form map[string]string) *http.Response {
			t.Helper()
			vals := url.Values{}
			for k, v := range form {
				vals.Set(k, v)
			}
			req, err := http.NewRequest("POST", node+path, strings.NewReader(vals.Encode()))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("User-Agent", c.ua)
			resp, err := c.http.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			return resp
		}
		resp = post(a, "/login", map[string]string{"name": ""})
		require.Equal(t, http.StatusBadRequest, resp.StatusCode)
		resp = post(a, "/login", map[string]string{"name": "kim<script>"})
		require.Equal(t, http.StatusSeeOther, resp.StatusCode)
		require.Equal(t, "/", resp.Header.Get("Location"))
		resp = post(b, "/counter", nil)
		require.Equal(t, http.StatusSeeOther, resp.StatusCode)

		resp, body = c.do("GET", b+"/", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		page := string(body)
		require.Contains(t, page, `<span class="badge" id="node">node B</span>`)
		require.Contains(t, page, `kim&lt;script&gt;`, "escaped")
		require.NotContains(t, page, `kim<script>`)
		require.Contains(t, page, `<span class="count" id="counter">1</span>`)
		require.Contains(t, page, "Last +1 on node B")
		require.Contains(t, page, "Chrome on Linux")
		require.Contains(t, page, "this device")
		require.Contains(t, page, "At most 10 at once")
		require.Equal(t, 5*time.Minute, demo.DefaultReauthMaxAge)
		require.Contains(t, page, "needs a log-in within the last 5 minutes")
		require.Contains(t, page, `href="`+a+`/"`, "a link to the other node")

		resp = post(b, "/revoke", map[string]string{"id": strings.Repeat("ab", 32)})
		require.Equal(t, "/?m=notyours", resp.Header.Get("Location"))
		resp = post(a, "/logout-everywhere", nil)
		require.Equal(t, "/?m=everywhere", resp.Header.Get("Location"))
		_, body = c.do("GET", b+"/?m=everywhere", nil)
		require.Contains(t, string(body), `id="login-form"`)
		require.Contains(t, string(body), "Every session of yours has ended")
	})
}
