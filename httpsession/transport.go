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

// maxTokenTries bounds how many cookie values of our name one request can
// make us verify. Values that cannot be a token (too short or too long)
// are skipped without a verification and do not count. A request with
// more candidates than this has no session: we could not tell whether they
// all name the same one.
const maxTokenTries = 8

// readToken returns the claims of the request's token and the transport the
// request used (even if nothing verified): the header's token if it
// verifies, else the session the request's cookies of our name agree on.
//
// Several cookies of our name reach us when a cookie of the same name was
// set for another Path or a parent Domain: browsers send every match, the
// longest Path first, and a sibling subdomain can plant one (cookie
// tossing; the __Host- prefix makes that impossible). Values that do not
// verify are ignored, so junk cannot push out the user's own cookie. Valid
// tokens of one session are one answer (the newest version wins); valid
// tokens of different sessions are no session at all, since the one sent
// first may be an attacker's own, logged-in session, into which the
// user's actions would go. It allocates nothing.
func (mw *Middleware) readToken(r *http.Request) (token.RawClaims, transport, bool) {
	via := viaNone
	if h := mw.cfg.Header; h != "" {
		if v, ok := mw.headerToken(r.Header[h]); ok {
			via = viaHeader
			if c, err := mw.decode(v); err == nil {
				return c, viaHeader, true
			}
		}
	}
	if mw.cookieName == "" {
		return token.RawClaims{}, via, false
	}
	var found token.RawClaims
	ok, tries := false, 0
	for _, line := range r.Header["Cookie"] {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			name, value, isPair := strings.Cut(strings.TrimSpace(part), "=")
			if !isPair || name != mw.cookieName {
				continue
			}
			if via == viaNone {
				via = viaCookie
			}
			value = strings.TrimSpace(value)
			if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
				value = value[1 : len(value)-1]
			}
			if len(value) < token.MinLen || len(value) > token.MaxLen {
				continue
			}
			if tries == maxTokenTries {
				return token.RawClaims{}, via, false
			}
			tries++
			c, err := mw.decode(value)
			switch {
			case err != nil:
			case !ok:
				found, ok = c, true
			case c.Secret != found.Secret:
				return token.RawClaims{}, via, false
			case c.Version > found.Version:
				found = c
			}
		}
	}
	if ok {
		via = viaCookie
	}
	return found, via, ok
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
