package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The HTTP read path: the mixed workload's servers (setupPgsessionHTTP,
// setupSCSHTTP) serving nothing but GET /read, driven by a client lean
// enough that the servers, not the client, use up the CPUs. Each client
// goroutine logs in once through net/http, then, on keep-alive connections
// of its own, writes a prebuilt HTTP/1.1 request carrying its cookie and
// parses the response itself with a bufio.Reader: no net/http client on the
// timed path.

// readWarmup is the untimed reads each client sends on each of its
// connections before the clock starts: the connections are up and each
// node has the session cached.
const readWarmup = 20

// runHTTPRead measures the read path of both libraries, each client sticking
// to one node, then each read going to a node picked at random. The servers,
// Managers and pools it starts are released when it returns, so the parts
// after it have the database's connections to themselves; its schemas are
// dropped with the others at the end.
func runHTTPRead(ctx context.Context, e *env, s settings) (res []httpResult, err error) {
	own := &env{dsn: e.dsn, admin: e.admin}
	defer func() {
		for i := len(own.cleanups) - 1; i >= 0; i-- {
			err = errors.Join(err, own.cleanups[i]())
		}
		e.schemas = append(e.schemas, own.schemas...)
	}()
	targets, err := setupBoth(ctx, own)
	if err != nil {
		return nil, err
	}
	return eachVariant(targets, []bool{true, false}, func(t *target, sticky bool) (httpResult, error) {
		return driveReads(ctx, s, t, sticky)
	})
}

// readClient is one client goroutine's outcome.
type readClient struct {
	lat      []time.Duration
	errors   int64
	firstErr string
}

func (c *readClient) fail(err error) {
	c.errors++
	if c.firstErr == "" {
		c.firstErr = err.Error()
	}
}

// driveReads runs s.readClients clients against t's nodes for
// s.readDuration. With sticky, client c reads from node c%2 only; otherwise
// it holds a connection to each node and picks one at random per read.
func driveReads(ctx context.Context, s settings, t *target, sticky bool) (httpResult, error) {
	workload := "http read, random node"
	if sticky {
		workload = "http read, sticky node"
	}
	clients := s.readClients
	results := make([]readClient, clients)
	var done atomic.Int64
	var wg, setup sync.WaitGroup
	ready := make(chan struct{})
	var deadline time.Time // set before ready is closed
	// No request outlives the run by more than this: a server that stops
	// answering fails the run instead of hanging it.
	connDeadline := time.Now().Add(s.readDuration + 30*time.Second)
	// Client goroutines carry a profiler label, so a CPU profile of the run
	// tells the load generator (side=client) from the servers.
	labelled := pprof.WithLabels(ctx, pprof.Labels("side", "client"))
	setup.Add(clients)
	for c := range clients {
		wg.Go(func() {
			pprof.SetGoroutineLabels(labelled)
			res := &results[c]
			home := c % len(t.urls)
			conns, err := readSetup(ctx, t.urls, home, sticky, "reader-"+fmt.Sprint(c), connDeadline)
			setup.Done()
			defer func() {
				for _, rc := range conns {
					rc.close()
				}
			}()
			if err != nil {
				res.fail(err)
				return
			}
			<-ready
			rng := rand.New(rand.NewPCG(uint64(c), 7))
			res.lat = make([]time.Duration, 0, 1<<14)
			var body [512]byte
			t0 := time.Now()
			for n := 0; t0.Before(deadline); n++ {
				if n&63 == 0 && ctx.Err() != nil {
					return
				}
				rc := conns[0]
				if !sticky {
					rc = conns[rng.IntN(len(conns))]
				}
				err := rc.read(body[:])
				t1 := time.Now()
				if err != nil {
					res.fail(err)
					if rc.c == nil { // the connection is gone: dial again
						if err := rc.dial(connDeadline); err != nil {
							res.fail(err)
							return
						}
					}
				} else {
					res.lat = append(res.lat, t1.Sub(t0))
					if n&255 == 0 {
						done.Add(256)
					}
				}
				t0 = t1
			}
		})
	}
	setup.Wait()
	for i := range t.stmts.n {
		t.stmts.n[i].Store(0)
		t.reads.n[i].Store(0)
	}
	stopProfile, err := startReadProfile(s, t.lib, sticky)
	if err != nil {
		return httpResult{}, err
	}
	start := time.Now()
	deadline = start.Add(s.readDuration)
	close(ready)
	tick := time.NewTicker(200 * time.Millisecond)
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
loop:
	for {
		select {
		case <-finished:
			break loop
		case <-tick.C:
			progress("%s: %-13s %4.1fs/%.0fs  ~%d requests", workload, t.lib,
				time.Since(start).Seconds(), s.readDuration.Seconds(), done.Load())
		}
	}
	tick.Stop()
	elapsed := time.Since(start)
	// Background statements sent after the clock stopped are not counted.
	stmts, readStmts := t.stmts.total(), t.stmts.n[kindRead].Load()
	if err := stopProfile(); err != nil {
		return httpResult{}, err
	}
	if ctx.Err() != nil {
		return httpResult{}, ctx.Err()
	}

	res := httpResult{workload: workload, lib: t.lib}
	if v := t.firstErr.Load(); v != nil {
		res.firstErr = v.(string)
	}
	var all []time.Duration
	for _, r := range results {
		all = append(all, r.lat...)
		res.errors += r.errors
		if res.firstErr == "" {
			res.firstErr = r.firstErr
		}
	}
	res.requests, res.reads = int64(len(all)), int64(len(all))
	if len(all) == 0 {
		return res, errors.New("no read succeeded: " + res.firstErr)
	}
	slices.Sort(all)
	res.reqPerS = float64(len(all)) / elapsed.Seconds()
	res.p50, res.p99 = all[len(all)/2], all[min(len(all)-1, len(all)*99/100)]
	// Every statement the nodes' pools sent during the run is charged to the
	// reads: there is nothing else. For pgsession, what the requests did not
	// send themselves (last-access writes, listener pings) is background;
	// pgxstore's statements carry no request context, so for scs the count
	// of store calls made by read requests stands in for them.
	if t.reads == t.stmts {
		res.bgPer1kReads = float64(stmts-readStmts) * 1000 / float64(len(all))
	} else {
		readStmts = t.reads.n[kindRead].Load()
		res.bgPer1kReads = float64(max(stmts-readStmts, 0)) * 1000 / float64(len(all))
	}
	res.stmtsPer1kReads = float64(stmts) * 1000 / float64(len(all))
	res.stmtsPer1kReqAll = res.stmtsPer1kReads
	return res, nil
}

// startReadProfile starts a CPU profile of one run when -read-cpuprofile
// names a directory, and returns the function that ends it.
func startReadProfile(s settings, lib string, sticky bool) (func() error, error) {
	if s.readProfileDir == "" {
		return func() error { return nil }, nil
	}
	if err := os.MkdirAll(s.readProfileDir, 0o755); err != nil {
		return nil, err
	}
	variant := "random"
	if sticky {
		variant = "sticky"
	}
	name := strings.NewReplacer("+", "-").Replace(lib)
	f, err := os.Create(filepath.Join(s.readProfileDir, "read-"+name+"-"+variant+".pprof"))
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() error {
		pprof.StopCPUProfile()
		return f.Close()
	}, nil
}

// readSetup logs a client in on node home through net/http and opens its
// keep-alive connections, one to home if sticky, else one to each node, each
// warmed up with readWarmup reads.
func readSetup(ctx context.Context, urls []string, home int, sticky bool, user string, deadline time.Time) ([]*rawConn, error) {
	cookie, err := logIn(ctx, urls[home], user)
	if err != nil {
		return nil, err
	}
	nodes := []int{home}
	if !sticky {
		nodes = nodes[:0]
		for i := range urls {
			nodes = append(nodes, i)
		}
	}
	var conns []*rawConn
	var body [512]byte
	for _, i := range nodes {
		addr := strings.TrimPrefix(urls[i], "http://")
		rc := &rawConn{addr: addr,
			req: []byte("GET /read HTTP/1.1\r\nHost: " + addr + "\r\nCookie: " + cookie + "\r\n\r\n")}
		conns = append(conns, rc)
		if err := rc.dial(deadline); err != nil {
			return conns, err
		}
		for range readWarmup {
			if err := rc.read(body[:]); err != nil {
				return conns, fmt.Errorf("warm-up: %w", err)
			}
		}
	}
	return conns, nil
}

// logIn logs user in with an ordinary net/http request and returns the
// session cookie as a Cookie header's value.
func logIn(ctx context.Context, url, user string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/login?user="+user, nil)
	if err != nil {
		return "", err
	}
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return "", fmt.Errorf("log in: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("log in: status %d: %s", resp.StatusCode, body)
	}
	for _, c := range resp.Cookies() {
		if c.Name == "session" && c.Value != "" {
			return c.Name + "=" + c.Value, nil
		}
	}
	return "", errors.New("log in: no session cookie in the response")
}

// rawConn is one keep-alive HTTP/1.1 connection and the request it sends.
type rawConn struct {
	addr string
	req  []byte
	c    net.Conn // nil after an error that leaves the stream unusable
	br   *bufio.Reader
}

// dial (re)opens the connection; every read and write on it must finish by
// deadline.
func (rc *rawConn) dial(deadline time.Time) error {
	rc.close()
	c, err := net.DialTimeout("tcp", rc.addr, 5*time.Second)
	if err != nil {
		return err
	}
	if err := c.SetDeadline(deadline); err != nil {
		c.Close()
		return err
	}
	rc.c = c
	if rc.br == nil {
		rc.br = bufio.NewReaderSize(c, 4096)
	} else {
		rc.br.Reset(c)
	}
	return nil
}

func (rc *rawConn) close() {
	if rc.c != nil {
		rc.c.Close()
		rc.c = nil
	}
}

// read sends the request and reads the response into buf; anything but a
// 200 whose body is the session value is an error. After an error that
// leaves the connection unusable, rc.c is nil.
func (rc *rawConn) read(buf []byte) error {
	if rc.c == nil {
		return errors.New("not connected")
	}
	if _, err := rc.c.Write(rc.req); err != nil {
		rc.close()
		return err
	}
	status, body, keep, err := readResponse(rc.br, buf)
	if err != nil || !keep {
		rc.close()
	}
	switch {
	case err != nil:
		return err
	case status != http.StatusOK:
		return fmt.Errorf("GET /read: status %d: %.80q", status, body)
	case string(body) != sessionValue:
		return fmt.Errorf("GET /read: body %.80q, want %q", body, sessionValue)
	}
	return nil
}

// readResponse parses one HTTP/1.x response: status line, headers, and a
// body of Content-Length bytes (read into buf, which it must fit). keep
// reports whether the connection can carry another request.
func readResponse(br *bufio.Reader, buf []byte) (status int, body []byte, keep bool, err error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return 0, nil, false, fmt.Errorf("status line: %w", err)
	}
	// "HTTP/1.1 200 OK\r\n"
	if len(line) < 13 || string(line[:7]) != "HTTP/1." || line[8] != ' ' || line[12] != ' ' && line[12] != '\r' {
		return 0, nil, false, fmt.Errorf("bad status line %.40q", line)
	}
	status, ok := digits(line[9:12])
	if !ok {
		return 0, nil, false, fmt.Errorf("bad status line %.40q", line)
	}
	keep = line[7] == '1'
	length := -1
	for {
		line, err = br.ReadSlice('\n')
		if err != nil {
			return 0, nil, false, fmt.Errorf("headers: %w", err)
		}
		if len(line) == 1 || len(line) == 2 && line[0] == '\r' {
			break // the blank line ending the headers
		}
		colon := slices.Index(line, ':')
		if colon <= 0 {
			return 0, nil, false, fmt.Errorf("bad header line %.40q", line)
		}
		name, value := line[:colon], trimSpace(line[colon+1:])
		switch {
		case headerIs(name, "Content-Length"):
			n, ok := digits(value)
			if !ok {
				return 0, nil, false, fmt.Errorf("bad Content-Length %.40q", value)
			}
			length = n
		case headerIs(name, "Transfer-Encoding"):
			return 0, nil, false, fmt.Errorf("unexpected Transfer-Encoding %.40q", value)
		case headerIs(name, "Connection") && headerIs(value, "close"):
			keep = false
		}
	}
	switch {
	case length < 0:
		return 0, nil, false, errors.New("response without Content-Length")
	case length > len(buf):
		if _, err := br.Discard(length); err != nil {
			return 0, nil, false, err
		}
		return status, nil, keep, fmt.Errorf("status %d with a body of %d bytes", status, length)
	}
	if _, err := io.ReadFull(br, buf[:length]); err != nil {
		return 0, nil, false, fmt.Errorf("body: %w", err)
	}
	return status, buf[:length], keep, nil
}

// digits parses a non-empty run of decimal digits (at most 9).
func digits(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 9 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\r' || b[len(b)-1] == '\n') {
		b = b[:len(b)-1]
	}
	return b
}

// headerIs compares an ASCII header name (or token) with want, ignoring case.
func headerIs(b []byte, want string) bool {
	if len(b) != len(want) {
		return false
	}
	for i := range len(b) {
		if lower(b[i]) != lower(want[i]) {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// readTable is the read path's table.
func (r *report) readTable() table {
	t := table{
		title: fmt.Sprintf("HTTP read path (2 nodes, %d clients, %s per run: GET reading one session value, raw keep-alive HTTP/1.1 client)",
			r.settings.readClients, r.settings.readDuration),
		header: []string{"workload", "library", "req/s", "p50", "p99", "stmts/1k reads", "of which background",
			"requests", "errors", "req/s vs scs", "note"},
	}
	for _, h := range r.httpRead {
		vs := reqPerSVsSCS(r.httpRead, h)
		note := ""
		if h.errors > 0 {
			first := []rune(strings.ReplaceAll(h.firstErr, "|", "/"))
			note = "first error: " + string(first[:min(len(first), 60)])
		}
		t.rows = append(t.rows, []string{h.workload, h.lib, fmt.Sprintf("%.0f", h.reqPerS), ms(h.p50), ms(h.p99),
			fmt.Sprintf("%.1f", h.stmtsPer1kReads), fmt.Sprintf("%.1f", h.bgPer1kReads),
			fmt.Sprint(h.requests), fmt.Sprint(h.errors), vs, note})
	}
	return t
}

// readHow is the read path's paragraph of "How it is measured".
func (r *report) readHow() string {
	return `- **HTTP read path.** The same two nodes per library (fresh ones, on fresh schemas) serve only
  the GET of the mixed workload, which reads one session value. The load generator is lean, so
  that the servers rather than the client use up the CPUs: each of the ` + fmt.Sprint(r.settings.readClients) + ` client goroutines
  per library logs in once through an ordinary net/http request, then holds a keep-alive TCP
  connection of its own, writes a prebuilt HTTP/1.1 request carrying its cookie and parses the
  response itself (status line, headers, Content-Length body) with a bufio.Reader; a response
  counts only if it is a 200 whose body is the value, anything else is an error. "sticky node":
  each client reads from one node only (affinity); "random node": each client holds a connection
  to both nodes and sends each read to one picked at random. Each connection first sends ` + fmt.Sprint(readWarmup) + `
  untimed reads, so both nodes have the session cached. stmts/1k reads is every statement the
  nodes' pools sent during the run, background work (last-access writes, listener pings)
  included, per 1,000 reads. pgsession's nodes run with CacheMaxAge 1 s (the default is a
  minute), so every run outlasts it and the count includes the reloads of sessions older than
  it, the steady state of sessions that live for hours. The default client count (` + "`-read-clients`" + `, 64) saturates both
  servers on a 2-core machine: measured with 4 to 128 clients, pgsession's req/s grows up to about
  64 and scs+pgxstore's levels off from 16. Closed-loop clients at saturation mostly queue, so
  p50 is about clients / req/s. The issue's targets for this path: req/s at least 3x
  scs+pgxstore's, at most 5 statements per 1,000 reads.`
}
