package token_test

import (
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

func BenchmarkDecode(b *testing.B) {
	r := ring(b, key("k1"), key("k0"))
	s, err := r.Encode(token.Claims{Secret: newSecret(), Version: 1234})
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
