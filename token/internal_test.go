package token

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"
)

// strict is the reference decodeBase64 must agree with: the standard
// library's strict decoder, which also refuses line breaks here.
func strict(s string) ([]byte, bool) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	return b, err == nil
}

func checkDecodeBase64(t *testing.T, s string) {
	t.Helper()
	want, wantOK := strict(s)
	var dst [maxBinary]byte
	n, ok := decodeBase64(dst[:], s)
	if wantOK && len(want) > len(dst) {
		wantOK = false // does not fit: refused
	}
	if ok != wantOK || ok && !bytes.Equal(dst[:n], want) {
		t.Fatalf("decodeBase64(%q) = %x, %v; want %x, %v", s, dst[:n], ok, want, wantOK)
	}
}

func TestDecodeBase64MatchesStandardLibrary(t *testing.T) {
	for n := range maxBinary + 2 {
		b := make([]byte, n)
		rand.Read(b)
		s := base64.RawURLEncoding.EncodeToString(b)
		checkDecodeBase64(t, s)
		for i := range s { // every character replaced by every byte
			for c := range 256 {
				checkDecodeBase64(t, s[:i]+string([]byte{byte(c)})+s[i+1:])
			}
		}
		checkDecodeBase64(t, s+"=")
		checkDecodeBase64(t, s+"A")
		checkDecodeBase64(t, s+"\n")
	}
}

func FuzzDecodeBase64(f *testing.F) {
	f.Add("")
	f.Add("AQEBYQ")
	f.Add("AQEBYR")
	f.Add("AA==")
	f.Fuzz(func(t *testing.T, s string) { checkDecodeBase64(t, s) })
}

// equalMAC agrees with a plain comparison for equal MACs and for MACs that
// differ in any one bit.
func TestEqualMAC(t *testing.T) {
	var a [macSize]byte
	rand.Read(a[:])
	b := a
	if !equalMAC(&a, &b) {
		t.Fatal("equal MACs compared unequal")
	}
	for bit := range macSize * 8 {
		c := a
		c[bit/8] ^= 1 << (bit % 8)
		if equalMAC(&a, &c) || equalMAC(&c, &a) {
			t.Fatalf("MACs differing in bit %d compared equal", bit)
		}
	}
}
