package demo

import (
	"net/http"
	"net/netip"
)

// loopbackOnly serves next only to clients connected from a loopback
// address, and answers 403 to the rest. The demo's /metrics has no
// authentication, and what it tells (traffic, cache sizes, listener health)
// is not for everyone who can reach a node started with -addr1 :8080. It
// trusts the connection's address, never a header a client can set; behind
// a reverse proxy on the same host every client would look local.
func loopbackOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ap, err := netip.ParseAddrPort(r.RemoteAddr)
		if err != nil || !ap.Addr().Unmap().IsLoopback() {
			http.Error(w, "metrics are served to loopback clients only", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}
