package httpsession

import (
	"fmt"
	"net/http"
)

// CrossOriginConfig configures how the middleware refuses cross-origin
// unsafe requests (POST, PUT, PATCH, DELETE and any method but GET, HEAD
// and OPTIONS), the requests a page on another site can make a browser send
// with the user's cookie attached (cross-site request forgery). The check
// is http.CrossOriginProtection's: a browser's Sec-Fetch-Site header must
// say same-origin (or none, a request the user typed); a browser too old
// to send it must send an Origin whose host is the request's Host. A
// request with neither header (curl, a server, a mobile app) is not a
// browser's and passes. A refused request gets Deny's answer and reaches
// neither the handler nor the session: nothing is loaded or written.
//
// Behind a proxy that rewrites the Host header, old browsers' requests are
// compared with the rewritten host: keep the original Host, or list the
// public origin in TrustedOrigins.
//
// A request whose session token came in the token header (Config.Header)
// and verified is not checked. Browsers never attach that header on their
// own: a page of another origin can send it only if it already holds the
// token and the application's CORS policy lets it, and then the request
// is no forgery. A request whose header token does not verify is checked
// like any other, so a forged log-in form post is still refused.
type CrossOriginConfig struct {
	// Disabled turns the check off. Acceptable only where browsers attach
	// no credential by themselves: the header transport alone
	// (Cookie.Disabled) with no log in from another origin, or when every
	// unsafe route is already guarded by something else (an
	// http.CrossOriginProtection of the application's own, a CSRF token
	// in every form). Defaults to false.
	Disabled bool
	// TrustedOrigins are origins allowed to send cross-origin unsafe
	// requests, each as a browser writes it in the Origin header: scheme,
	// host and port if not the scheme's default, no path
	// ("https://app.example.com", "http://localhost:5173"). New rejects
	// anything else. Defaults to none.
	TrustedOrigins []string
	// BypassPatterns are http.ServeMux patterns ("POST /webhooks/",
	// "/api/public/{id}") whose requests are never checked: endpoints
	// meant to be called from anywhere, such as payment callbacks. Such a
	// handler must not act on the session, since a forged request carries
	// the user's cookie there too. New rejects a pattern ServeMux would
	// refuse. Defaults to none.
	BypassPatterns []string
	// Deny answers a refused request. It must not touch the session.
	// Defaults to 403 Forbidden with a plain text body.
	Deny http.Handler
}

// check reports whether the origins and patterns are usable, and fills
// Deny's default.
func (c *CrossOriginConfig) check() error {
	if c.Deny == nil {
		c.Deny = http.HandlerFunc(refuseCrossOrigin)
	}
	_, err := c.protection()
	return err
}

// protection builds the standard library's check from the configuration.
func (c *CrossOriginConfig) protection() (*http.CrossOriginProtection, error) {
	p := http.NewCrossOriginProtection()
	for _, o := range c.TrustedOrigins {
		if err := p.AddTrustedOrigin(o); err != nil {
			return nil, err
		}
	}
	for _, pattern := range c.BypassPatterns {
		if err := addBypass(p, pattern); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// addBypass is AddInsecureBypassPattern returning, rather than panicking
// on, a pattern that ServeMux refuses (malformed, or a duplicate).
func addBypass(p *http.CrossOriginProtection, pattern string) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("bypass pattern %q: %v", pattern, v)
		}
	}()
	p.AddInsecureBypassPattern(pattern)
	return nil
}

// crossOriginRefused reports whether r is a cross-origin unsafe request to
// refuse. headerToken says its session token came verified in the token
// header, which browsers never send by themselves.
func (mw *Middleware) crossOriginRefused(r *http.Request, headerToken bool) bool {
	if mw.crossOrigin == nil || headerToken {
		return false
	}
	return mw.crossOrigin.Check(r) != nil
}

func refuseCrossOrigin(w http.ResponseWriter, r *http.Request) {
	http.Error(w, "cross-origin request refused", http.StatusForbidden)
}
