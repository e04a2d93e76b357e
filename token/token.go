package token

import (
	"crypto/hmac"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
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

// Sizes of the format (see the package documentation).
const (
	formatV1   = 1
	secretSize = 32
	macSize    = 32
	headerSize = 3 // format, flags, key ID length

	flagPersistent = 1 << 0
	knownFlags     = flagPersistent

	minBinary = headerSize + 1 + secretSize + 1 + macSize
	maxBinary = headerSize + MaxKeyIDLen + secretSize + binary.MaxVarintLen64 - 1 + macSize
)

// secretTextLen is the length of Claims.Secret.
var secretTextLen = base64.RawURLEncoding.EncodedLen(secretSize)

// MinLen and MaxLen bound a token's length in characters. Decode refuses
// anything outside them before looking at a single byte.
const (
	MinLen = (minBinary*8 + 5) / 6
	MaxLen = (maxBinary*8 + 5) / 6
)

// domain starts every MAC input, so a MAC made for anything else with the
// same key can never pass for a token's.
var domain = []byte("pgsession-token\x00")

// b64 decodes strictly: the unused bits of the last character must be zero,
// so each byte string has exactly one text form.
var b64 = base64.RawURLEncoding.Strict()

// Encode returns the token for c, signed with the ring's signing key. The
// result is deterministic: the same claims and key give the same token.
// It fails only if c.Secret is not a session secret or c.Version < 0.
func (r *Ring) Encode(c Claims) (string, error) {
	var secret [secretSize]byte
	if len(c.Secret) != secretTextLen {
		return "", fmt.Errorf("token: encode: secret is %d characters, want %d", len(c.Secret), secretTextLen)
	}
	var in [64]byte // on the stack: no allocation for the conversion
	n, err := b64.Decode(secret[:], in[:copy(in[:], c.Secret)])
	if err != nil || n != secretSize {
		return "", errors.New("token: encode: secret is not unpadded base64url of 32 bytes")
	}
	if c.Version < 0 {
		return "", fmt.Errorf("token: encode: negative version %d", c.Version)
	}
	k := r.keys[0]
	m := k.get()
	defer k.put(m)

	b := m.buf[:0]
	var flags byte
	if c.Persistent {
		flags |= flagPersistent
	}
	b = append(b, formatV1, flags, byte(len(k.id)))
	b = append(b, k.id...)
	b = append(b, secret[:]...)
	b = binary.AppendUvarint(b, uint64(c.Version))
	k.mac(m, b)
	b = append(b, m.sum[:]...)

	var out [MaxLen]byte
	b64.Encode(out[:], b)
	return string(out[:b64.EncodedLen(len(b))]), nil
}

// Decode verifies a token and returns its claims. Anything it cannot accept
// gives ErrInvalid, the same error whatever the reason. It never panics, and
// it allocates only the returned secret.
func (r *Ring) Decode(s string) (Claims, error) {
	if len(s) < MinLen || len(s) > MaxLen {
		return Claims{}, ErrInvalid
	}
	// The strict decoder refuses every character outside the alphabet but
	// CR and LF, which it skips; refuse those first, so no two texts decode
	// alike. (Two byte searches, not a loop over the text: on a cached
	// request that loop cost more than the HMAC.)
	if strings.IndexByte(s, '\r') >= 0 || strings.IndexByte(s, '\n') >= 0 {
		return Claims{}, ErrInvalid
	}
	var in [MaxLen]byte
	var raw [maxBinary]byte
	n, err := b64.Decode(raw[:], in[:copy(in[:], s)])
	if err != nil || n < minBinary {
		return Claims{}, ErrInvalid
	}
	b := raw[:n]
	if b[0] != formatV1 {
		return Claims{}, ErrInvalid
	}
	kidLen := int(b[2])
	if kidLen < 1 || kidLen > MaxKeyIDLen || n < minBinary-1+kidLen {
		return Claims{}, ErrInvalid
	}
	k := r.find(b[headerSize : headerSize+kidLen])
	if k == nil {
		return Claims{}, ErrInvalid
	}
	body, mac := b[:n-macSize], b[n-macSize:]
	m := k.get()
	// MAC a copy in the pooled buffer: handing raw itself to the hash (an
	// interface) would move it to the heap.
	k.mac(m, m.buf[:copy(m.buf[:], body)])
	ok := hmac.Equal(m.sum[:], mac)
	k.put(m)
	if !ok {
		return Claims{}, ErrInvalid
	}

	// Signed by us. Still parse strictly, so that only the encoder's own
	// output is accepted.
	flags := b[1]
	if flags&^knownFlags != 0 {
		return Claims{}, ErrInvalid
	}
	rest := body[headerSize+kidLen:]
	secret := rest[:secretSize]
	v, vn := binary.Uvarint(rest[secretSize:])
	if vn <= 0 || secretSize+vn != len(rest) || v > 1<<63-1 || uvarintLen(v) != vn {
		return Claims{}, ErrInvalid
	}
	var text [64]byte
	b64.Encode(text[:], secret)
	return Claims{
		Secret:     string(text[:secretTextLen]),
		Version:    int64(v),
		Persistent: flags&flagPersistent != 0,
		KeyID:      k.id,
	}, nil
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
