package httpsession_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/httpsession"
	"github.com/pgsession/pgsession/pgsessiontest"
)

// BenchmarkDeadTokenRequests counts the database statements per 1,000
// requests whose cookie names no live session, through the middleware on
// PostgreSQL, over 10,000 requests: the same dead cookie sent again and
// again (a client that ignores the clearing Set-Cookie), ten dead cookies in
// turn, and forged cookies that are all different (refused by their
// signature, no read). The sessions were ended by a DeleteAll, which names
// no IDs, so each dead cookie costs the node its one read. The target is
// at most 5 per 1,000.
func BenchmarkDeadTokenRequests(b *testing.B) {
	for _, workload := range []string{"one-dead", "ten-dead", "forged"} {
		b.Run(workload, func(b *testing.B) { benchDeadTokenRequests(b, workload) })
	}
}

func benchDeadTokenRequests(b *testing.B, workload string) {
	ctx := context.Background()
	rt := &pgsessiontest.RoundTrips{Skip: func(sql string) bool {
		// what a node sends on its own, per interval: announcements and
		// reads of the change log
		return strings.HasPrefix(sql, "SELECT pg_notify($1, p)") || strings.Contains(sql, `pgsession_changes" c`)
	}}
	cfg := testConfig()
	cfg.Schema = pgsessiontest.Schema(b)
	m, err := pgsession.New(ctx, pgsessiontest.Pool(b, rt), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close(context.Background()) })
	mw, err := httpsession.New(httpsession.Config{Manager: m, Keys: ring(b, "k1")})
	if err != nil {
		b.Fatal(err)
	}
	starter := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mw.Set(r, "n", 1)
	}))
	var dead []*http.Cookie
	for range 10 {
		rec := &discardWriter{h: http.Header{}}
		starter.ServeHTTP(rec, get())
		cookies := (&http.Response{Header: rec.h}).Cookies()
		if len(cookies) == 0 {
			b.Fatal("no cookie")
		}
		dead = append(dead, cookies[len(cookies)-1])
	}
	if _, err := m.DeleteAll(ctx); err != nil {
		b.Fatal(err)
	}
	name := dead[0].Name
	forged := func() *http.Cookie {
		var v [60]byte
		rand.Read(v[:])
		return &http.Cookie{Name: name, Value: base64.RawURLEncoding.EncodeToString(v[:])}
	}
	h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if mw.Session(r) != nil {
			panic("a dead cookie has a session")
		}
	}))
	const requests = 10000
	rt.Reset()
	b.ResetTimer()
	for range b.N {
		for i := range requests {
			var c *http.Cookie
			switch workload {
			case "one-dead":
				c = dead[0]
			case "ten-dead":
				c = dead[i%len(dead)]
			default:
				c = forged()
			}
			h.ServeHTTP(&discardWriter{h: http.Header{}}, get(c))
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(rt.Count())/float64(b.N)/(requests/1000), "statements/1000req")
}
