package pgsession

import (
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"
)

// The table decoder agrees with encoding/base64's strict decoder on every
// input: random secrets, and every single-character change of one.
func TestDecodeSecretMatchesEncodingBase64(t *testing.T) {
	check := func(s string) {
		var got [secretSize]byte
		ok := decodeSecret(s, &got)
		want, err := base64.RawURLEncoding.Strict().DecodeString(s)
		wantOK := err == nil && len(want) == secretSize
		if ok != wantOK || (ok && string(got[:]) != string(want)) {
			t.Fatalf("%q: decodeSecret %v %x, encoding/base64 %v %x", s, ok, got, wantOK, want)
		}
	}
	for range 200 {
		var b [secretSize]byte
		rand.Read(b[:])
		tok := base64.RawURLEncoding.EncodeToString(b[:])
		check(tok)
		for i := range len(tok) {
			for _, c := range []byte{'A', 'z', '-', '_', '+', '/', '=', 0, 0xff, tok[i] ^ 1} {
				bs := []byte(tok)
				bs[i] = c
				check(string(bs))
			}
		}
		check(tok[:42])
		check(tok + "A")
	}
}

func FuzzDecodeSecret(f *testing.F) {
	f.Add("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Fuzz(func(t *testing.T, s string) {
		var got [secretSize]byte
		ok := decodeSecret(s, &got)
		if strings.ContainsAny(s, "\r\n") {
			// encoding/base64 skips line breaks even in strict mode; a token has none.
			if ok {
				t.Fatalf("%q accepted with a line break", s)
			}
			return
		}
		want, err := base64.RawURLEncoding.Strict().DecodeString(s)
		if ok != (err == nil && len(want) == secretSize) || (ok && string(got[:]) != string(want)) {
			t.Fatalf("%q disagrees", s)
		}
	})
}

func BenchmarkDecodeSecret(b *testing.B) {
	tok, _ := newToken()
	var out [secretSize]byte
	for b.Loop() {
		if !decodeSecret(tok, &out) {
			b.Fatal("refused")
		}
	}
}
