package secretid

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"github.com/pgsession/pgsession/internal/shani"
	"testing"
)

// Known answers: SHA-256 of 32 zero bytes and of the bytes 0x00..0x1f
// (computed independently, with sha256sum).
func TestKnownAnswers(t *testing.T) {
	var zero, counting [Size]byte
	for i := range counting {
		counting[i] = byte(i)
	}
	for _, c := range []struct {
		in   [Size]byte
		want string
	}{
		{zero, "66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925"},
		{counting, "630dcd2966c4336691125448bbb25b4ff412a49c732db2c8abc1b8581bd710dd"},
	} {
		got := Of(&c.in)
		if hex.EncodeToString(got[:]) != c.want {
			t.Fatalf("Of(%x) = %x, want %s", c.in, got, c.want)
		}
	}
}

// Every path gives crypto/sha256's bytes, for random secrets and for
// secrets with one bit set (each bit position of the input reaches the
// output through the message schedule).
func TestMatchesCryptoSHA256(t *testing.T) {
	check := func(in [Size]byte) {
		t.Helper()
		want := sha256.Sum256(in[:])
		if got := Of(&in); got != want {
			t.Fatalf("Of(%x) = %x, want %x", in, got, want)
		}
		if accelerated {
			var got [Size]byte
			sum32(&got, &in)
			if got != want {
				t.Fatalf("sum32(%x) = %x, want %x", in, got, want)
			}
		}
	}
	for bit := range Size * 8 {
		var in [Size]byte
		in[bit/8] = 1 << (bit % 8)
		check(in)
	}
	for range 10000 {
		var in [Size]byte
		rand.Read(in[:])
		check(in)
	}
	var ones [Size]byte
	for i := range ones {
		ones[i] = 0xff
	}
	check(ones)
}

// The SHA extensions are used where the CPU has them; this records which
// path the other tests covered.
func TestAcceleratedPath(t *testing.T) {
	if !Accelerated() {
		t.Skip("this CPU has no SHA extensions (or purego): Of is crypto/sha256.Sum256, covered above")
	}
	var in [Size]byte
	var out [Size]byte
	sum32(&out, &in)
	if out != sha256.Sum256(in[:]) {
		t.Fatal("sum32 disagrees with crypto/sha256")
	}
}

func FuzzOf(f *testing.F) {
	f.Add(make([]byte, Size))
	f.Fuzz(func(t *testing.T, b []byte) {
		var in [Size]byte
		copy(in[:], b)
		if got, want := Of(&in), sha256.Sum256(in[:]); got != want {
			t.Fatalf("Of(%x) = %x, want %x", in, got, want)
		}
	})
}

// BenchmarkOf times Of beside crypto/sha256.Sum256, the baseline, in one run.
func BenchmarkOf(b *testing.B) {
	var in [Size]byte
	rand.Read(in[:])
	var sink [Size]byte
	b.Run("crypto-sha256", func(b *testing.B) {
		for b.Loop() {
			sink = sha256.Sum256(in[:])
		}
	})
	b.Run("secretid", func(b *testing.B) {
		for b.Loop() {
			sink = Of(&in)
		}
	})
	_ = sink
}

// The assembly path is taken exactly where internal/shani allows it (its
// own test compares that with what the CPU lists).
func TestSHAExtensionsAreUsedWhereAvailable(t *testing.T) {
	if Accelerated() != shani.Available {
		t.Fatalf("accelerated is %v, internal/shani says %v", Accelerated(), shani.Available)
	}
}
