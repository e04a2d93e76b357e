package token_test

import (
	"crypto/sha256"
	"encoding/base64"
	"math"
	"testing"

	"github.com/pgsession/pgsession/token"
)

// fuzzRings are a two-key ring and, for each key, a ring it signs, so any
// accepted token can be re-encoded with the key that signed it.
func fuzzRings(f *testing.F) (verify *token.Ring, signers map[string]*token.Ring) {
	a, b := key("a"), key("b-2025")
	verify = ring(f, a, b)
	signers = map[string]*token.Ring{"a": ring(f, a), "b-2025": ring(f, b)}
	return verify, signers
}

// Decode never panics, and whatever it accepts is exactly what Encode
// writes for the claims it returns.
func FuzzDecode(f *testing.F) {
	verify, signers := fuzzRings(f)
	for _, r := range signers {
		for _, v := range []int64{0, 1, 300, math.MaxInt64} {
			s, err := r.Encode(token.Claims{Secret: newSecret(), Version: v, Persistent: v%2 == 1})
			if err != nil {
				f.Fatal(err)
			}
			f.Add(s)
		}
	}
	f.Add("")
	f.Add(newSecret())
	f.Add("AQEBYQ")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := verify.Decode(s)
		raw, rawErr := verify.DecodeRaw(s)
		if err != nil {
			if err != token.ErrInvalid || rawErr != token.ErrInvalid {
				t.Fatalf("Decode, DecodeRaw: want ErrInvalid for both, got %v, %v", err, rawErr)
			}
			return
		}
		if rawErr != nil || raw.Claims() != c || raw.SecretSHA256 != sha256.Sum256(raw.Secret[:]) {
			t.Fatalf("DecodeRaw disagrees with Decode: %+v, %v; want %+v", raw.Claims(), rawErr, c)
		}
		signer, ok := signers[c.KeyID]
		if !ok {
			t.Fatalf("accepted a token from key %q, which the ring does not hold", c.KeyID)
		}
		again, err := signer.Encode(c)
		if err != nil {
			t.Fatalf("accepted claims do not encode: %v", err)
		}
		if again != s {
			t.Fatalf("accepted token does not re-encode byte for byte:\n in  %q\n out %q", s, again)
		}
	})
}

// Any single-byte change, insertion (including an append), deletion or
// truncation of a valid token is refused. The fuzzer picks the claims, the
// signing key, the kind of change, its position and the byte.
func FuzzTamper(f *testing.F) {
	verify, signers := fuzzRings(f)
	rings := []*token.Ring{signers["a"], signers["b-2025"]}
	f.Add([]byte("0123456789abcdef0123456789abcdef"), int64(1), false, false, uint8(0), uint16(0), byte('A'))
	f.Add([]byte{}, int64(math.MaxInt64), true, true, uint8(1), uint16(200), byte('\n'))
	f.Add([]byte{0xff}, int64(128), false, true, uint8(2), uint16(5), byte(0))
	f.Add([]byte{7, 7, 7}, int64(0), true, false, uint8(3), uint16(91), byte('_'))
	f.Add([]byte{1}, int64(42), false, false, uint8(1), uint16(9999), byte('='))
	f.Fuzz(func(t *testing.T, seed []byte, version int64, persistent, keyB bool, kind uint8, pos uint16, b byte) {
		var raw [32]byte
		copy(raw[:], seed)
		signer := rings[0]
		if keyB {
			signer = rings[1]
		}
		c := token.Claims{
			Secret:     base64.RawURLEncoding.EncodeToString(raw[:]),
			Version:    version & math.MaxInt64,
			Persistent: persistent,
		}
		valid, err := signer.Encode(c)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := verify.Decode(valid); err != nil {
			t.Fatalf("valid token refused: %v", err)
		}

		tok := []byte(valid)
		var changed []byte
		switch kind % 4 {
		case 0: // replace one byte
			i := int(pos) % len(tok)
			if tok[i] == b {
				return // not a change
			}
			changed = append([]byte(nil), tok...)
			changed[i] = b
		case 1: // insert one byte; at the end, an append
			i := int(pos) % (len(tok) + 1)
			changed = append(append(append([]byte(nil), tok[:i]...), b), tok[i:]...)
		case 2: // truncate
			changed = tok[:int(pos)%len(tok)]
		case 3: // delete one byte
			i := int(pos) % len(tok)
			changed = append(append([]byte(nil), tok[:i]...), tok[i+1:]...)
		}
		if got, err := verify.Decode(string(changed)); err != token.ErrInvalid {
			t.Fatalf("tampered token (kind %d) %q accepted: %+v, %v", kind%4, changed, got, err)
		}
	})
}
