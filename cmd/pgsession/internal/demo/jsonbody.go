package demo

import (
	"mime"
	"net/http"
)

// jsonBodies refuses, with 415, an API request whose body is not declared
// as JSON (Content-Type application/json, parameters such as charset
// allowed). A page on another site can make a browser send a form or a
// text/plain body anywhere without asking, so a JSON handler that decoded
// those would let it, for one, log the browser in as the attacker (login
// CSRF: that needs no cookie, so SameSite does not stop it). A JSON content
// type is one a browser sends cross-site only after a CORS preflight, which
// the demo never grants. The middleware's cross-origin check refuses such
// posts too; this is the lock that holds for a browser too old to say
// where a request comes from.
func jsonBodies(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength != 0 && !isJSON(r.Header.Get("Content-Type")) {
			writeError(w, http.StatusUnsupportedMediaType, "send the body as JSON, with Content-Type: application/json")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// isJSON reports a Content-Type of application/json, whatever its case and
// parameters.
func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/json"
}
