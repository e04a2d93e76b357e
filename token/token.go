package token

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrInvalid means a token cannot be accepted: malformed, longer than
// MaxLen, signed with a key the ring does not hold, or altered. A transport
// treats it as "no session", never as an error page.
var ErrInvalid = errors.New("invalid token")

// Claims is what a token carries.
type Claims struct {
	// Secret is the session's secret token, as pgsession's Session.Token()
	// returns it: 32 bytes in unpadded base64url (43 characters).
	Secret string
	// Version is the session version the client last saw (>= 0); pass it to
	// pgsession.MinVersion.
	Version int64
	// Persistent records that the client asked to be remembered, so a
	// cookie transport keeps issuing a persistent cookie.
	Persistent bool
	// KeyID is set by Decode to the ID of the key that signed the token.
	// Encode ignores it and signs with the ring's signing key.
	KeyID string
}

// SecretSize is the length of a session secret in bytes.
const SecretSize = 32

// RawClaims is Claims with the session secret as its 32 bytes rather than
// their text, for a transport that reads a token on every request:
// DecodeRaw allocates nothing.
type RawClaims struct {
	Secret     [SecretSize]byte
	Version    int64
	Persistent bool
	KeyID      string // set by DecodeRaw; EncodeRaw ignores it

	// SecretSHA256 is set by DecodeRaw to the SHA-256 of Secret, which is
	// the session's pgsession.ID. Computed with the token's MAC, it costs
	// less there than on its own. EncodeRaw ignores it.
	SecretSHA256 [32]byte
}

// Claims returns c with the secret as text. It allocates the text.
func (c RawClaims) Claims() Claims {
	var text [secretTextLen]byte
	base64.RawURLEncoding.Encode(text[:], c.Secret[:])
	return Claims{Secret: string(text[:]), Version: c.Version, Persistent: c.Persistent, KeyID: c.KeyID}
}

// Sizes of the format (see the package documentation).
const (
	formatV1   = 1
	secretSize = SecretSize
	macSize    = 32
	headerSize = 3 // format, flags, key ID length

	flagPersistent = 1 << 0
	knownFlags     = flagPersistent

	minBinary = headerSize + 1 + secretSize + 1 + macSize
	maxBinary = headerSize + MaxKeyIDLen + secretSize + binary.MaxVarintLen64 - 1 + macSize

	// secretTextLen is the length of Claims.Secret.
	secretTextLen = (secretSize*8 + 5) / 6
)

// MinLen and MaxLen bound a token's length in characters. Decode refuses
// anything outside them before looking at a single byte.
const (
	MinLen = (minBinary*8 + 5) / 6
	MaxLen = (maxBinary*8 + 5) / 6
)

// domain starts every MAC input, so a MAC made for anything else with the
// same key can never pass for a token's.
const domain = "pgsession-token\x00"

// Encode returns the token for c, signed with the ring's signing key. The
// result is deterministic: the same claims and key give the same token.
// It fails only if c.Secret is not a session secret or c.Version < 0.
func (r *Ring) Encode(c Claims) (string, error) {
	if len(c.Secret) != secretTextLen {
		return "", fmt.Errorf("token: encode: secret is %d characters, want %d", len(c.Secret), secretTextLen)
	}
	raw := RawClaims{Version: c.Version, Persistent: c.Persistent}
	if n, ok := decodeBase64(raw.Secret[:], c.Secret); !ok || n != secretSize {
		return "", errors.New("token: encode: secret is not unpadded base64url of 32 bytes")
	}
	return r.EncodeRaw(raw)
}

// EncodeRaw is Encode for claims whose secret is bytes. It fails only if
// c.Version < 0.
func (r *Ring) EncodeRaw(c RawClaims) (string, error) {
	if c.Version < 0 {
		return "", fmt.Errorf("token: encode: negative version %d", c.Version)
	}
	k := r.keys[0]
	var buf [len(domain) + maxBinary]byte // the MAC input, then the token
	b := buf[:len(domain)]
	var flags byte
	if c.Persistent {
		flags |= flagPersistent
	}
	b = append(b, formatV1, flags, byte(len(k.id)))
	b = append(b, k.id...)
	b = append(b, c.Secret[:]...)
	b = binary.AppendUvarint(b, uint64(c.Version))
	var mac [macSize]byte
	k.sign(&mac, b)
	b = append(b, mac[:]...)

	var out [MaxLen]byte
	body := b[len(domain):]
	n := base64.RawURLEncoding.EncodedLen(len(body))
	base64.RawURLEncoding.Encode(out[:n], body)
	return string(out[:n]), nil
}

// Decode verifies a token and returns its claims. Anything it cannot accept
// gives ErrInvalid, the same error whatever the reason. It never panics, and
// it allocates only the returned secret.
func (r *Ring) Decode(s string) (Claims, error) {
	if len(s) < MinLen || len(s) > MaxLen {
		return Claims{}, ErrInvalid
	}
	var c RawClaims
	if !r.verify(&c, s, false) {
		return Claims{}, ErrInvalid
	}
	return c.Claims(), nil
}

// DecodeRaw is Decode returning the secret as bytes, and its SHA-256. It
// allocates nothing.
func (r *Ring) DecodeRaw(s string) (RawClaims, error) {
	var c RawClaims
	if len(s) < MinLen || len(s) > MaxLen || !r.verify(&c, s, true) {
		return RawClaims{}, ErrInvalid
	}
	return c, nil
}

// verify reads the token s, whose length is in bounds, into c, computing
// c.SecretSHA256 only if hash is set. It reports whether s is valid; if
// not, c holds garbage.
func (r *Ring) verify(c *RawClaims, s string, hash bool) bool {
	// Decode after room for the domain: the MAC input is then one piece.
	var buf [len(domain) + maxBinary]byte
	n, ok := decodeBase64(buf[len(domain):], s)
	if !ok || n < minBinary {
		return false
	}
	b := buf[len(domain) : len(domain)+n]
	if b[0] != formatV1 {
		return false
	}
	kidLen := int(b[2])
	if kidLen < 1 || kidLen > MaxKeyIDLen || n < minBinary-1+kidLen {
		return false
	}
	k := r.find(b[headerSize : headerSize+kidLen])
	if k == nil {
		return false
	}
	body, mac := b[:n-macSize], b[n-macSize:]
	secret := (*[secretSize]byte)(body[headerSize+kidLen:])
	var want [macSize]byte
	if hash {
		k.signAndHash(&want, &c.SecretSHA256, buf[:len(domain)+len(body)], secret)
	} else {
		k.sign(&want, buf[:len(domain)+len(body)])
	}
	if !equalMAC(&want, (*[macSize]byte)(mac)) {
		return false
	}

	// Signed by us. Still parse strictly, so that only the encoder's own
	// output is accepted.
	flags := b[1]
	if flags&^knownFlags != 0 {
		return false
	}
	rest := body[headerSize+kidLen:]
	v, vn := binary.Uvarint(rest[secretSize:])
	if vn <= 0 || secretSize+vn != len(rest) || v > 1<<63-1 || uvarintLen(v) != vn {
		return false
	}
	c.Secret = *secret
	c.Version = int64(v)
	c.Persistent = flags&flagPersistent != 0
	c.KeyID = k.id
	return true
}

// equalMAC reports whether a and b are equal in a time that does not depend
// on their contents: it reads every byte of both, accumulates the
// differences with XOR and OR, 8 bytes at a time, and branches only on the
// total. (It is crypto/subtle.ConstantTimeCompare for the one size, in a
// quarter of its time on a request's path.)
func equalMAC(a, b *[macSize]byte) bool {
	var d uint64
	for i := 0; i < macSize; i += 8 {
		d |= binary.LittleEndian.Uint64(a[i:]) ^ binary.LittleEndian.Uint64(b[i:])
	}
	return d == 0
}

// uvarintLen is how many bytes the minimal varint encoding of v takes.
func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}
