package main

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// User agents, IPs and user IDs come from clients, and a terminal acts on
// some characters instead of showing them: an escape sequence in a user
// agent could retitle the operator's window, rewrite what is on screen or
// worse. The CLI shows every such value through forTerminal (tables and
// messages) or jsonForTerminal (-json output).

// hostile reports a character a terminal acts on or that changes how the
// text around it is shown: the C0 controls, DEL and the C1 controls
// (unicode.IsControl), and the bidirectional controls such as U+202E, which
// reverse the text after them.
func hostile(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r)
}

// forTerminal returns s with each hostile character written as a Go escape
// (\x1b, \a, \u202e), each byte of invalid UTF-8 as \xNN, and the backslash
// as \\, so an escape on screen always stands for an escaped character,
// never for text a client sent that looks like one.
func forTerminal(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		r, n := utf8.DecodeRuneInString(s)
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[0])
		case r == '\\' || hostile(r):
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[:n])
		}
		s = s[n:]
	}
	return b.String()
}

// jsonForTerminal rewrites the hostile characters that encoding/json leaves
// raw in its output (DEL, C1 and bidirectional controls; it escapes the C0
// ones itself and replaces invalid UTF-8) as JSON \u escapes. They can only
// stand inside strings, which decode to the same value.
func jsonForTerminal(b []byte) []byte {
	var out bytes.Buffer
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r >= 0x7f && hostile(r) {
			for _, u := range utf16.Encode([]rune{r}) {
				fmt.Fprintf(&out, `\u%04x`, u)
			}
		} else {
			out.Write(b[:n])
		}
		b = b[n:]
	}
	return out.Bytes()
}
