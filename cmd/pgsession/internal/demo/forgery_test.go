package demo_test

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// The attacker's pages. Each makes the browser send one request to the URL
// in its "to" parameter as soon as it loads: a form post, as a link in an
// e-mail would, or a script's fetch without a body, which needs no CORS
// preflight and whose answer the page cannot read (it needs none).
var (
	forgedForm = template.Must(template.New("form").Parse(`<!doctype html>
<title>You won a prize</title>
<form method="post" action="{{.}}"><input type="hidden" name="name" value="mallory"></form>
<script>document.forms[0].submit()</script>
`))
	forgedFetch = template.Must(template.New("fetch").Parse(`<!doctype html>
<title>waiting</title>
<script>
fetch({{.}}, {method: "POST", mode: "no-cors", credentials: "include"})
	.then(() => { document.title = "sent" }, e => { document.title = "failed: " + e })
</script>
`))
)

// startAttacker serves the attacker's pages on an origin of its own:
// another port of 127.0.0.1. That is the same site as the demo's nodes, so
// the browser sends their SameSite=Lax cookie with every request the pages
// make; only the demo's cross-origin check stands in the way.
func startAttacker(t *testing.T) string {
	serve := func(tpl *template.Template) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			if err := tpl.Execute(w, r.URL.Query().Get("to")); err != nil {
				t.Errorf("attacker page: %v", err)
			}
		}
	}
	mux := http.NewServeMux()
	mux.Handle("GET /form", serve(forgedForm))
	mux.Handle("GET /fetch", serve(forgedFetch))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

// refusedPage is what the browser shows after a forged form post.
type refusedPage struct {
	URL    string `json:"url"`
	Status int    `json:"status"`
	Text   string `json:"text"`
}

// forgeForm opens the attacker's page that posts a form to target, waits
// for the page the post leads to, and returns it.
func forgeForm(t *testing.T, tab context.Context, attacker, target string) refusedPage {
	t.Helper()
	u, err := url.Parse(target)
	require.NoError(t, err)
	step(t, tab, "open the attacker's form for "+target,
		markStale(), // the page shown now may be the demo's: not the one to wait for
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			// Not chromedp.Navigate: the page posts itself away before it
			// has finished loading.
			_, err := cdp.Call(ctx, tg, page.Navigate, page.NavigateParams{URL: attacker + "/form?" + url.Values{"to": {target}}.Encode()})
			return err
		}),
	)
	return await[refusedPage](t, tab, "the page the forged post to "+target+" leads to", fmt.Sprintf(
		`(location.origin === %q && document.readyState === "complete" && !document.body.dataset.stale)
			? {url: location.href, status: performance.getEntriesByType("navigation")[0].responseStatus, text: document.body.innerText.trim()}
			: null`, u.Scheme+"://"+u.Host))
}

// forgeFetch opens the attacker's page that fetches target, and waits
// until the fetch is done.
func forgeFetch(t *testing.T, tab context.Context, attacker, target string) {
	t.Helper()
	step(t, tab, "open the attacker's fetch of "+target,
		chromedp.Navigate(attacker+"/fetch?"+url.Values{"to": {target}}.Encode()))
	title := await[string](t, tab, "the fetch's outcome", `document.title === "waiting" ? null : document.title`)
	require.Equal(t, "sent", title, "the browser sent the forged request (its answer is opaque to the page)")
}

// await evaluates expr in the tab's page until it is not null, and returns
// it. It retries through navigations, and through the moments after one
// when chromedp may still hold the old page's context (which
// chromedp.Poll does not survive). It fails after 15 seconds.
func await[T any](t *testing.T, tab context.Context, what, expr string) T {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(tab, time.Second)
		got, err := chromedp.Run(ctx, chromedp.Evaluate[*T](expr))
		cancel()
		if err == nil && got != nil {
			return *got
		}
		require.False(t, time.Now().After(deadline), "%s: still waiting after 15s (last error: %v)", what, err)
		time.Sleep(20 * time.Millisecond)
	}
}

// requireForgeriesRefused makes the browser in tab, logged in on the demo,
// visit the attacker's pages, which post to the demo: to count, to log in
// as someone else, to log out everywhere. Each post is refused, and
// afterwards the user is who they were, with the same count, and still
// logged in on their other device.
func requireForgeriesRefused(t *testing.T, tab, otherDevice context.Context, a, b, user string) {
	t.Helper()
	attacker := startAttacker(t)
	count := read(t, tab, "count before", chromedp.Text(chromedp.CSS("#counter")))

	for _, target := range []string{a + "/counter", b + "/login", a + "/logout-everywhere"} {
		got := forgeForm(t, tab, attacker, target)
		require.Equal(t, refusedPage{URL: target, Status: http.StatusForbidden, Text: "cross-origin request refused"}, got,
			"the middleware refused the forged post")
	}
	for _, target := range []string{b + "/api/counter", a + "/api/logout-everywhere"} {
		forgeFetch(t, tab, attacker, target)
	}

	for _, node := range []string{a, b} {
		requireLoggedIn(t, tab, node, user)
		require.Equal(t, count, read(t, tab, "count on "+node, chromedp.Text(chromedp.CSS("#counter"))), "no forged +1")
	}
	requireLoggedIn(t, otherDevice, b, user)
}

// requireLoggedIn loads node's page in tab and requires it to greet user.
func requireLoggedIn(t *testing.T, tab context.Context, node, user string) {
	t.Helper()
	step(t, tab, "load "+node, chromedp.Navigate(node+"/"), chromedp.WaitVisible(chromedp.CSS("#whoami, #login-form")))
	html := read(t, tab, "page of "+node, chromedp.OuterHTML(chromedp.CSS("main")))
	require.Contains(t, html, `id="whoami"`, "%s shows a logged-out page", node)
	require.Equal(t, user, read(t, tab, "who on "+node, chromedp.Text(chromedp.CSS("#user"))))
}
