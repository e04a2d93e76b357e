package demo_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession/cmd/pgsession/internal/demo"
)

// One user holds at most demo.MaxSessionsPerUser sessions: the 11th log-in,
// on either node, ends the oldest, on both nodes, and only that one.
func TestSessionCap(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cl *demo.Cluster) {
		nodes := cl.URLs()
		require.Equal(t, 10, demo.MaxSessionsPerUser)
		devices := make([]*client, demo.MaxSessionsPerUser+1)
		for i := range devices {
			devices[i] = newClient(t, fmt.Sprintf("device-%d/1.0", i))
		}
		for i, c := range devices[:demo.MaxSessionsPerUser] {
			c.logIn(nodes[i%2], "quinn")
		}
		other := newClient(t, "other/1.0")
		other.logIn(nodes[0], "ruth")
		first := devices[0]
		for _, node := range nodes {
			status, _ := first.me(node) // both nodes cache the oldest session
			require.Equal(t, http.StatusOK, status)
		}
		require.Len(t, first.sessions(nodes[1]), demo.MaxSessionsPerUser)

		devices[demo.MaxSessionsPerUser].logIn(nodes[1], "quinn")
		first.requireLoggedOut(nodes[0])
		first.requireLoggedOut(nodes[1])
		for i, c := range devices[1:] {
			status, m := c.me(nodes[i%2])
			require.Equal(t, http.StatusOK, status, "device %d", i+1)
			require.Equal(t, "quinn", m.User)
		}
		list := devices[1].sessions(nodes[0])
		require.Len(t, list, demo.MaxSessionsPerUser)
		for _, s := range list {
			require.NotEqual(t, "device-0/1.0", s.UserAgent)
		}
		status, _ := other.me(nodes[1])
		require.Equal(t, http.StatusOK, status, "another user's session is not counted")
	})
}
