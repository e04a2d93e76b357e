package demo

import (
	_ "embed"
	"net/http"
)

//go:embed live.js
var liveScript []byte

// GET /live.js, the script that keeps the page's session list current. It
// is the same for everyone, so it is served outside the session
// middleware: fetching it neither needs nor makes a session.
func serveLiveScript(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("Cache-Control", "no-cache") // a new build's script, not a stale one
	_, _ = w.Write(liveScript)
}
