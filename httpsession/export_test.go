package httpsession

import (
	"context"
	"net/http"
	"sync/atomic"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/token"
)

// Test signals for the external tests (compiled into tests only).

// MaxTokenTries is how many cookie values one request may make us verify.
const MaxTokenTries = maxTokenTries

// CountVerifications makes mw add one to n for every token it verifies.
// Call it before mw serves requests.
func CountVerifications(mw *Middleware, n *atomic.Int64) {
	decode := mw.decode
	mw.decode = func(s string) (token.RawClaims, error) {
		n.Add(1)
		return decode(s)
	}
}

// ReadToken returns the claims of the request's token, as the middleware
// reads it before loading the session, and whether there is one.
func ReadToken(mw *Middleware, r *http.Request) (token.Claims, bool) {
	c, _, ok := mw.readToken(r)
	if !ok {
		return token.Claims{}, false
	}
	return c.Claims(), true
}

// LoadToken verifies tok and gets the session it names, as the middleware
// does with a request's token (for the benchmarks).
func LoadToken(ctx context.Context, mw *Middleware, tok string) (*pgsession.Session, error) {
	c, err := mw.decode(tok)
	if err != nil {
		return nil, err
	}
	return mw.get(ctx, &c)
}
