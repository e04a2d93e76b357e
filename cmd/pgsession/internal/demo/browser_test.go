package demo_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession/cmd/pgsession/internal/demo"
)

// chromiumPath is where Debian's chromium package puts the browser.
const chromiumPath = "/usr/bin/chromium"

// screenshotPath keeps one screenshot of node B, to look at after a run.
const screenshotPath = "/tmp/pgsession-demo.png"

// The demo in a real browser: log in through the form on node A, find the
// same user on node B (cookies belong to the host, not the port), see the
// posts a page on another origin forges refused, count, see both devices,
// log out everywhere on node B, and node A shows the log-in form to both
// the browser and a second device.
func TestBrowser(t *testing.T) {
	onBothBackends(t, func(t *testing.T, kind string) { browse(t, startDemo(t, kind), kind == "memory") })
}

// browser starts a headless Chromium of its own (fresh profile) and returns
// a tab in it. Everything, the browser's life included, is bounded by a
// deadline, so a hung browser fails the test instead of stalling it.
func browser(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1100, 1000),
	)
	t.Cleanup(cancelAlloc) // waits for the browser to exit; runs before TempDir's removal
	tab, cancelTab := chromedp.NewContext(alloc, chromedp.WithErrorf(t.Logf))
	t.Cleanup(cancelTab)
	// The first run starts the browser, which lives as long as the context
	// of that run: the tab's, not a step's.
	require.NoError(t, chromedp.Do(tab), "start chromium")
	return tab
}

// step runs actions with a deadline of their own.
func step(t *testing.T, tab context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, 15*time.Second)
	defer cancel()
	require.NoError(t, chromedp.Do(ctx, actions...), what)
}

// read runs one action that returns a value, with a deadline.
func read[T any](t *testing.T, tab context.Context, what string, action chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, 15*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, action)
	require.NoError(t, err, what)
	return v
}

func cookies(urls ...string) chromedp.Action[[]*network.Cookie] {
	return func(ctx context.Context, tg *chromedp.Target) ([]*network.Cookie, error) {
		res, err := cdp.Call(ctx, tg, network.GetCookies, network.GetCookiesParams{URLs: urls})
		return res.Cookies, err
	}
}

func sessionCookie(list []*network.Cookie) *network.Cookie {
	for _, c := range list {
		if c.Name == "session" {
			return c
		}
	}
	return nil
}

// markStale marks the page the tab shows, so that a wait for
// "body:not([data-stale]) ..." waits for the page a click leads to.
func markStale() chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](`document.body.dataset.stale = "1"`)
}

// logInThroughForm fills in the log-in form of the node the tab shows.
func logInThroughForm(t *testing.T, tab context.Context, node, user string) {
	step(t, tab, "log in on "+node,
		chromedp.Navigate(node+"/"),
		chromedp.WaitVisible(chromedp.CSS("#login-form")),
		chromedp.SendKeys(chromedp.CSS("#name"), user),
		chromedp.Click(chromedp.CSS("#login-button")),
		chromedp.WaitVisible(chromedp.CSS("#whoami")),
	)
}

func browse(t *testing.T, cl *demo.Cluster, keepScreenshot bool) {
	a, b := cl.URLs()[0], cl.URLs()[1]
	tab := browser(t)

	// A second device: a separate browser context has its own cookies.
	other, cancelOther := chromedp.NewContext(tab, chromedp.WithNewBrowserContext())
	defer cancelOther()
	// The first run on a context opens its tab for the life of that run's
	// context: this one, not a step's, which ends with the step.
	require.NoError(t, chromedp.Do(other), "open a tab for the second device")
	logInThroughForm(t, other, a, "alice")

	logInThroughForm(t, tab, a, "alice")
	who := read(t, tab, "who on A", chromedp.Text(chromedp.CSS("#whoami")))
	require.Contains(t, who, "Logged in as alice")
	require.Contains(t, who, "node A")

	// Node B, another port of the same host: the browser sends it the
	// cookie node A set, and node B knows the user.
	jar := read(t, tab, "cookies", cookies(a, b))
	c := sessionCookie(jar)
	require.NotNil(t, c, "node A set the session cookie")
	require.True(t, c.HTTPOnly)
	require.False(t, c.Secure)
	require.Equal(t, network.CookieSameSiteLax, c.SameSite)
	for _, node := range []string{a, b} {
		require.NotNil(t, sessionCookie(read(t, tab, "cookies of "+node, cookies(node))), "%s gets the cookie", node)
	}

	// Pages of another origin make the browser post to both nodes, with
	// the cookie (see requireForgeriesRefused): every post is refused.
	requireForgeriesRefused(t, tab, other, a, b, "alice")

	step(t, tab, "open node B", chromedp.Navigate(b+"/"), chromedp.WaitVisible(chromedp.CSS("#whoami")))
	who = read(t, tab, "who on B", chromedp.Text(chromedp.CSS("#whoami")))
	require.Contains(t, who, "Logged in as alice")
	require.Contains(t, who, "node B")

	// Count on node B; node A shows the new count at once.
	step(t, tab, "+1 on B",
		markStale(),
		chromedp.Click(chromedp.CSS("#increment")),
		chromedp.WaitVisible(chromedp.CSS("body:not([data-stale]) #counter")),
	)
	require.Equal(t, "1", read(t, tab, "count on B", chromedp.Text(chromedp.CSS("#counter"))))
	rows := read(t, tab, "sessions on B", chromedp.Nodes(chromedp.CSSAll("#sessions tbody tr")))
	require.Len(t, rows, 2, "both devices are listed")
	require.Contains(t, read(t, tab, "list", chromedp.Text(chromedp.CSS("#sessions"))), "this device")

	png := read(t, tab, "screenshot", chromedp.FullScreenshot(100))
	require.NoError(t, os.WriteFile(filepath.Join(t.TempDir(), "node-b.png"), png, 0o644))
	if keepScreenshot {
		require.NoError(t, os.WriteFile(screenshotPath, png, 0o644))
		t.Logf("screenshot of node B: %s", screenshotPath)
	}

	step(t, tab, "count on A", chromedp.Navigate(a+"/"), chromedp.WaitVisible(chromedp.CSS("#counter")))
	require.Equal(t, "1", read(t, tab, "count on A", chromedp.Text(chromedp.CSS("#counter"))))

	// Log out everywhere, on node B.
	step(t, tab, "log out everywhere on B",
		chromedp.Navigate(b+"/"),
		chromedp.Click(chromedp.CSS("#logout-everywhere")),
		chromedp.WaitVisible(chromedp.CSS("#login-form")),
	)
	require.Contains(t, read(t, tab, "flash", chromedp.Text(chromedp.CSS("#flash"))), "Every session of yours has ended")

	// Node A's next page is the log-in form: for this browser, whose cookie
	// is gone, for the same cookie put back (the server ended the session),
	// and for the other device, which kept its cookie.
	step(t, tab, "node A after log out everywhere",
		chromedp.Navigate(a+"/"),
		chromedp.WaitVisible(chromedp.CSS("#login-form")),
	)
	step(t, tab, "put the old cookie back", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, network.SetCookie, network.SetCookieParams{
			Name: c.Name, Value: c.Value, URL: a + "/", Path: "/", HTTPOnly: new(true), SameSite: network.CookieSameSiteLax,
		})
		return err
	}))
	for _, device := range []context.Context{tab, other} {
		requireLogInForm(t, device, a)
	}
}

// requireLogInForm loads node's page until it shows the log-in form: a
// revocation made on the other node reaches this one within milliseconds
// (PostgreSQL) or at once (memory). It fails after two seconds.
func requireLogInForm(t *testing.T, tab context.Context, node string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		step(t, tab, "load "+node, chromedp.Navigate(node+"/"), chromedp.WaitVisible(chromedp.CSS("main")))
		html := read(t, tab, "page", chromedp.OuterHTML(chromedp.CSS("main")))
		if strings.Contains(html, `id="login-form"`) {
			require.NotContains(t, html, `id="whoami"`)
			return
		}
		require.False(t, time.Now().After(deadline), "%s still shows a logged-in page after log out everywhere", node)
		time.Sleep(20 * time.Millisecond)
	}
}

// onBothBackends runs a browser test once per backend, in parallel, after
// checking Chromium is there.
func onBothBackends(t *testing.T, run func(t *testing.T, kind string)) {
	t.Parallel()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("the browser test needs Chromium at %s: run scripts/install-chromium.sh from the repository root (as root, or with sudo): %v", chromiumPath, err)
	}
	for _, kind := range []string{"memory", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			run(t, kind)
		})
	}
}
