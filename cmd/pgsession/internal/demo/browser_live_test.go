package demo_test

import (
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession/cmd/pgsession/internal/demo"
)

// The session list in a real browser, live: with node A's page open, the
// user's other devices log in, revoke one another and log out on node B,
// and the list on node A follows without a reload. A row the page drew
// itself revokes like any other, and when the user logs out everywhere
// from node B, node A's page goes back to the log-in form by itself.
func TestBrowserLiveSessions(t *testing.T) {
	onBothBackends(t, func(t *testing.T, kind string) { watchLive(t, startDemo(t, kind)) })
}

// row selects the list's row for session id.
func row(id string) chromedp.CSS {
	return chromedp.CSS(`#sessions tr[data-id="` + id + `"]`)
}

func watchLive(t *testing.T, cl *demo.Cluster) {
	a, b := cl.URLs()[0], cl.URLs()[1]
	tab := browser(t)
	logInThroughForm(t, tab, a, "alice")
	step(t, tab, "the list goes live",
		chromedp.WaitVisible(chromedp.CSS(`#live[data-state="open"]`)),
		markStale(), // a reload would drop the mark
	)
	requireRows := func(what string, n int) {
		t.Helper()
		rows := read(t, tab, what, chromedp.Nodes(chromedp.CSSAll("#sessions tbody tr")))
		require.Len(t, rows, n, what)
	}
	requireRows("the browser alone", 1)

	phone := newClient(t, "phone/1.0")
	phone.logIn(b, "alice")
	phoneID := phone.currentID(b)
	step(t, tab, "the phone's log-in on B shows on A", chromedp.WaitVisible(row(phoneID)))
	require.Equal(t, "phone", read(t, tab, "the phone's row", chromedp.Text(chromedp.CSS(`#sessions tr[data-id="`+phoneID+`"] td.device`))))

	laptop := newClient(t, "laptop/1.0")
	laptop.logIn(b, "alice")
	laptopID := laptop.currentID(b)
	step(t, tab, "the laptop's log-in on B shows on A", chromedp.WaitVisible(row(laptopID)))
	requireRows("three devices", 3)

	require.Equal(t, http.StatusNoContent, phone.call("DELETE", b+"/api/sessions/"+laptopID, nil, nil))
	step(t, tab, "the laptop's revocation on B shows on A", chromedp.WaitNotPresent(row(laptopID)))

	require.Equal(t, http.StatusNoContent, phone.call("POST", b+"/api/logout", nil, nil))
	step(t, tab, "the phone's log out on B shows on A", chromedp.WaitNotPresent(row(phoneID)))
	requireRows("the browser alone again", 1)
	stale := read(t, tab, "the mark", chromedp.Evaluate[string](`document.body.dataset.stale || ""`))
	require.Equal(t, "1", stale, "node A's page changed without a reload")

	// A row live.js drew has a working Revoke button.
	tablet := newClient(t, "tablet/1.0")
	tablet.logIn(b, "alice")
	tabletID := tablet.currentID(b)
	step(t, tab, "revoke the tablet from A",
		chromedp.WaitVisible(row(tabletID)),
		chromedp.Click(chromedp.CSS(`#sessions tr[data-id="`+tabletID+`"] button`)),
		chromedp.WaitVisible(chromedp.CSS("body:not([data-stale]) #flash")),
	)
	require.Contains(t, read(t, tab, "flash", chromedp.Text(chromedp.CSS("#flash"))), "That session has ended")
	tablet.requireLoggedOut(b)

	// Logging out everywhere from B ends this browser's session too: its
	// page goes to the log-in form unasked.
	step(t, tab, "live again", chromedp.WaitVisible(chromedp.CSS(`#live[data-state="open"]`)))
	phone.logIn(b, "alice")
	require.Equal(t, http.StatusNoContent, phone.call("POST", b+"/api/logout-everywhere", nil, nil))
	step(t, tab, "node A's page logs out by itself", chromedp.WaitVisible(chromedp.CSS("#login-form")))
	require.Contains(t, read(t, tab, "flash", chromedp.Text(chromedp.CSS("#flash"))), "This session has ended")
	url := read(t, tab, "where", chromedp.Evaluate[string](`location.href`))
	require.Equal(t, a+"/?m=ended", url)
}
