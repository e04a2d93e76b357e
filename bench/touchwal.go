package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/jackc/pgx/v5"
)

// touchResult is what a read-only HTTP workload wrote: statements and WAL.
type touchResult struct {
	workload, lib string
	note          string
	requests      int64
	errors        int64
	firstErr      string
	reqPerS       float64
	stmts         int64 // every statement the nodes sent, background work included
	bgStmts       int64 // of which background work (pgsession's last-access writes)
	walBytes      int64 // pg_current_wal_lsn() after minus before, server-wide
	rowsWritten   int64 // sessions whose row the window wrote; -1 if not counted
	checkpoint    bool  // a CHECKPOINT ran just before the window
}

// touchSessions is how many sessions the read-only workload reads.
func (s settings) touchSessions() int {
	if s.quick {
		return 1_000
	}
	return 10_000
}

// touchWindow is how long each library's read-only window lasts.
func (s settings) touchWindow() time.Duration {
	if s.quick {
		return s.duration / 4
	}
	return s.duration / 2
}

// runTouchWAL measures the writes of a read-only HTTP workload: pgsession
// (whose reads record last access, written in batches), scs+pgxstore as
// configured in the HTTP workload (reads write nothing), and scs+pgxstore
// with an idle timeout, its way of keeping idle expiry (every read saves the
// session to move its deadline).
func runTouchWAL(ctx context.Context, e *env, s settings) ([]touchResult, error) {
	var res []touchResult
	// Each library's servers, pools and schema go when it is done.
	mark := e.mark()
	pgs, err := setupPgsessionHTTP(ctx, e)
	if err != nil {
		return nil, fmt.Errorf("pgsession: %w", err)
	}
	idle := pgs.nodes[0].Config().IdleTimeout
	r, err := measureTouchWAL(ctx, e, s, pgs, "read only", func(ctx context.Context) error {
		// Sessions last seen long enough ago (10 minutes past the
		// granularity) that a read must write the time again: users coming
		// back, not ones whose log-in was just written.
		table := pgx.Identifier{pgs.schema, "pgsession_sessions"}.Sanitize()
		back := pgs.nodes[0].Config().TouchGranularity + 10*time.Minute
		if _, err := e.admin.Exec(ctx, "UPDATE "+table+" SET last_seen_at = now() - $1::interval", back); err != nil {
			return err
		}
		_, err := e.admin.Exec(ctx, "VACUUM "+table)
		return err
	}, func(ctx context.Context, t0 time.Time) (int64, error) {
		// Close flushes the last-access times still pending.
		for _, m := range pgs.nodes {
			if err := m.Close(ctx); err != nil {
				return 0, err
			}
		}
		var n int64
		err := e.admin.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{pgs.schema, "pgsession_sessions"}.Sanitize()+
			" WHERE last_seen_at >= $1", t0).Scan(&n)
		return n, err
	})
	if err != nil {
		return nil, fmt.Errorf("pgsession: %w", err)
	}
	r.note = "last access written in batches, at most once per session per TouchGranularity"
	res = append(res, r)
	if err := e.release(mark); err != nil {
		return nil, err
	}
	for _, idleTimeout := range []time.Duration{0, idle} {
		sc, err := setupSCSHTTP(ctx, e, func(sm *scs.SessionManager) { sm.IdleTimeout = idleTimeout })
		if err != nil {
			return nil, fmt.Errorf("scs: %w", err)
		}
		workload, note := "read only", "no IdleTimeout: a read saves nothing"
		if idleTimeout > 0 {
			h := strings.TrimSuffix(strings.TrimSuffix(idleTimeout.String(), "0s"), "0m") // 2h0m0s: 2h
			workload, note = "read only, IdleTimeout "+h, "every read saves the session (its new idle deadline)"
		}
		r, err := measureTouchWAL(ctx, e, s, sc, workload, nil, nil)
		if err != nil {
			return nil, fmt.Errorf("scs: %w", err)
		}
		r.note = note
		res = append(res, r)
		if err := e.release(mark); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// measureTouchWAL logs in s.touchSessions() sessions on t's nodes, runs
// prepare, then reads them for s.touchWindow() and reports the statements
// and WAL of the window. finish runs after the window, before the final
// LSN is read (pgsession flushes its touches there), and returns the rows
// the window wrote.
func measureTouchWAL(ctx context.Context, e *env, s settings, t *target, workload string,
	prepare func(context.Context) error,
	finish func(context.Context, time.Time) (int64, error)) (touchResult, error) {
	res := touchResult{workload: workload, lib: t.lib, rowsWritten: -1}
	tr := &http.Transport{MaxIdleConnsPerHost: 2 * s.clients, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	cookies, err := logInMany(ctx, client, t.urls, s.touchSessions(), s.clients, t.lib)
	if err != nil {
		return res, err
	}
	if prepare != nil {
		if err := prepare(ctx); err != nil {
			return res, err
		}
	}
	// Every page's first change after a checkpoint is logged whole, so
	// start from one: the same state for every library, the worst case.
	_, err = e.admin.Exec(ctx, "CHECKPOINT")
	res.checkpoint = err == nil
	var lsn0 string
	var t0 time.Time
	if err := e.admin.QueryRow(ctx, "SELECT pg_current_wal_lsn()::text, now()").Scan(&lsn0, &t0); err != nil {
		return res, err
	}
	for i := range t.stmts.n {
		t.stmts.n[i].Store(0)
	}
	if err := readOnly(ctx, client, t.urls, cookies, s.clients, s.touchWindow(), t.lib, &res); err != nil {
		return res, err
	}
	if finish != nil {
		if res.rowsWritten, err = finish(ctx, t0); err != nil {
			return res, err
		}
	}
	res.stmts = t.stmts.total()
	if t.reads == t.stmts { // pgsession; pgxstore sends everything without the request's context
		res.bgStmts = t.stmts.n[kindBackground].Load()
	}
	if err := e.admin.QueryRow(ctx, "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::bigint", lsn0).Scan(&res.walBytes); err != nil {
		return res, err
	}
	if v := t.firstErr.Load(); v != nil && res.firstErr == "" {
		res.firstErr = v.(string)
	}
	return res, nil
}

// logInMany starts n sessions through the nodes' /login endpoint, clients
// at a time, and returns each one's cookie as a Cookie header value.
func logInMany(ctx context.Context, client *http.Client, urls []string, n, clients int, lib string) ([]string, error) {
	cookies := make([]string, n)
	var next, done atomic.Int64
	errs := make([]error, clients)
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, urls[i%len(urls)]+"/login?user=reader-"+strconv.Itoa(i), nil)
				if err != nil {
					errs[c] = err
					return
				}
				resp, err := client.Do(req)
				if err != nil {
					errs[c] = err
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				cs := resp.Cookies()
				if resp.StatusCode != http.StatusOK || len(cs) == 0 {
					errs[c] = fmt.Errorf("log in: status %d, %d cookies", resp.StatusCode, len(cs))
					return
				}
				last := cs[len(cs)-1] // the one the response ends with: the newest version
				cookies[i] = last.Name + "=" + last.Value
				if d := done.Add(1); d%500 == 0 {
					progress("touch writes: %s: logging in %d sessions: %d", lib, n, d)
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(append(errs, ctx.Err())...); err != nil {
		return nil, err
	}
	return cookies, nil
}

// readOnly sends GET /read for d: client c reads the sessions c, c+clients,
// ... in turn, each from a node picked at random, and checks each answer.
func readOnly(ctx context.Context, client *http.Client, urls, cookies []string, clients int, d time.Duration,
	lib string, res *touchResult) error {
	type clientResult struct {
		requests, errors int64
		firstErr         string
	}
	results := make([]clientResult, clients)
	var total atomic.Int64
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			r := &results[c]
			rng := rand.New(rand.NewPCG(uint64(c), 7))
			for i := c; time.Now().Before(deadline) && ctx.Err() == nil; i += clients {
				err := readOne(ctx, client, urls[rng.IntN(len(urls))], cookies[i%len(cookies)])
				if err != nil {
					r.errors++
					if r.firstErr == "" {
						r.firstErr = err.Error()
					}
					continue
				}
				r.requests++
				if n := total.Add(1); n%2000 == 0 {
					progress("touch writes: %s: %.1fs/%.0fs  %d reads", lib, time.Since(start).Seconds(), d.Seconds(), n)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, r := range results {
		res.requests += r.requests
		res.errors += r.errors
		if res.firstErr == "" {
			res.firstErr = r.firstErr
		}
	}
	if res.requests == 0 {
		return errors.New("no read succeeded: " + res.firstErr)
	}
	res.reqPerS = float64(res.requests) / elapsed.Seconds()
	return nil
}

// readOne sends one GET /read with cookie and checks that it found the session.
func readOne(ctx context.Context, client *http.Client, url, cookie string) error {
	status, body, err := fetch(ctx, client, http.MethodGet, url+"/read", cookie)
	if err != nil {
		return err
	}
	if status != http.StatusOK || string(body) != sessionValue {
		return fmt.Errorf("GET /read: status %d, body %q, want %q", status, body, sessionValue)
	}
	return nil
}

// touchTable is the terminal and Markdown table of runTouchWAL's results.
func touchTable(res []touchResult, s settings) table {
	t := table{
		title: fmt.Sprintf("Writes of a read-only HTTP workload (2 nodes, %d clients, %d sessions read in turn, %s per library)",
			s.clients, s.touchSessions(), s.touchWindow()),
		header: []string{"workload", "library", "req/s", "requests", "errors", "stmts/1k req", "of which background", "WAL bytes/1k req",
			"rows written", "WAL bytes/row written", "note"},
	}
	for _, r := range res {
		per1k := func(v int64) string { return fmt.Sprintf("%.0f", float64(v)*1000/float64(max(r.requests, 1))) }
		rows, perRow := "-", "-"
		if r.rowsWritten >= 0 {
			rows = fmt.Sprint(r.rowsWritten)
			if r.rowsWritten > 0 {
				perRow = fmt.Sprintf("%.0f", float64(r.walBytes)/float64(r.rowsWritten))
			}
		}
		note := r.note
		if r.errors > 0 {
			note += "; first error: " + clip(r.firstErr, 100)
		}
		if !r.checkpoint {
			note += "; no CHECKPOINT before the window (not permitted)"
		}
		t.rows = append(t.rows, []string{r.workload, r.lib, fmt.Sprintf("%.0f", r.reqPerS), fmt.Sprint(r.requests),
			fmt.Sprint(r.errors), fmt.Sprintf("%.1f", float64(r.stmts)*1000/float64(max(r.requests, 1))),
			fmt.Sprintf("%.1f", float64(r.bgStmts)*1000/float64(max(r.requests, 1))),
			per1k(r.walBytes), rows, perRow, note})
	}
	return t
}

// touchHow is the "How it is measured" entry of runTouchWAL.
const touchHow = `- **Writes of a read-only workload.** The HTTP workload's servers (two nodes per library, fresh
  schemas) and N sessions logged in through them; then, for a fixed window, only GET requests
  reading a session value, each client reading its share of the sessions in turn, each request to
  a node picked at random. pgsession's sessions are first marked last seen 10 minutes longer ago
  than ` + "`TouchGranularity`" + ` (users coming back: a read must write the last-access time, where a
  session written within the granularity would not be written again). scs+pgxstore runs as in the HTTP
  workload (no ` + "`IdleTimeout`" + `: a read saves nothing) and with ` + "`IdleTimeout`" + ` set to pgsession's
  idle timeout, scs's way of expiring idle sessions (each request then saves the session). Just
  before each window, a ` + "`CHECKPOINT`" + `: each page's first change in the window then carries a
  full-page image, for every library alike (the worst case). WAL bytes is ` + "`pg_current_wal_lsn()`" + `
  after minus before, read once pgsession's nodes are closed (` + "`Close`" + ` flushes the pending
  last-access writes); it counts the whole server's WAL, so the scs row without ` + "`IdleTimeout`" + `,
  which writes nothing, shows the background. stmts counts every statement the nodes' pools sent,
  background work included (for pgsession, "of which background" are its batched last-access
  writes; the rest are the first read of each session on the node that did not log it in). rows
  written is, for pgsession, the sessions whose last_seen_at the window moved.
`

// clip shortens s to at most n bytes.
func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
