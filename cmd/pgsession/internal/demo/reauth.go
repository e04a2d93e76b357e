package demo

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/pgsession/pgsession/httpsession"
)

// DefaultReauthMaxAge is how recent a log-in must be for the user to end
// their other sessions (Options.ReauthMaxAge). Ending them is what a thief
// holding a leaked cookie, or someone at a browser left logged in, would
// do to become the only one logged in; a short window makes them prove
// who they are first.
const DefaultReauthMaxAge = 5 * time.Minute

// authMethod is what LogIn records as the demo's way of authenticating:
// the name alone, since the demo has no passwords.
const authMethod = "name"

// recentAuth returns nil if the request's user logged in (or in again)
// within the node's max age, and an error matching
// httpsession.ErrReauthRequired otherwise.
func (n *Node) recentAuth(r *http.Request) error {
	return n.mw.CheckRecentAuth(r, n.reauthMaxAge)
}

// reauthMessage is the API's answer to a request that needs a more recent
// log-in.
func reauthMessage(err error) string {
	var re *httpsession.ReauthError
	if !errors.As(err, &re) {
		return "re-authentication required: log in again, then retry"
	}
	return fmt.Sprintf("re-authentication required: this needs a log-in within the last %v; log in again, then retry",
		re.MaxAge)
}

// forPeople writes a duration as the page shows it: "5 minutes", or Go's
// form when d is not a whole number of minutes (as in tests).
func forPeople(d time.Duration) string {
	switch {
	case d == time.Minute:
		return "minute"
	case d > 0 && d%time.Minute == 0:
		return fmt.Sprintf("%d minutes", d/time.Minute)
	}
	return d.String()
}
