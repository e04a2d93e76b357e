package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
)

// The read path beside a bare handler: what the session layer costs a
// server that is busy serving. The "bare" nodes run the same router and
// answer GET /read with the same body, with no session at all; the
// pgsession nodes read it from the cached session through httpsession. The
// two take turns in short rounds, so a change in the machine's load falls
// on both; req/s is summed over the rounds. The target: at least
// 0.90 of the bare handler's req/s, with 32 keep-alive connections.

const (
	libBare      = "bare handler"
	bareClients  = 32
	bareRounds   = 6
	bareWorkload = "http read, sticky node"
)

// bareResult is the pair of one run.
type bareResult struct {
	bare, pgs httpResult
}

// ofBare is pgsession's req/s as a fraction of the bare handler's.
func (b *bareResult) ofBare() float64 {
	if b.bare.reqPerS == 0 {
		return 0
	}
	return b.pgs.reqPerS / b.bare.reqPerS
}

func runHTTPReadVsBare(ctx context.Context, e *env, s settings) (res *bareResult, err error) {
	own := &env{dsn: e.dsn, admin: e.admin}
	defer func() {
		for i := len(own.cleanups) - 1; i >= 0; i-- {
			err = errors.Join(err, own.cleanups[i]())
		}
		e.schemas = append(e.schemas, own.schemas...)
	}()
	pgs, err := setupPgsessionHTTP(ctx, own)
	if err != nil {
		return nil, fmt.Errorf("pgsession: %w", err)
	}
	bare, err := setupBareHTTP(own)
	if err != nil {
		return nil, fmt.Errorf("bare: %w", err)
	}
	round := s
	round.readClients = bareClients
	round.readDuration = s.readDuration / bareRounds
	var sums [2]roundSum
	for i := range bareRounds {
		order := []int{0, 1}
		if i%2 == 1 {
			order = []int{1, 0}
		}
		if i > 0 {
			round.readProfileDir = "" // a profile of the first round only
		}
		for _, k := range order {
			t := []*target{bare, pgs}[k]
			r, err := driveReads(ctx, round, t, true)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", t.lib, err)
			}
			sums[k].add(r)
		}
	}
	return &bareResult{bare: sums[0].result(libBare), pgs: sums[1].result(libPgsession)}, nil
}

// roundSum adds up one side's rounds.
type roundSum struct {
	requests, errors int64
	seconds          float64
	p50s, p99s       []time.Duration
	firstErr         string
}

func (s *roundSum) add(r httpResult) {
	s.requests += r.requests
	s.errors += r.errors
	if r.reqPerS > 0 {
		s.seconds += float64(r.requests) / r.reqPerS
	}
	s.p50s = append(s.p50s, r.p50)
	s.p99s = append(s.p99s, r.p99)
	if s.firstErr == "" {
		s.firstErr = r.firstErr
	}
}

// result is the rounds as one run: req/s over their summed time, and the
// median round's p50 and p99.
func (s *roundSum) result(lib string) httpResult {
	r := httpResult{workload: bareWorkload, lib: lib, requests: s.requests, reads: s.requests,
		errors: s.errors, firstErr: s.firstErr}
	if s.seconds > 0 {
		r.reqPerS = float64(s.requests) / s.seconds
	}
	slices.Sort(s.p50s)
	slices.Sort(s.p99s)
	if n := len(s.p50s); n > 0 {
		r.p50, r.p99 = s.p50s[n/2], s.p99s[n/2]
	}
	return r
}

// setupBareHTTP starts two nodes whose GET /read answers the session value
// with no session behind it; log-in only sets a cookie, as long as a
// session token, so the read client's set-up works unchanged and both
// sides parse requests of the same size.
func setupBareHTTP(e *env) (*target, error) {
	stmts := &stmtCounter{}
	t := &target{lib: libBare, stmts: stmts, reads: stmts}
	h := nodeHandlers{
		read: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", textPlain)
			io.WriteString(w, sessionValue)
		}),
		login: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.SetCookie(w, &http.Cookie{Name: "session", Value: bareCookie})
		}),
		write:  http.NotFoundHandler(),
		logout: http.NotFoundHandler(),
	}
	for range 2 {
		u, err := serve(e, router(h))
		if err != nil {
			return nil, err
		}
		t.urls = append(t.urls, u)
	}
	return t, nil
}

// bareCookie is as long as a session token in httpsession's cookie.
var bareCookie = strings.Repeat("b", 98)

// bareTable is the pair's table.
func (r *report) bareTable() table {
	b := r.bare
	t := table{
		title: fmt.Sprintf("HTTP read beside a bare handler (2 nodes, %d keep-alive clients, %d alternating rounds of %s each)",
			bareClients, bareRounds, (r.settings.readDuration / bareRounds).Round(time.Millisecond)),
		header: []string{"workload", "library", "req/s", "p50", "p99", "requests", "errors", "req/s of bare", "target"},
	}
	for _, h := range []httpResult{b.bare, b.pgs} {
		of, target := "-", "-"
		if h.lib == libPgsession {
			of, target = fmt.Sprintf("%.2f", b.ofBare()), ">= 0.90"
		}
		t.rows = append(t.rows, []string{h.workload, h.lib, fmt.Sprintf("%.0f", h.reqPerS), ms(h.p50), ms(h.p99),
			fmt.Sprint(h.requests), fmt.Sprint(h.errors), of, target})
	}
	return t
}

// bareHow is the pair's paragraph of "How it is measured".
const bareHow = `
- **HTTP read beside a bare handler.** The read path's client, with 32 keep-alive connections,
  against two kinds of nodes started side by side: pgsession's (httpsession, a cached session,
  a handler that decodes one value) and bare net/http nodes behind the same router whose handler
  writes the same body with no session at all. The two take turns in short rounds, in
  alternating order, so the machine's changing load falls on both; req/s is each side's
  requests over its summed time. "req/s of bare" is what the session layer leaves of a server's
  throughput when the CPUs are the limit (client and servers share this machine's cores).`
