package token_test

import (
	"strings"
	"testing"

	"github.com/pgsession/pgsession/token"
)

func BenchmarkEncode(b *testing.B) {
	r := ring(b, key("k1"))
	c := token.Claims{Secret: newSecret(), Version: 1234}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Encode(c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecode times Decode and DecodeRaw on a valid token with a short
// key ID and a small version (one block of MAC input), on one with the
// longest key ID and version (two blocks), and on tokens refused.
func BenchmarkDecode(b *testing.B) {
	r := ring(b, key("k1"), key("k0"))
	s, err := r.Encode(token.Claims{Secret: newSecret(), Version: 1234})
	if err != nil {
		b.Fatal(err)
	}
	long := ring(b, key(strings.Repeat("k", token.MaxKeyIDLen)))
	sLong, err := long.Encode(token.Claims{Secret: newSecret(), Version: 1 << 62})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("valid", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := r.Decode(s); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("valid-raw", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := r.DecodeRaw(s); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("valid-longest", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := long.Decode(sLong); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("valid-raw-longest", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := long.DecodeRaw(sLong); err != nil {
				b.Fatal(err)
			}
		}
	})
	bad := s[:len(s)-2] + "AA"
	b.Run("bad-mac", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := r.Decode(bad); err == nil {
				b.Fatal("accepted")
			}
		}
	})
	b.Run("garbage", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := r.Decode("not a token at all"); err == nil {
				b.Fatal("accepted")
			}
		}
	})
}
