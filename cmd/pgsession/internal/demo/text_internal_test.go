package demo

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDevice(t *testing.T) {
	for ua, want := range map[string]string{
		"": "unknown device",
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/126.0.0.0 Safari/537.36":         "Headless Chrome on Linux",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36 Edg/126.0": "Edge on Windows",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15":    "Safari on macOS",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile Safari/604.1":   "Safari on iPhone",
		"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36":     "Chrome on Android",
		"Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0":                                        "Firefox on Linux",
		"curl/7.88.1":           "curl",
		"Go-http-client/1.1":    "Go client",
		"laptop/1.0":            "laptop",
		strings.Repeat("é", 30): strings.Repeat("é", 24) + "…",
	} {
		require.Equal(t, want, device(ua), ua)
	}
}

func TestCleanUser(t *testing.T) {
	for in, want := range map[string]string{
		"alice":                 "alice",
		"  Ada Lovelace ":       "Ada Lovelace",
		"émile@example.com":     "émile@example.com",
		strings.Repeat("ж", 64): strings.Repeat("ж", 64),
		"":                      "",
		"   ":                   "",
		strings.Repeat("x", 65): "",
		"new\nline":             "",
		"nul\x00":               "",
		"bad\xffutf8":           "",
		"zero\u200bwidth":       "",
		"right\u202eleft":       "",
	} {
		got, err := cleanUser(in)
		if want == "" {
			require.ErrorIs(t, err, errBadName, "%q", in)
			continue
		}
		require.NoError(t, err, "%q", in)
		require.Equal(t, want, got)
	}
}
