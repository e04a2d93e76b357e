package demo

import (
	"bytes"
	_ "embed"
	"errors"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/httpsession"
)

//go:embed page.html
var pageSource string

var pageTemplate = template.Must(template.New("page").Parse(pageSource))

// pageData is what page.html shows.
type pageData struct {
	Node, Backend string
	Links         []pageLink
	Flash         string
	Error         string
	Name          string // the log-in form's value after a refused name

	User        string // "" shows the log-in form
	AuthAt      string // when the user last logged in
	AuthMethod  string // and how
	Reauth      bool   // show the form to log in again
	ReauthAge   string // how recent a log-in ending other sessions needs
	Counter     int64
	LastNode    string
	Version     int64
	Sessions    []pageSession
	MaxSessions int // per user
	Stats       pgsession.Stats
}

type pageLink struct {
	Name, URL string
	Current   bool
}

type pageSession struct {
	ID, Device, UserAgent, IP string
	Created, LastSeen         string
	Current                   bool
}

// flashes are the messages a form's redirect can ask the page to show; only
// these codes are shown, so a link cannot make the page say anything else.
var flashes = map[string]string{
	"loggedout":  "You are logged out.",
	"everywhere": "Every session of yours has ended, on every node.",
	"others":     "Your other sessions have ended.",
	"revoked":    "That session has ended.",
	"notyours":   "That is not one of your sessions.",
	"busy":       "The counter was too busy; try again.",
	"gone":       "Your session had already ended.",
	"reauth":     "Ending your other sessions needs a recent log-in: log in again, then try once more.",
	"ended":      "This session has ended: it was logged out or revoked elsewhere, or it expired.",
}

// GET /
func (n *Node) page(w http.ResponseWriter, r *http.Request) {
	m := r.URL.Query().Get("m")
	d := pageData{Flash: flashes[m]}
	if s, ok := n.user(r); ok {
		if m == "reauth" {
			d.Reauth, d.Flash = true, "" // the form to log in again says it
		}
		if at, method, ok := n.mw.AuthenticatedAt(r); ok {
			d.AuthAt, d.AuthMethod = when(at), method
		}
		list, err := n.m.ListUser(r.Context(), s.UserID())
		if err != nil {
			n.writePageFailure(w, r, err)
			return
		}
		d.User, d.Version = s.UserID(), s.Version()
		d.Counter = pgsession.AttrOr(s, counterKey, int64(0))
		d.LastNode = pgsession.AttrOr(s, lastNodeKey, "")
		for _, x := range list {
			d.Sessions = append(d.Sessions, pageSession{
				ID: x.ID().String(), Device: device(x.UserAgent()), UserAgent: x.UserAgent(), IP: x.IP(),
				Created: when(x.CreatedAt()), LastSeen: when(x.LastSeenAt()), Current: x.ID() == s.ID(),
			})
		}
	}
	n.render(w, r, http.StatusOK, d)
}

func (n *Node) render(w http.ResponseWriter, r *http.Request, status int, d pageData) {
	d.Node, d.Backend, d.Stats, d.MaxSessions = n.Name, n.backend, n.m.Stats(), MaxSessionsPerUser
	d.ReauthAge = forPeople(n.reauthMaxAge)
	host := hostFor(r)
	for _, p := range n.peers {
		d.Links = append(d.Links, pageLink{
			Name: p.Name, URL: "http://" + net.JoinHostPort(host, p.Port) + "/", Current: p.Name == n.Name,
		})
	}
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, d); err != nil {
		n.log.ErrorContext(r.Context(), "render page", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

func (n *Node) writePageFailure(w http.ResponseWriter, r *http.Request, err error) {
	n.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	http.Error(w, "Something went wrong on node "+n.Name+"; see its log.", http.StatusInternalServerError)
}

// back answers a form with a redirect to the page, which shows message code m.
func back(w http.ResponseWriter, r *http.Request, m string) {
	to := "/"
	if m != "" {
		to += "?" + url.Values{"m": {m}}.Encode()
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// POST /login (name, remember)
func (n *Node) formLogIn(w http.ResponseWriter, r *http.Request) {
	user, err := cleanUser(r.PostFormValue("name"))
	if err != nil {
		n.render(w, r, http.StatusBadRequest, pageData{Error: err.Error(), Name: r.PostFormValue("name")})
		return
	}
	if _, err := n.logIn(r, user, r.PostFormValue("remember") != ""); err != nil {
		n.writePageFailure(w, r, err)
		return
	}
	back(w, r, "")
}

// POST /counter
func (n *Node) formIncrement(w http.ResponseWriter, r *http.Request) {
	cur, ok := n.user(r)
	if !ok {
		back(w, r, "")
		return
	}
	switch _, _, err := n.increment(r, cur); {
	case errors.Is(err, pgsession.ErrNotFound):
		back(w, r, "gone")
	case errors.Is(err, errBusy):
		back(w, r, "busy")
	case err != nil:
		n.writePageFailure(w, r, err)
	default:
		back(w, r, "")
	}
}

// POST /revoke (id)
func (n *Node) formRevoke(w http.ResponseWriter, r *http.Request) {
	cur, ok := n.user(r)
	if !ok {
		back(w, r, "")
		return
	}
	switch err := n.revoke(r, cur, r.PostFormValue("id")); {
	case errors.Is(err, errNotYours):
		back(w, r, "notyours")
	case errors.Is(err, httpsession.ErrReauthRequired):
		back(w, r, "reauth")
	case err != nil:
		n.writePageFailure(w, r, err)
	default:
		back(w, r, "revoked")
	}
}

// POST /logout
func (n *Node) formLogOut(w http.ResponseWriter, r *http.Request) {
	if err := n.mw.LogOut(r); err != nil {
		n.writePageFailure(w, r, err)
		return
	}
	back(w, r, "loggedout")
}

// POST /logout-others
func (n *Node) formLogOutOthers(w http.ResponseWriter, r *http.Request) {
	if _, ok := n.user(r); !ok {
		back(w, r, "")
		return
	}
	switch err := n.recentAuth(r); {
	case errors.Is(err, httpsession.ErrReauthRequired):
		back(w, r, "reauth")
		return
	case err != nil:
		n.writePageFailure(w, r, err)
		return
	}
	if _, err := n.mw.LogOutOtherDevices(r); err != nil {
		n.writePageFailure(w, r, err)
		return
	}
	back(w, r, "others")
}

// POST /logout-everywhere
func (n *Node) formLogOutEverywhere(w http.ResponseWriter, r *http.Request) {
	if _, err := n.mw.LogOutEverywhere(r); err != nil {
		n.writePageFailure(w, r, err)
		return
	}
	back(w, r, "everywhere")
}

// when formats a database time for the page: the time of day, and the
// date too when it is not today.
func when(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	t = t.Local()
	if y, m, d := t.Date(); time.Date(y, m, d, 0, 0, 0, 0, time.Local).Equal(today()) {
		return t.Format("15:04:05")
	}
	return t.Format("Jan 2 15:04")
}

func today() time.Time {
	y, m, d := time.Now().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.Local)
}

// device sums up a user agent as "Browser on System", for the session list.
// The full string is in the row's title.
func device(ua string) string {
	if ua == "" {
		return "unknown device"
	}
	browsers := []struct{ token, name string }{
		{"Edg/", "Edge"}, {"OPR/", "Opera"}, {"HeadlessChrome/", "Headless Chrome"},
		{"Chromium/", "Chromium"}, {"Chrome/", "Chrome"}, {"Firefox/", "Firefox"},
		{"Safari/", "Safari"}, {"curl/", "curl"}, {"Go-http-client/", "Go client"},
	}
	systems := []struct{ token, name string }{
		{"Android", "Android"}, {"iPhone", "iPhone"}, {"iPad", "iPad"}, {"Windows", "Windows"},
		{"Mac OS X", "macOS"}, {"CrOS", "ChromeOS"}, {"Linux", "Linux"},
	}
	browser := ""
	for _, b := range browsers {
		if strings.Contains(ua, b.token) {
			browser = b.name
			break
		}
	}
	if browser == "" {
		name, _, _ := strings.Cut(ua, "/")
		browser = strings.TrimSpace(name)
		if r := []rune(browser); len(r) > 24 {
			browser = string(r[:24]) + "…"
		}
	}
	for _, s := range systems {
		if strings.Contains(ua, s.token) {
			return browser + " on " + s.name
		}
	}
	return browser
}
