package demo_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession/cmd/pgsession/internal/demo"
)

// A stream opened on node A reports what the user's other devices do on
// node B (log in, revoke, log out), and nothing of another user's; it ends
// when its own session does.
func TestEventStream(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cl *demo.Cluster) {
		a, b := cl.URLs()[0], cl.URLs()[1]
		laptop := newClient(t, "laptop/1.0")
		laptop.logIn(a, "alice")
		laptopID := laptop.currentID(a)
		s := laptop.openStream(a)
		require.Equal(t, http.StatusOK, s.resp.StatusCode)
		require.Equal(t, "text/event-stream", s.resp.Header.Get("Content-Type"))
		require.Equal(t, "no-store", s.resp.Header.Get("Cache-Control"))
		require.Equal(t, "A", s.resp.Header.Get("X-Pgsession-Node"))
		// The laptop's own log-in may be announced after its stream opened:
		// PostgreSQL delivers announcements a little later.
		next := func() notice {
			t.Helper()
			for {
				if n := s.next(); n != (notice{Kind: "created", ID: laptopID}) {
					return n
				}
			}
		}

		// Bob comes and goes first. Notices keep the database's order, so
		// had his leaked, they would come before alice's.
		bob := newClient(t, "bob/1.0")
		bob.logIn(b, "bob")
		require.Equal(t, http.StatusNoContent, bob.call("POST", b+"/api/logout", nil, nil))

		phone := newClient(t, "phone/1.0")
		phone.logIn(b, "alice")
		phoneID := phone.currentID(b)
		require.Equal(t, notice{Kind: "created", ID: phoneID}, next())

		tablet := newClient(t, "tablet/1.0")
		tablet.logIn(b, "alice")
		tabletID := tablet.currentID(b)
		require.Equal(t, notice{Kind: "created", ID: tabletID}, next())

		require.Equal(t, http.StatusNoContent, phone.call("DELETE", b+"/api/sessions/"+tabletID, nil, nil))
		require.Equal(t, notice{Kind: "deleted", ID: tabletID}, next())

		require.Equal(t, http.StatusNoContent, phone.call("POST", b+"/api/logout", nil, nil))
		require.Equal(t, notice{Kind: "deleted", ID: phoneID}, next())

		// Logging out the others from node B ends the laptop's session, and
		// with it the laptop's stream, which may not reconnect.
		phone.logIn(b, "alice")
		require.Equal(t, "created", next().Kind)
		require.Equal(t, http.StatusOK, phone.call("POST", b+"/api/logout-others", nil, nil))
		require.Equal(t, notice{Kind: "user-deleted"}, next())
		s.requireEnd()
		require.Equal(t, http.StatusUnauthorized, laptop.openStream(a).resp.StatusCode)
	})
}

// Without a session there is no stream.
func TestEventStreamNeedsSession(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cl *demo.Cluster) {
		c := newClient(t, "test/1.0")
		resp, body := c.do("GET", cl.URLs()[0]+"/api/events", nil)
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		require.JSONEq(t, `{"error":"not logged in"}`, string(body))
	})
}

// A quiet stream gets heartbeats.
func TestEventStreamHeartbeat(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cl *demo.Cluster) {
		c := newClient(t, "test/1.0")
		c.logIn(cl.URLs()[1], "alice")
		s := c.openStream(cl.URLs()[1])
		for range 2 {
			select {
			case text := <-s.comments:
				require.Equal(t, "heartbeat", text)
			case <-time.After(5 * time.Second):
				t.Fatal("no heartbeat within 5s")
			}
		}
	}, func(o *demo.Options) { o.Heartbeat = 20 * time.Millisecond })
}

// Shutdown ends open streams instead of waiting for them, which would be
// forever.
func TestShutdownEndsStreams(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cl *demo.Cluster) {
		c := newClient(t, "test/1.0")
		c.logIn(cl.URLs()[0], "alice")
		streams := []*stream{c.openStream(cl.URLs()[0]), c.openStream(cl.URLs()[1])}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		start := time.Now()
		require.NoError(t, cl.Shutdown(ctx))
		require.Less(t, time.Since(start), 3*time.Second)
		for _, s := range streams {
			s.requireEnd()
		}
	})
}

// A user holds at most MaxStreamsPerUser streams open on a node: one more
// is refused, while another user is not, and closing one frees its place.
func TestEventStreamsPerUserAreCapped(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cl *demo.Cluster) {
		a := cl.URLs()[0]
		alice := newClient(t, "alice/1.0")
		alice.logIn(a, "alice")
		var open []*stream
		for range demo.MaxStreamsPerUser {
			s := alice.openStream(a)
			require.Equal(t, http.StatusOK, s.resp.StatusCode)
			open = append(open, s)
		}
		over := alice.openStream(a)
		require.Equal(t, http.StatusTooManyRequests, over.resp.StatusCode)

		bob := newClient(t, "bob/1.0")
		bob.logIn(a, "bob")
		require.Equal(t, http.StatusOK, bob.openStream(a).resp.StatusCode, "the cap is per user")

		open[0].close()
		require.Eventually(t, func() bool {
			s := alice.openStream(a)
			if s.resp.StatusCode != http.StatusOK {
				return false
			}
			s.close()
			return true
		}, 5*time.Second, 20*time.Millisecond, "a closed stream frees its place")
	})
}

// A node holds at most Options.MaxStreams streams in all: one more is
// refused with 503 whoever asks, until one closes.
func TestEventStreamsPerNodeAreCapped(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cl *demo.Cluster) {
		a := cl.URLs()[0]
		var open []*stream
		for _, name := range []string{"ann", "ben"} {
			c := newClient(t, name+"/1.0")
			c.logIn(a, name)
			s := c.openStream(a)
			require.Equal(t, http.StatusOK, s.resp.StatusCode)
			open = append(open, s)
		}
		cat := newClient(t, "cat/1.0")
		cat.logIn(a, "cat")
		over := cat.openStream(a)
		require.Equal(t, http.StatusServiceUnavailable, over.resp.StatusCode)
		require.Equal(t, "30", over.resp.Header.Get("Retry-After"))
		require.Equal(t, http.StatusOK, cat.openStream(cl.URLs()[1]).resp.StatusCode, "the cap is per node")

		open[0].close()
		require.Eventually(t, func() bool {
			s := cat.openStream(a)
			defer s.close()
			return s.resp.StatusCode == http.StatusOK
		}, 5*time.Second, 20*time.Millisecond, "a closed stream frees its place")
	}, func(o *demo.Options) { o.MaxStreams = 2 })
}
