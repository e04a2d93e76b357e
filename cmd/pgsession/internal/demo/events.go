package demo

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/pgsession/pgsession"
)

// DefaultHeartbeat is how often an idle event stream gets a comment line
// (Options.Heartbeat): often enough that proxies, which close connections
// quiet for a minute or so, leave it open.
const DefaultHeartbeat = 15 * time.Second

// GET /api/events streams, as server-sent events, a notice each time the
// signed-in user's sessions change on any node, so their page can keep its
// list current. It ends when the client leaves, the node stops, or the
// stream's own session ends: a stream must not outlive the log-in that
// opened it, or a revoked device would keep learning about the others.
func (n *Node) apiEvents(w http.ResponseWriter, r *http.Request) {
	cur, ok := n.user(r)
	if !ok {
		writeNoSession(w)
		return
	}
	if n.stopping() {
		writeError(w, http.StatusServiceUnavailable, "the node is stopping")
		return
	}
	switch n.streams.take(cur.UserID()) {
	case userStreamsFull:
		writeError(w, http.StatusTooManyRequests, "too many open event streams for this user; close a page first")
		return
	case nodeStreamsFull:
		w.Header().Set("Retry-After", "30")
		writeError(w, http.StatusServiceUnavailable, "too many open event streams on this node; try again later")
		return
	}
	defer n.streams.give(cur.UserID())
	// Cancelled on return, which ends the subscription's goroutine.
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	events, err := n.m.Subscribe(ctx)
	switch {
	case errors.Is(err, pgsession.ErrClosed):
		writeError(w, http.StatusServiceUnavailable, "the node is stopping")
		return
	case err != nil:
		n.writeFailure(w, r, err)
		return
	}
	// Subscribed before the headers go out: a client that sees the stream
	// open misses nothing from then on.
	stream, err := startSSE(w)
	if err != nil {
		return
	}
	n.forward(ctx, stream, events, cur)
}

// forward sends stream a notice for each event that concerns cur's user,
// and a heartbeat when there is none, until it is time to stop.
func (n *Node) forward(ctx context.Context, stream *sseStream, events <-chan pgsession.Event, cur *pgsession.Session) {
	heartbeat := time.NewTicker(n.heartbeat)
	defer heartbeat.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.quit:
			return
		case <-heartbeat.C:
			// A session can also end unannounced for a while: it stops
			// being served when it expires, and is announced when swept.
			if !n.live(ctx, cur.ID()) || stream.comment("heartbeat") != nil {
				return
			}
		case e, ok := <-events:
			if !ok {
				return // the Manager closed
			}
			msg, ok := noticeFor(e, cur.UserID())
			if !ok {
				continue
			}
			data, err := json.Marshal(msg)
			if err != nil || stream.send(data) != nil || n.ended(ctx, e, cur.ID()) {
				return
			}
		}
	}
}

// ended reports whether e ended session id: surely when it deleted it,
// possibly when it ended many at once or events were lost, which a read
// from the database settles.
func (n *Node) ended(ctx context.Context, e pgsession.Event, id pgsession.ID) bool {
	switch e.Kind {
	case pgsession.SessionDeleted:
		return e.SessionID == id
	case pgsession.UserSessionsDeleted, pgsession.AllSessionsDeleted, pgsession.EventsMissed:
		return !n.live(ctx, id, pgsession.ForceRefresh())
	}
	return false
}

// live reports whether session id is still live. A failure to find out
// counts as live: the next heartbeat asks again. NoTouch, because an open
// page is not activity, and must not keep an idle session from timing out.
func (n *Node) live(ctx context.Context, id pgsession.ID, opts ...pgsession.GetOption) bool {
	ctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	_, err := n.m.GetByID(ctx, id, append(opts, pgsession.NoTouch())...)
	return !errors.Is(err, pgsession.ErrNotFound) && !errors.Is(err, pgsession.ErrClosed)
}

// stopStreams ends the node's event streams, and refuses new ones. A
// stream never finishes by itself, so a graceful shutdown, which waits for
// requests in flight, needs it first.
func (n *Node) stopStreams() { n.quitOnce.Do(func() { close(n.quit) }) }

func (n *Node) stopping() bool {
	select {
	case <-n.quit:
		return true
	default:
		return false
	}
}
