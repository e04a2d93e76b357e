package httpsession

import (
	"iter"
	"net/http"
	"slices"
	"strings"
)

// keepPrivate runs on a response that hands the client a token or clears
// it, whose Cache-Control the handler may have written for a page anyone
// may see. A shared cache storing it would hand the Set-Cookie (or the
// token header) to the next client, and not every cache honours the
// no-cache="Set-Cookie" the middleware adds. So: "public" and "s-maxage"
// (which speak only to shared caches) are dropped, and "private" is added
// when the response would otherwise be fresh for a while (it had public,
// s-maxage or max-age, or an Expires header) and holds neither private
// nor no-store; it replaces a private="field" form, which would let
// shared caches keep the rest. Every other directive (no-store, no-cache, must-revalidate,
// the max-age a browser may use) stays as the handler wrote it.
func keepPrivate(h http.Header) {
	lines := h["Cache-Control"]
	fresh := h.Get("Expires") != ""
	if len(lines) == 0 && !fresh {
		return
	}
	var kept []string
	changed, private := false, false
	for _, line := range lines {
		for d := range directives(line) {
			name, _, _ := strings.Cut(d, "=")
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "public", "s-maxage":
				changed, fresh = true, true
				continue
			case "max-age":
				fresh = true
			case "no-store":
				private = true
			case "private":
				private = private || d == name // not private="field"
			}
			kept = append(kept, d)
		}
	}
	if fresh && !private {
		// The unqualified form covers the qualified ones.
		kept = slices.DeleteFunc(kept, func(d string) bool {
			name, _, qualified := strings.Cut(d, "=")
			return qualified && strings.EqualFold(strings.TrimSpace(name), "private")
		})
		kept = append([]string{"private"}, kept...)
		changed = true
	}
	if !changed {
		return
	}
	if len(kept) == 0 {
		h.Del("Cache-Control")
		return
	}
	h["Cache-Control"] = []string{strings.Join(kept, ", ")}
}

// directives yields the comma-separated directives of one Cache-Control
// line, trimmed, leaving commas inside quoted strings alone
// (no-cache="Set-Cookie, X-Token" is one directive).
func directives(line string) iter.Seq[string] {
	return func(yield func(string) bool) {
		start, quoted := 0, false
		for i := 0; i <= len(line); i++ {
			if i < len(line) {
				switch line[i] {
				case '"':
					quoted = !quoted
					continue
				case '\\':
					if quoted && i+1 < len(line) {
						i++ // the escaped character
					}
					continue
				case ',':
					if quoted {
						continue
					}
				default:
					continue
				}
			}
			if d := strings.TrimSpace(line[start:min(i, len(line))]); d != "" {
				if !yield(d) {
					return
				}
			}
			start = i + 1
		}
	}
}
