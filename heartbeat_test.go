package pgsession_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/pgsessiontest"
)

// An idle fleet sends about one heartbeat per ping interval, not one per
// node: any notification restarts a listener's quiet period, and the
// periods are spread so nodes that went quiet together do not stay in step
// (each heartbeat wakes every node's listener: with N in step, N² wake-ups
// per interval). Counted on a listener of the test's own.
func TestIdleNodesShareHeartbeats(t *testing.T) {
	t.Parallel()
	const nodes, interval, window = 8, 100 * time.Millisecond, 2 * time.Second
	c := newCluster(t, "postgres")
	cfg := testConfig()
	cfg.ListenerPingInterval = interval
	var ms []*pgsession.Manager
	for range nodes {
		ms = append(ms, c.node(cfg))
	}
	for _, m := range ms {
		require.Eventually(t, func() bool { return !m.Stats().CacheBypassed }, within, time.Millisecond)
	}
	ctx := ctxT(t)
	conn, err := pgx.Connect(ctx, pgsessiontest.ListenerURL())
	require.NoError(t, err)
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, "LISTEN "+pgx.Identifier{pgsession.ListenChannel(ms[0])}.Sanitize())
	require.NoError(t, err)

	heartbeats := 0
	end := time.Now().Add(window)
	for {
		wait, cancel := context.WithDeadline(ctx, end)
		n, err := conn.WaitForNotification(wait)
		cancel()
		if err != nil {
			require.True(t, time.Now().After(end), "listening: %v", err)
			break
		}
		if strings.HasPrefix(n.Payload, "1|h|") {
			heartbeats++
		}
	}
	inStep := nodes * int(window/interval) // every node probing every interval
	t.Logf("%d heartbeats in %v from %d idle nodes (in step: %d)", heartbeats, window, nodes, inStep)
	require.Positive(t, heartbeats, "idle nodes still probe their connections")
	require.Less(t, heartbeats, inStep/2)
}
