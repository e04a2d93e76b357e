package httpsession

import (
	"net/http"
	"strings"
	"time"

	"github.com/pgsession/pgsession/token"
)

// transport is the way a token came in, and so the way a new one goes back.
type transport uint8

const (
	viaNone   transport = iota // the request brought no token
	viaCookie                  // a cookie with our name
	viaHeader                  // the token header
)

// maxCookieTries bounds how many same-name cookies one request can make us
// verify (sibling subdomains and other paths can add cookies of our name).
const maxCookieTries = 4

// readToken returns the claims of the first token that verifies, header
// before cookie, and the transport the request used (even if nothing
// verified). It allocates only the decoded secret.
func (mw *Middleware) readToken(r *http.Request) (token.Claims, transport, bool) {
	via := viaNone
	if h := mw.cfg.Header; h != "" {
		if v, ok := mw.headerToken(r.Header[h]); ok {
			via = viaHeader
			if c, err := mw.cfg.Keys.Decode(v); err == nil {
				return c, viaHeader, true
			}
		}
	}
	if mw.cookieName == "" {
		return token.Claims{}, via, false
	}
	tries := 0
	for _, line := range r.Header["Cookie"] {
		for line != "" && tries < maxCookieTries {
			var part string
			part, line, _ = strings.Cut(line, ";")
			name, value, ok := strings.Cut(strings.TrimSpace(part), "=")
			if !ok || name != mw.cookieName {
				continue
			}
			if via == viaNone {
				via = viaCookie
			}
			tries++
			value = strings.TrimSpace(value)
			if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
				value = value[1 : len(value)-1]
			}
			if c, err := mw.cfg.Keys.Decode(value); err == nil {
				return c, viaCookie, true
			}
		}
	}
	return token.Claims{}, via, false
}

// headerToken extracts a token from the token header's first value.
func (mw *Middleware) headerToken(values []string) (string, bool) {
	if len(values) == 0 {
		return "", false
	}
	v := values[0]
	if mw.cfg.Header == "Authorization" {
		const scheme = "bearer "
		if len(v) < len(scheme) || !strings.EqualFold(v[:len(scheme)], scheme) {
			return "", false // another scheme: not ours
		}
		v = v[len(scheme):]
	}
	v = strings.TrimSpace(v)
	return v, v != ""
}

// sendToken hands tok to the client the way its token came, or both ways
// when it brought none.
func (mw *Middleware) sendToken(h http.Header, via transport, tok string, expires time.Time) {
	if mw.cookieName != "" && via != viaHeader {
		c := mw.cookie(tok)
		if !expires.IsZero() {
			c.MaxAge = max(int(time.Until(expires)/time.Second), 1)
			c.Expires = expires.UTC()
		}
		h.Add("Set-Cookie", c.String())
		h.Add("Cache-Control", `no-cache="Set-Cookie"`)
	}
	if mw.cfg.Header != "" && via != viaCookie {
		h.Set(mw.cfg.ResponseHeader, tok)
		h.Add("Cache-Control", `no-cache="`+mw.cfg.ResponseHeader+`"`)
	}
}

// clearToken tells the client its token is dead: an expired cookie, or an
// empty response header.
func (mw *Middleware) clearToken(h http.Header, via transport) {
	switch {
	case via == viaCookie || (via == viaNone && mw.cookieName != ""):
		c := mw.cookie("")
		c.MaxAge = -1
		c.Expires = time.Unix(0, 0).UTC()
		h.Add("Set-Cookie", c.String())
		h.Add("Cache-Control", `no-cache="Set-Cookie"`)
	case via == viaHeader:
		h.Set(mw.cfg.ResponseHeader, "")
		h.Add("Cache-Control", `no-cache="`+mw.cfg.ResponseHeader+`"`)
	}
}

func (mw *Middleware) cookie(value string) *http.Cookie {
	c := &mw.cfg.Cookie
	return &http.Cookie{
		Name: mw.cookieName, Value: value, Path: c.Path, Domain: c.Domain,
		Secure: !c.Insecure, HttpOnly: !c.ScriptAccess, SameSite: c.SameSite,
	}
}

// addVary adds each value to the Vary header unless it is already listed
// (or Vary is "*").
func addVary(h http.Header, values []string) {
	for _, v := range values {
		if !varyHas(h["Vary"], v) {
			h.Add("Vary", v)
		}
	}
}

func varyHas(lines []string, v string) bool {
	for _, line := range lines {
		for line != "" {
			var f string
			f, line, _ = strings.Cut(line, ",")
			f = strings.TrimSpace(f)
			if f == "*" || strings.EqualFold(f, v) {
				return true
			}
		}
	}
	return false
}
