package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alexedwards/scs/pgxstore"
	"github.com/alexedwards/scs/v2"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/httpsession"
	"github.com/pgsession/pgsession/token"
)

// httpResult is the HTTP workload of one library.
type httpResult struct {
	workload, lib    string
	requests, reads  int64
	errors           int64
	firstErr         string
	reqPerS          float64
	p50, p99         time.Duration
	stmtsPer1kReads  float64 // statements of read requests, plus all background work
	bgPer1kReads     float64 // of which background work
	stmtsPer1kReqAll float64 // every statement of the run
}

// nodeHandlers are the four endpoints of one node.
type nodeHandlers struct {
	read, write, login, logout http.Handler
}

// router marks each request's context with its kind (for the statement
// counts) and sends it to its endpoint.
func router(h nodeHandlers) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/read":
			h.read.ServeHTTP(w, r.WithContext(withKind(r.Context(), kindRead)))
		case "/write":
			h.write.ServeHTTP(w, r.WithContext(withKind(r.Context(), kindWrite)))
		case "/login":
			h.login.ServeHTTP(w, r.WithContext(withKind(r.Context(), kindAuth)))
		case "/logout":
			h.logout.ServeHTTP(w, r.WithContext(withKind(r.Context(), kindAuth)))
		default:
			http.NotFound(w, r)
		}
	})
}

// serve starts an http.Server for h on a free port of 127.0.0.1.
func serve(e *env, h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	e.defer_(func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(ctx)
	})
	return "http://" + ln.Addr().String(), nil
}

const sessionValue = "ada"

// benchCacheMaxAge is the HTTP nodes' CacheMaxAge (see setupPgsessionHTTP).
const benchCacheMaxAge = time.Second

// textPlain is the read handlers' Content-Type, set as an application
// would (unset, net/http sniffs the body for one).
const textPlain = "text/plain; charset=utf-8"

func runHTTP(ctx context.Context, e *env, s settings) ([]httpResult, error) {
	targets, err := setupBoth(ctx, e)
	if err != nil {
		return nil, err
	}
	return eachVariant(targets, []bool{false, true}, func(t *target, sticky bool) (httpResult, error) {
		return drive(ctx, s, t, sticky)
	})
}

// setupBoth starts the two nodes of each library, pgsession first.
func setupBoth(ctx context.Context, e *env) ([]*target, error) {
	pgs, err := setupPgsessionHTTP(ctx, e)
	if err != nil {
		return nil, fmt.Errorf("pgsession: %w", err)
	}
	sc, err := setupSCSHTTP(ctx, e)
	if err != nil {
		return nil, fmt.Errorf("scs: %w", err)
	}
	return []*target{pgs, sc}, nil
}

// eachVariant runs one workload for every routing (sticky or not, in the
// order given) on each target, the targets one after the other.
func eachVariant(targets []*target, routings []bool, run func(t *target, sticky bool) (httpResult, error)) ([]httpResult, error) {
	var res []httpResult
	for _, sticky := range routings {
		for _, t := range targets {
			r, err := run(t, sticky)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", t.lib, err)
			}
			res = append(res, r)
		}
	}
	return res, nil
}

// target is one library's two nodes, ready for a workload.
type target struct {
	lib      string
	urls     []string
	stmts    *stmtCounter // every statement the nodes' pools send
	reads    *stmtCounter // statements (or store calls) by kind of request
	firstErr atomic.Value // the first error a node reported

	// pgsession only: the nodes' schema and Managers.
	schema string
	nodes  []*pgsession.Manager
	// Optional: drive calls started when its timed window opens, and ends
	// the window early once stop is closed (requests in flight complete).
	started func()
	stop    <-chan struct{}
}

// runPgsessionHTTP: two Managers (nodes) on one schema, each with a pool of
// its own, behind httpsession on a server of its own.
func setupPgsessionHTTP(ctx context.Context, e *env) (*target, error) {
	progress("http workload: setting up pgsession")
	schema, err := e.schema(ctx, "http_pgs")
	if err != nil {
		return nil, err
	}
	key, err := token.GenerateKey("bench")
	if err != nil {
		return nil, err
	}
	keys, err := token.NewRing(key)
	if err != nil {
		return nil, err
	}
	stmts := &stmtCounter{}
	t := &target{lib: libPgsession, stmts: stmts, reads: stmts, schema: schema}
	for _, node := range []string{"a", "b"} {
		pool, err := e.pool(ctx, "", stmts, 8)
		if err != nil {
			return nil, err
		}
		// A short CacheMaxAge: the runs last longer than it, so the reads
		// include the reloads of sessions older than it, as in production,
		// where sessions live for hours (the default is a minute).
		m, err := pgsession.New(ctx, pool, pgsession.Config{Schema: schema, NodeID: node, CacheMaxAge: benchCacheMaxAge})
		if err != nil {
			return nil, err
		}
		e.defer_(func() error { return m.Close(context.Background()) })
		t.nodes = append(t.nodes, m)
		mw, err := httpsession.New(httpsession.Config{
			Manager: m, Keys: keys,
			Cookie:  httpsession.CookieConfig{Insecure: true}, // plain HTTP on 127.0.0.1
			OnError: func(r *http.Request, err error) { t.firstErr.CompareAndSwap(nil, err.Error()) },
		})
		if err != nil {
			return nil, err
		}
		h := nodeHandlers{
			read: mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var v string
				if ss := mw.Session(r); ss != nil {
					// Attr decodes once per cached snapshot, not per request.
					v, _ = pgsession.Attr[string](ss, "name")
				}
				w.Header().Set("Content-Type", textPlain)
				io.WriteString(w, v)
			})),
			write: mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mw.Set(r, "n", r.URL.Query().Get("n"))
			})),
			login: mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if _, err := mw.LogIn(r, r.URL.Query().Get("user")); err != nil {
					http.Error(w, err.Error(), http.StatusInternalServerError)
					return
				}
				mw.Set(r, "name", sessionValue)
			})),
			logout: mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if err := mw.LogOut(r); err != nil {
					http.Error(w, err.Error(), http.StatusInternalServerError)
				}
			})),
		}
		u, err := serve(e, router(h))
		if err != nil {
			return nil, err
		}
		t.urls = append(t.urls, u)
		if err := waitListening(ctx, m); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// waitListening waits until m caches (its listener is up).
func waitListening(ctx context.Context, m *pgsession.Manager) error {
	ss, err := m.Create(ctx, "", nil)
	if err != nil {
		return err
	}
	defer m.Delete(ctx, ss.ID())
	return waitCacheHit(ctx, m, ss.Token())
}

// countingStore is pgxstore as scs sees it, counting its calls by the kind
// of request (pgxstore sends one statement per call, without the request's
// context, so the pool's tracer cannot tell the kinds apart).
type countingStore struct {
	*pgxstore.PostgresStore
	calls *stmtCounter
}

func (s countingStore) FindCtx(ctx context.Context, tok string) ([]byte, bool, error) {
	s.calls.add(ctx)
	return s.Find(tok)
}

func (s countingStore) CommitCtx(ctx context.Context, tok string, b []byte, expiry time.Time) error {
	s.calls.add(ctx)
	return s.Commit(tok, b, expiry)
}

func (s countingStore) DeleteCtx(ctx context.Context, tok string) error {
	s.calls.add(ctx)
	return s.Delete(tok)
}

// runSCSHTTP: two scs SessionManagers (nodes) on one pgxstore, each behind
// its own server.
func setupSCSHTTP(ctx context.Context, e *env, configure ...func(*scs.SessionManager)) (*target, error) {
	progress("http workload: setting up scs+pgxstore")
	stmts := &stmtCounter{}
	store, err := newPgxstore(ctx, e, stmts, 16) // as many connections as the two pgsession nodes
	if err != nil {
		return nil, err
	}
	calls := &stmtCounter{}
	t := &target{lib: libSCS, stmts: stmts, reads: calls}
	for range 2 {
		sm := scs.New()
		sm.Store = countingStore{store, calls}
		for _, f := range configure {
			f(sm)
		}
		sm.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
			t.firstErr.CompareAndSwap(nil, err.Error())
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
		h := nodeHandlers{
			read: sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", textPlain)
				io.WriteString(w, sm.GetString(r.Context(), "name"))
			})),
			write: sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				sm.Put(r.Context(), "n", r.URL.Query().Get("n"))
			})),
			login: sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if err := sm.RenewToken(r.Context()); err != nil {
					http.Error(w, err.Error(), http.StatusInternalServerError)
					return
				}
				sm.Put(r.Context(), "user", r.URL.Query().Get("user"))
				sm.Put(r.Context(), "name", sessionValue)
			})),
			logout: sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if err := sm.Destroy(r.Context()); err != nil {
					http.Error(w, err.Error(), http.StatusInternalServerError)
				}
			})),
		}
		u, err := serve(e, router(h))
		if err != nil {
			return nil, err
		}
		t.urls = append(t.urls, u)
	}
	return t, nil
}

// drive runs the clients against t's nodes for s.duration: each client has
// its own cookie jar, logs in once, then sends requests one at a time, each
// to a node picked at random (or, if sticky, always to the same node): 90%
// reads, 9% writes, 1% log out and log in.
func drive(ctx context.Context, s settings, t *target, sticky bool) (httpResult, error) {
	lib, urls, stmts := t.lib, t.urls, t.stmts
	workload := "http, random node"
	if sticky {
		workload = "http, sticky node"
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 2 * s.clients, DisableCompression: true}
	defer tr.CloseIdleConnections()
	type clientResult struct {
		lat      []time.Duration
		reads    int64
		errors   int64
		firstErr string
	}
	results := make([]clientResult, s.clients)
	var done atomic.Int64
	var start time.Time
	var wg sync.WaitGroup
	ready := make(chan struct{})
	var setup sync.WaitGroup
	setup.Add(s.clients)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var deadline time.Time
	var stopped atomic.Bool // t.stop was closed
	for c := range s.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := &results[c]
			jar, _ := cookiejar.New(nil)
			client := &http.Client{Transport: tr, Jar: jar, Timeout: 10 * time.Second}
			rng := rand.New(rand.NewPCG(uint64(c), 42))
			user := "user-" + strconv.Itoa(c)
			do := func(method, path string, wantBody bool) error {
				node := rng.IntN(len(urls))
				if sticky {
					node = c % len(urls)
				}
				status, body, err := fetch(runCtx, client, method, urls[node]+path, "")
				if err != nil {
					return err
				}
				if status != http.StatusOK {
					return fmt.Errorf("%s %s: status %d: %s", method, path, status, body)
				}
				if wantBody && string(body) != sessionValue {
					return fmt.Errorf("%s %s: body %q, want %q", method, path, body, sessionValue)
				}
				return nil
			}
			fail := func(err error) {
				if runCtx.Err() != nil {
					return // the run is over
				}
				res.errors++
				if res.firstErr == "" {
					res.firstErr = err.Error()
				}
			}
			loginErr := do(http.MethodPost, "/login?user="+user, false)
			setup.Done()
			if loginErr != nil {
				fail(loginErr)
				return
			}
			<-ready
			res.lat = make([]time.Duration, 0, 1<<14)
			for n := 0; time.Now().Before(deadline) && runCtx.Err() == nil && !stopped.Load(); n++ {
				p := rng.IntN(1000)
				t0 := time.Now()
				var err error
				switch {
				case p < 900:
					err = do(http.MethodGet, "/read", true)
					res.reads++
				case p < 990:
					err = do(http.MethodPost, "/write?n="+strconv.Itoa(n), false)
				default:
					err = do(http.MethodPost, "/logout", false)
					if err == nil {
						res.lat = append(res.lat, time.Since(t0))
						done.Add(1)
						t0 = time.Now()
						err = do(http.MethodPost, "/login?user="+user, false)
					}
				}
				if err != nil {
					fail(err)
					continue
				}
				res.lat = append(res.lat, time.Since(t0))
				done.Add(1)
			}
		}()
	}
	setup.Wait()
	for i := range stmts.n {
		stmts.n[i].Store(0)
		t.reads.n[i].Store(0)
	}
	start = time.Now()
	deadline = start.Add(s.duration)
	close(ready)
	if t.started != nil {
		t.started()
	}
	stop := t.stop
	tick := time.NewTicker(200 * time.Millisecond)
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
loop:
	for {
		select {
		case <-stop:
			stopped.Store(true)
			stop = nil
		case <-finished:
			break loop
		case <-tick.C:
			progress("%s: %-13s %4.1fs/%.0fs  %d requests", workload, lib,
				time.Since(start).Seconds(), s.duration.Seconds(), done.Load())
		}
	}
	tick.Stop()
	elapsed := time.Since(start)
	res := httpResult{workload: workload, lib: lib}
	if v := t.firstErr.Load(); v != nil {
		res.firstErr = v.(string)
	}
	var all []time.Duration
	for _, r := range results {
		all = append(all, r.lat...)
		res.reads += r.reads
		res.errors += r.errors
		if r.firstErr != "" {
			res.firstErr = r.firstErr
		}
	}
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	res.requests = int64(len(all))
	if len(all) == 0 {
		return res, errors.New("no request succeeded: " + res.firstErr)
	}
	slices.Sort(all)
	res.reqPerS = float64(len(all)) / elapsed.Seconds()
	res.p50, res.p99 = all[len(all)/2], all[min(len(all)-1, len(all)*99/100)]
	res.stmtsPer1kReqAll = float64(stmts.total()) * 1000 / float64(len(all))
	reads := float64(max(res.reads, 1))
	if t.reads == stmts { // pgsession: background work but announcements is charged to the reads
		res.stmtsPer1kReads = float64(stmts.n[kindRead].Load()+stmts.n[kindBackground].Load()) * 1000 / reads
		res.bgPer1kReads = float64(stmts.n[kindBackground].Load()) * 1000 / reads
	} else { // scs: one statement per store call
		res.stmtsPer1kReads = float64(t.reads.n[kindRead].Load()) * 1000 / reads
	}
	return res, nil
}

// fetch sends one request (with cookie, unless empty) and reads the whole
// response.
func fetch(ctx context.Context, client *http.Client, method, url, cookie string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return 0, nil, err
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, body, err
}
