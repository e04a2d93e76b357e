package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgsession/pgsession/internal/store"
)

// Listener keeps one dedicated connection LISTENing on a channel (DESIGN L1):
// outside any pool, never inside a transaction. When the connection has been
// quiet for PingInterval it sends itself a heartbeat and expects it back
// within PingTimeout, so a black-holed connection, which looks exactly like
// silence, is noticed within PingInterval + PingTimeout. It reconnects with
// exponential backoff and jitter.
//
// OnDown is called as soon as the connection is known lost: from then on the
// node must not trust its cache. OnUp is called once LISTEN is in place again:
// notifications sent meanwhile are lost, so the node must drop or revalidate
// its cache before serving from it.
type Listener struct {
	Connect      func(ctx context.Context) (*pgx.Conn, error)
	Channel      string
	Instance     string // this Manager's instance name, to know its own payloads
	PingInterval time.Duration
	PingTimeout  time.Duration
	OnEvent      func(store.Event)
	OnUp         func()
	OnDown       func(error)
	Log          *slog.Logger
	// KeepOwn passes on this node's own update announcements too, which
	// are otherwise skipped (the node holds what it wrote): its session
	// event subscribers need them.
	KeepOwn bool

	// AfterHeartbeat, if set, runs after each echoed heartbeat (a test signal).
	AfterHeartbeat func()

	seq        uint64        // heartbeat sequence; only the Run goroutine uses it
	healthy    atomic.Bool   // LISTEN in place and the last probe answered
	downSince  atomic.Int64  // unix nanoseconds when it went down; 0 while healthy
	reconnects atomic.Uint64 // successful reconnects after the first connection
}

// Healthy reports whether the listener is currently known to hear every
// notification.
func (l *Listener) Healthy() bool { return l.healthy.Load() }

// DownFor returns how long the listener has been unhealthy (0 when healthy).
func (l *Listener) DownFor() time.Duration {
	since := l.downSince.Load()
	if since == 0 || l.healthy.Load() {
		return 0
	}
	return time.Since(time.Unix(0, since))
}

// Reconnects counts the connections made after the first one.
func (l *Listener) Reconnects() uint64 { return l.reconnects.Load() }

// Dial connects and LISTENs. New calls it once before Run, so a node whose
// database is unreachable fails at start, not silently later.
func (l *Listener) Dial(ctx context.Context) (*pgx.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, max(5*time.Second, 2*l.PingTimeout))
	defer cancel()
	conn, err := l.Connect(ctx)
	if err != nil {
		return nil, fmt.Errorf("listener connect: %w", err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{l.Channel}.Sanitize()); err != nil {
		closeQuietly(conn)
		return nil, fmt.Errorf("listen %q: %w", l.Channel, err)
	}
	return conn, nil
}

// Run serves conn (from Dial) and its successors until ctx ends.
func (l *Listener) Run(ctx context.Context, conn *pgx.Conn) {
	retry := backoff.NewExponentialBackOff()
	retry.InitialInterval = 50 * time.Millisecond
	retry.MaxInterval = 5 * time.Second
	retry.RandomizationFactor = 0.5
	l.up()
	for {
		err := l.serve(ctx, conn)
		closeQuietly(conn)
		if ctx.Err() != nil {
			l.healthy.Store(false)
			return
		}
		l.down(err)
		for conn = nil; conn == nil; {
			select {
			case <-ctx.Done():
				return
			case <-time.After(retry.NextBackOff()):
			}
			if conn, err = l.Dial(ctx); err != nil {
				if ctx.Err() != nil {
					return
				}
				l.Log.Warn("pgsession: listener reconnect failed", "err", err)
			}
		}
		retry.Reset()
		l.reconnects.Add(1)
		l.up()
	}
}

func (l *Listener) up() {
	l.OnUp() // the node drops its cache before it is told to trust it again
	l.healthy.Store(true)
	l.downSince.Store(0)
}

func (l *Listener) down(err error) {
	l.healthy.Store(false)
	l.downSince.Store(time.Now().UnixNano())
	l.OnDown(err)
	l.Log.Warn("pgsession: listener lost; reading through to the database", "err", err)
}

// serve waits for notifications, probing the connection when it is quiet.
// Any notification proves the connection alive and restarts the quiet
// period. That period is PingInterval less a random quarter of it: nodes
// that went quiet together would otherwise probe together for ever, each
// busy with its own echo while the others' heartbeats arrive, so an idle
// fleet of N nodes would send N heartbeats each period, every one waking
// all N listeners (found by bench's many-node workload, docs/SCALING.md).
// Spread out, the first heartbeat of a period restarts every other node's,
// and an idle fleet sends about one.
func (l *Listener) serve(ctx context.Context, conn *pgx.Conn) error {
	for {
		quiet := l.PingInterval - time.Duration(rand.Int64N(int64(l.PingInterval)/4+1))
		wait, cancel := context.WithTimeout(ctx, quiet)
		n, err := conn.WaitForNotification(wait)
		cancel()
		switch {
		case err == nil:
			l.handle(n.Payload, 0)
		case ctx.Err() != nil:
			return ctx.Err()
		case pgconn.Timeout(err):
			if err := l.probe(ctx, conn); err != nil {
				return err
			}
		default:
			return err
		}
	}
}

var errNoEcho = errors.New("heartbeat not echoed in time")

// probe sends a heartbeat through the connection and waits for its echo.
func (l *Listener) probe(ctx context.Context, conn *pgx.Conn) error {
	l.seq++
	ctx, cancel := context.WithTimeout(ctx, l.PingTimeout)
	defer cancel()
	payload := Encode(store.Event{Kind: store.EventHeartbeat, Instance: l.Instance, Seq: l.seq})[0]
	if _, err := conn.Exec(ctx, "SELECT pg_notify($1, $2)", l.Channel, payload); err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			if pgconn.Timeout(err) {
				return errNoEcho
			}
			return fmt.Errorf("heartbeat: %w", err)
		}
		if l.handle(n.Payload, l.seq) {
			if l.AfterHeartbeat != nil {
				l.AfterHeartbeat()
			}
			return nil
		}
	}
}

// handle passes an event on; it reports whether the payload was this
// listener's own heartbeat with sequence seq. Payloads it cannot read are
// logged and ignored (DESIGN L1): a foreign writer on the channel must not
// take the node down.
func (l *Listener) handle(payload string, seq uint64) bool {
	if !l.KeepOwn && l.ownAnnouncement(payload) {
		return false // this node has the copy already; no need to decode it
	}
	e, err := Decode(payload)
	if err != nil {
		l.Log.Warn("pgsession: ignoring notification", "channel", l.Channel, "err", err)
		return false
	}
	switch {
	case e.Kind == store.EventHeartbeat:
		return seq != 0 && e.Instance == l.Instance && e.Seq == seq
	case !l.KeepOwn && (e.Kind == store.EventUpdated || e.Kind == store.EventPushed || e.Kind == store.EventLogged) && e.Instance == l.Instance:
		return false // our own announcement: this node has the copy already
	}
	l.OnEvent(e)
	return false
}

// ownAnnouncement reports whether payload is an "u", "r" or "s" form this
// node sent: "1|<kind>|<instance>|...".
func (l *Listener) ownAnnouncement(payload string) bool {
	head := len(formatVersion) + 3 // "1|u|"
	if len(payload) <= head+len(l.Instance) || payload[:len(formatVersion)+1] != formatVersion+"|" || payload[head-1] != '|' {
		return false
	}
	kind := store.EventKind(payload[len(formatVersion)+1])
	return (kind == store.EventUpdated || kind == store.EventPushed || kind == store.EventLogged) &&
		payload[head:head+len(l.Instance)] == l.Instance && payload[head+len(l.Instance)] == '|'
}

func closeQuietly(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	conn.Close(ctx)
}
