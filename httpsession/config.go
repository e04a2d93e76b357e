package httpsession

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/token"
)

// Config configures a Middleware. New fills every unset field with its
// documented default and rejects combinations that cannot work.
type Config struct {
	// Manager keeps the sessions. Required.
	Manager *pgsession.Manager
	// Keys signs new tokens and verifies the ones clients bring (see
	// package token for rotation). Required.
	Keys *token.Ring

	// Cookie configures the cookie transport, which is on unless
	// Cookie.Disabled.
	Cookie CookieConfig

	// CrossOrigin configures the refusal of cross-origin unsafe requests
	// (CSRF), which is on unless CrossOrigin.Disabled.
	CrossOrigin CrossOriginConfig

	// Header names the request header that carries a token, for clients
	// that do not keep cookies. "Authorization" reads "Bearer <token>" (the
	// scheme in any case); any other name reads the header's whole value.
	// When a request carries both a header token and a cookie, the header's
	// is tried first. Defaults to "": no header transport.
	Header string
	// ResponseHeader names the response header that hands a new or
	// refreshed token to a header client. After LogOut it is sent empty.
	// Browsers reading it from another origin need it listed in
	// Access-Control-Expose-Headers, which is the application's to set.
	// Defaults to Header, or "X-Session-Token" when Header is
	// "Authorization".
	ResponseHeader string

	// Strict makes every save a version-checked update
	// (pgsession.IfVersion with the version the request read): if another
	// request changed the session meanwhile, the whole patch is refused and
	// OnError receives pgsession.ErrVersionConflict. Defaults to false:
	// saves patch only the keys they name, so concurrent requests changing
	// different keys all succeed.
	Strict bool

	// RememberLifetime is the session lifetime LogIn gives when called with
	// RememberMe(true). Defaults to 30 days.
	RememberLifetime time.Duration
	// RememberIdleTimeout is the idle timeout LogIn gives a remembered
	// session (RememberMe(true)), in place of the Manager's: a user who
	// asked to be remembered for 30 days should not be logged out after two
	// idle hours. Defaults to RememberLifetime, so only the lifetime ends a
	// remembered session. (A positive value rather than -1: the Manager's
	// Renew cannot switch idle expiry off.)
	RememberIdleTimeout time.Duration

	// ClientInfo returns the user agent and client address recorded when a
	// session is created or renewed (shown in pgsession's session lists).
	// Behind a proxy, return the address it forwards. Defaults to the
	// User-Agent header and the host part of Request.RemoteAddr.
	ClientInfo func(r *http.Request) (userAgent, ip string)

	// WriteTimeout bounds each database write the middleware makes (saving
	// a patch, creating, renewing, ending a session). These writes run even
	// if the client has gone away, so a log out is never lost to a closed
	// connection. Defaults to 5 seconds.
	WriteTimeout time.Duration

	// OnReauth answers a request that RequireRecentAuth refuses: typically
	// a redirect to the log-in page, which calls LogIn again. err says how
	// old the authentication was. Defaults to 403 Forbidden with a plain
	// text body (403 rather than 401, which would need a WWW-Authenticate
	// challenge no HTTP authentication scheme fits).
	OnReauth func(w http.ResponseWriter, r *http.Request, err *ReauthError)

	// OnError receives every error the handler does not see through a
	// return value: saves that failed or were refused, database errors
	// while loading a session, and changes made after the response was
	// written (ErrResponseWritten). It runs on the request's goroutine,
	// with no lock held; it must not write the response. Errors never
	// contain a token. Defaults to logging with slog.Default() at level
	// Error.
	OnError func(r *http.Request, err error)
}

// CookieConfig configures the cookie transport. The zero value gives a
// cookie named "__Host-session" with HttpOnly, Secure, SameSite=Lax and
// Path=/ that lasts as long as the browser session.
type CookieConfig struct {
	// Disabled turns the cookie transport off; Config.Header must then be
	// set. Defaults to false.
	Disabled bool
	// Name is the cookie's name. Defaults to "session".
	Name string
	// HostPrefix prefixes Name with "__Host-", which browsers accept only
	// from a secure origin with Path=/ and no Domain: a sibling subdomain
	// or a plain-HTTP page then cannot plant, shadow or overwrite the
	// cookie (cookie tossing). New rejects it together with Insecure,
	// Domain or a Path other than "/". A Name that already starts with
	// "__Host-" implies it. Defaults to true whenever the cookie can carry
	// the prefix (not Insecure, Path "/", no Domain, a Name without the
	// "__Secure-" prefix), unless NoHostPrefix.
	HostPrefix bool
	// NoHostPrefix keeps the cookie's name as Name, without the "__Host-"
	// prefix HostPrefix would otherwise add by default: for a cookie that
	// other software reads by its bare name, or to keep the cookies already
	// issued under the bare name valid while upgrading. It gives up the
	// protection against cookie tossing. Defaults to false.
	NoHostPrefix bool
	// Domain is the cookie's Domain attribute. Defaults to "": the cookie
	// goes back only to the host that set it.
	Domain string
	// Path is the cookie's Path attribute. Defaults to "/".
	Path string
	// Insecure leaves out the Secure attribute, so browsers also send the
	// cookie over plain HTTP. For local development only. Defaults to false.
	Insecure bool
	// ScriptAccess leaves out the HttpOnly attribute, so page scripts can
	// read the token. Defaults to false.
	ScriptAccess bool
	// SameSite is the cookie's SameSite attribute. Defaults to
	// http.SameSiteLaxMode; http.SameSiteDefaultMode leaves the attribute
	// out; http.SameSiteNoneMode requires Secure.
	SameSite http.SameSite
	// Persist makes every cookie persistent (Max-Age and Expires set to the
	// session's end), not only those issued by LogIn with RememberMe(true).
	// Defaults to false: a cookie lasts as long as the browser session
	// unless the user asked to be remembered.
	Persist bool
}

const (
	defaultCookieName       = "session"
	defaultResponseHeader   = "X-Session-Token"
	defaultRememberLifetime = 30 * 24 * time.Hour
	defaultWriteTimeout     = 5 * time.Second
	hostPrefix              = "__Host-"
	securePrefix            = "__Secure-"
)

// withDefaults returns cfg with every unset field filled, and checks it.
func (cfg Config) withDefaults() (Config, error) {
	bad := func(format string, args ...any) (Config, error) {
		return cfg, fmt.Errorf("httpsession: %w: "+format, append([]any{pgsession.ErrInvalidConfig}, args...)...)
	}
	if cfg.Manager == nil {
		return bad("Manager is required")
	}
	if cfg.Keys == nil {
		return bad("Keys is required")
	}
	c := &cfg.Cookie
	if c.Disabled && cfg.Header == "" {
		return bad("no transport: the cookie is disabled and Header is empty")
	}
	if c.Name == "" {
		c.Name = defaultCookieName
	}
	if strings.HasPrefix(c.Name, hostPrefix) {
		c.HostPrefix = true
		c.Name = strings.TrimPrefix(c.Name, hostPrefix)
	}
	if c.Path == "" {
		c.Path = "/"
	}
	if c.SameSite == 0 {
		c.SameSite = http.SameSiteLaxMode
	}
	if c.HostPrefix && c.NoHostPrefix {
		return bad("HostPrefix (or a __Host- name) and NoHostPrefix contradict each other")
	}
	if !c.NoHostPrefix && !c.Insecure && c.Domain == "" && c.Path == "/" && !strings.HasPrefix(c.Name, securePrefix) {
		c.HostPrefix = true
	}
	if !c.Disabled {
		name := c.fullName()
		if c.Name == "" {
			return bad("cookie name %q has nothing after its prefix", name)
		}
		if err := (&http.Cookie{Name: name, Value: "x"}).Valid(); err != nil {
			return bad("cookie name %q: %v", name, err)
		}
		switch {
		case c.HostPrefix && (c.Insecure || c.Domain != "" || c.Path != "/"):
			return bad("a __Host- cookie needs Secure (no Insecure), Path \"/\" and no Domain")
		case strings.HasPrefix(name, securePrefix) && c.Insecure:
			return bad("a __Secure- cookie needs Secure (no Insecure)")
		case c.SameSite == http.SameSiteNoneMode && c.Insecure:
			return bad("SameSite=None needs Secure (no Insecure)")
		case c.SameSite < http.SameSiteDefaultMode || c.SameSite > http.SameSiteNoneMode:
			return bad("unknown SameSite value %d", c.SameSite)
		case !validCookieAttr(c.Path) || !validCookieAttr(c.Domain):
			return bad("cookie Path and Domain must be printable ASCII without ';'")
		}
	}
	if cfg.Header != "" {
		if !validHeaderName(cfg.Header) {
			return bad("Header %q is not a valid header name", cfg.Header)
		}
		cfg.Header = http.CanonicalHeaderKey(cfg.Header)
		if cfg.Header == "Cookie" || cfg.Header == "Set-Cookie" {
			return bad("Header must not be %q; use the cookie transport", cfg.Header)
		}
		if cfg.ResponseHeader == "" {
			cfg.ResponseHeader = cfg.Header
			if cfg.Header == "Authorization" {
				cfg.ResponseHeader = defaultResponseHeader
			}
		}
		if !validHeaderName(cfg.ResponseHeader) {
			return bad("ResponseHeader %q is not a valid header name", cfg.ResponseHeader)
		}
		cfg.ResponseHeader = http.CanonicalHeaderKey(cfg.ResponseHeader)
		switch cfg.ResponseHeader {
		case "Authorization", "Set-Cookie", "Cookie", "Cache-Control", "Vary":
			return bad("ResponseHeader must not be %q", cfg.ResponseHeader)
		}
	}
	if cfg.RememberLifetime == 0 {
		cfg.RememberLifetime = defaultRememberLifetime
	}
	if cfg.RememberIdleTimeout == 0 {
		cfg.RememberIdleTimeout = cfg.RememberLifetime
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = defaultWriteTimeout
	}
	if cfg.RememberLifetime < 0 || cfg.RememberIdleTimeout < 0 || cfg.WriteTimeout < 0 {
		return bad("RememberLifetime, RememberIdleTimeout and WriteTimeout must be positive")
	}
	if err := cfg.CrossOrigin.check(); err != nil {
		return bad("CrossOrigin: %v", err)
	}
	if cfg.ClientInfo == nil {
		cfg.ClientInfo = defaultClientInfo
	}
	if cfg.OnReauth == nil {
		cfg.OnReauth = refuseReauth
	}
	if cfg.OnError == nil {
		cfg.OnError = logError
	}
	return cfg, nil
}

// fullName is the cookie name as sent, prefix included.
func (c *CookieConfig) fullName() string {
	if c.HostPrefix {
		return hostPrefix + c.Name
	}
	return c.Name
}

func defaultClientInfo(r *http.Request) (userAgent, ip string) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return r.UserAgent(), host
}

func logError(r *http.Request, err error) {
	slog.Default().ErrorContext(r.Context(), "httpsession",
		slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("err", err))
}

// validHeaderName reports whether s is an RFC 9110 token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			continue
		}
		if !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}

func validCookieAttr(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= 0x7f || s[i] == ';' {
			return false
		}
	}
	return true
}
