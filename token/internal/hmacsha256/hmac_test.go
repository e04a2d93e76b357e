package hmacsha256

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"github.com/pgsession/pgsession/internal/shani"
	"testing"
)

// keys returns the key for secret on every path this machine has: the
// accelerated one if the CPU allows it, and always crypto/hmac's.
func keys(secret []byte) []*Key {
	ks := []*Key{newKey(secret, false)}
	if accelerated {
		ks = append(ks, newKey(secret, true))
	}
	return ks
}

// sum and sumAndHash return what Sum and SumAndHash write.
func sum(k *Key, msg []byte) (mac [Size]byte) {
	k.Sum(&mac, msg)
	return mac
}

func sumAndHash(k *Key, msg []byte, data *[Size]byte) (mac, hash [Size]byte) {
	k.SumAndHash(&mac, &hash, msg, data)
	return mac, hash
}

func want(secret, msg []byte) [Size]byte {
	m := hmac.New(sha256.New, secret)
	m.Write(msg)
	return [Size]byte(m.Sum(nil))
}

// Known answers: RFC 4231, test cases 1, 2, 4, 6 and 7 (case 5 truncates
// the MAC; case 3's key and data are cases 4's shape).
func TestRFC4231(t *testing.T) {
	counting := make([]byte, 25)
	for i := range counting {
		counting[i] = byte(i + 1)
	}
	long := bytes.Repeat([]byte{0xaa}, 131)
	for _, c := range []struct {
		name      string
		key, data []byte
		mac       string
	}{
		{"1", bytes.Repeat([]byte{0x0b}, 20), []byte("Hi There"),
			"b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
		{"2", []byte("Jefe"), []byte("what do ya want for nothing?"),
			"5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
		{"4", counting, bytes.Repeat([]byte{0xcd}, 50),
			"82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
		{"6", long, []byte("Test Using Larger Than Block-Size Key - Hash Key First"),
			"60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
		{"7", long, []byte("This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm."),
			"9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
	} {
		for _, k := range keys(c.key) {
			got := sum(k, c.data)
			if hex.EncodeToString(got[:]) != c.mac {
				t.Errorf("case %s (accelerated %v): got %x, want %s", c.name, k.accel, got, c.mac)
			}
		}
	}
}

// Every path gives crypto/hmac's bytes: every message length across the
// block and padding boundaries, keys shorter than, equal to and longer
// than a block, and every single-bit change of a message.
func TestMatchesCryptoHMAC(t *testing.T) {
	for _, keyLen := range []int{0, 1, 32, 63, 64, 65, 200, 1024} {
		secret := make([]byte, keyLen)
		rand.Read(secret)
		ks := keys(secret)
		for msgLen := range 300 {
			msg := make([]byte, msgLen)
			rand.Read(msg)
			w := want(secret, msg)
			var data [Size]byte
			rand.Read(data[:])
			for _, k := range ks {
				if got := sum(k, msg); got != w {
					t.Fatalf("key %d bytes, message %d bytes, accelerated %v: got %x, want %x", keyLen, msgLen, k.accel, got, w)
				}
				checkSumAndHash(t, k, msg, &data, w)
			}
		}
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	ks := keys(secret)
	msg := make([]byte, 76) // the longest token MAC input: two blocks
	for bit := range len(msg) * 8 {
		clear(msg)
		msg[bit/8] = 1 << (bit % 8)
		w := want(secret, msg)
		data := [Size]byte(msg[:Size])
		for _, k := range ks {
			if got := sum(k, msg); got != w {
				t.Fatalf("bit %d, accelerated %v: got %x, want %x", bit, k.accel, got, w)
			}
			checkSumAndHash(t, k, msg, &data, w)
		}
	}
}

// checkSumAndHash checks that SumAndHash gives crypto/hmac's MAC, w, and
// crypto/sha256's hash of data.
func checkSumAndHash(t *testing.T, k *Key, msg []byte, data *[Size]byte, w [Size]byte) {
	t.Helper()
	mac, hash := sumAndHash(k, msg, data)
	if mac != w || hash != sha256.Sum256(data[:]) {
		t.Fatalf("SumAndHash(%x, %x), accelerated %v: got %x, %x; want %x, %x", msg, data, k.accel, mac, hash, w, sha256.Sum256(data[:]))
	}
}

// The key does not depend on the caller's copy of the secret.
func TestKeyKeepsNoReference(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	w := want(secret, []byte("m"))
	ks := keys(secret)
	clear(secret)
	for _, k := range ks {
		if sum(k, []byte("m")) != w {
			t.Fatalf("accelerated %v: the key changed with the caller's secret", k.accel)
		}
	}
}

func TestSumAllocatesNothing(t *testing.T) {
	for _, k := range keys(make([]byte, 32)) {
		var msg [76]byte
		var mac, hash, data [Size]byte
		k.Sum(&mac, msg[:]) // fill the pool
		if n := testing.AllocsPerRun(100, func() { k.Sum(&mac, msg[:]) }); n != 0 && !(raceEnabled && !k.accel) {
			t.Errorf("accelerated %v: %v allocations per Sum", k.accel, n)
		}
		if n := testing.AllocsPerRun(100, func() { k.SumAndHash(&mac, &hash, msg[:], &data) }); n != 0 && !(raceEnabled && !k.accel) {
			t.Errorf("accelerated %v: %v allocations per SumAndHash", k.accel, n)
		}
	}
}

func FuzzSum(f *testing.F) {
	f.Add([]byte("key"), []byte("message"))
	f.Add(make([]byte, 65), make([]byte, 55))
	f.Add(make([]byte, 32), make([]byte, 56))
	f.Fuzz(func(t *testing.T, secret, msg []byte) {
		w := want(secret, msg)
		var data [Size]byte
		copy(data[:], secret)
		for _, k := range keys(secret) {
			if got := sum(k, msg); got != w {
				t.Fatalf("accelerated %v: got %x, want %x", k.accel, got, w)
			}
			checkSumAndHash(t, k, msg, &data, w)
		}
	})
}

// The assembly path is taken exactly where internal/shani allows it (its
// own test compares that with what the CPU lists).
func TestSHAExtensionsAreUsedWhereAvailable(t *testing.T) {
	if accelerated != shani.Available {
		t.Fatalf("accelerated is %v, internal/shani says %v", accelerated, shani.Available)
	}
}

// BenchmarkSum times Sum on a token's MAC input (one block and two) beside
// crypto/hmac with its state reused, the way token.Ring used it.
func BenchmarkSum(b *testing.B) {
	secret := make([]byte, 32)
	rand.Read(secret)
	for _, n := range []int{55, 76} {
		msg := make([]byte, n)
		var sink [Size]byte
		b.Run(map[int]string{55: "one-block", 76: "two-blocks"}[n]+"/crypto-hmac", func(b *testing.B) {
			m := hmac.New(sha256.New, secret)
			for b.Loop() {
				m.Reset()
				m.Write(msg)
				m.Sum(sink[:0])
			}
		})
		b.Run(map[int]string{55: "one-block", 76: "two-blocks"}[n]+"/hmacsha256", func(b *testing.B) {
			k := New(secret)
			for b.Loop() {
				k.Sum(&sink, msg)
			}
		})
		b.Run(map[int]string{55: "one-block", 76: "two-blocks"}[n]+"/crypto-hmac+sha256", func(b *testing.B) {
			m := hmac.New(sha256.New, secret)
			var data [Size]byte
			for b.Loop() {
				m.Reset()
				m.Write(msg)
				m.Sum(sink[:0])
				sink = sha256.Sum256(data[:])
			}
		})
		b.Run(map[int]string{55: "one-block", 76: "two-blocks"}[n]+"/hmacsha256-and-hash", func(b *testing.B) {
			k := New(secret)
			var data [Size]byte
			var hash [Size]byte
			for b.Loop() {
				k.SumAndHash(&sink, &hash, msg, &data)
			}
		})
	}
}
