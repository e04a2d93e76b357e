package main

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestForTerminal(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"":                                 "",
		"Mozilla/5.0 (X11; Linux x86_64)":  "Mozilla/5.0 (X11; Linux x86_64)",
		"émile 東京 🙂":                       "émile 東京 🙂",
		"\x1b]0;pwned\x07":                 `\x1b]0;pwned\a`,
		"\x1b[2J\x1b[H":                    `\x1b[2J\x1b[H`,
		"new\nline\ttab\rcr":               `new\nline\ttab\rcr`,
		"del\x7f":                          `del\x7f`,
		"c1 csi \u009b31m":                 `c1 csi \u009b31m`,
		"abc\u202edcba":                    `abc\u202edcba`,
		"\u2066isolate\u2069 \u200f\u061c": `\u2066isolate\u2069 \u200f\u061c`,
		`back\slash`:                       `back\\slash`,
		"bad\xffutf8 \x9b":                 `bad\xffutf8 \x9b`,
		"real \uFFFD stays":                "real \uFFFD stays",
		"zero\u200dwidth joiner stays":     "zero\u200dwidth joiner stays",
	} {
		require.Equal(t, want, forTerminal(in), "%q", in)
	}
}

// The JSON output holds no raw hostile character, and decodes to the very
// values that went in.
func TestJSONForTerminal(t *testing.T) {
	t.Parallel()
	in := map[string]string{
		"ua":    "\x1b]0;pwned\x07 del\x7f c1\u009b bidi\u202e\u2067 é 🙂 <&> \\",
		"plain": "laptop/1.0",
	}
	b, err := json.MarshalIndent(in, "", "  ")
	require.NoError(t, err)
	out := jsonForTerminal(b)
	require.NotContains(t, string(out), "\x7f")
	require.NotContains(t, string(out), "\u009b")
	require.NotContains(t, string(out), "\u202e")
	require.NotContains(t, string(out), "\u2067")
	require.NotContains(t, string(out), "\x1b")
	require.Contains(t, string(out), `del\u007f c1\u009b bidi\u202e\u2067 é 🙂`)
	var back map[string]string
	require.NoError(t, json.Unmarshal(out, &back))
	require.Equal(t, in, back)
}
