package pgsession

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"

	"github.com/pgsession/pgsession/internal/secretid"
	"github.com/pgsession/pgsession/internal/store"
)

// ID names a session: the SHA-256 of its secret token's 32 bytes (the
// bytes Session.Token encodes, not the text). The database keeps
// only the ID, so reading the table never yields a usable token (DESIGN T1),
// and an ID can be shown to its owner (a "your sessions" page with revoke
// buttons) without handing out a credential.
type ID [store.IDSize]byte

// String returns the ID as 64 hex digits.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// ParseID reads an ID written by ID.String.
func ParseID(s string) (ID, error) {
	var id ID
	if len(s) != 2*len(id) {
		return id, fmt.Errorf("pgsession: parse id: want %d hex digits, got %d", 2*len(id), len(s))
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return id, fmt.Errorf("pgsession: parse id: %w", err)
	}
	return id, nil
}

// secretSize is the length of a session secret: 256 bits from crypto/rand.
const secretSize = 32

// tokenLen is the length of a token: the secret in unpadded base64url.
var tokenLen = base64.RawURLEncoding.EncodedLen(secretSize)

// newToken returns a fresh secret token and its ID.
func newToken() (string, ID) {
	var secret [secretSize]byte
	rand.Read(secret[:]) // never fails (crypto/rand panics rather than return weak bytes)
	return base64.RawURLEncoding.EncodeToString(secret[:]), ID(secretid.Of(&secret))
}

// idFromToken returns the ID a token names. Anything that is not exactly a
// token's shape is refused before decoding (no unbounded work on bad input).
func idFromToken(token string) (ID, bool) {
	var secret [secretSize]byte
	if !decodeSecret(token, &secret) {
		return ID{}, false
	}
	return ID(secretid.Of(&secret)), true
}

// b64 holds, for each position p of a 4-character group, each character's
// 6 bits already shifted into place in the group's 24 (b64[p][c]), or
// invalidBits for a character outside base64url, so decoding a group is
// four lookups ORed together.
var b64 = func() (t [4][256]uint32) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for p := range t {
		for c := range t[p] {
			t[p][c] = invalidBits
		}
		for v := range len(alphabet) {
			t[p][alphabet[v]] = uint32(v) << (18 - 6*p)
		}
	}
	return t
}()

const invalidBits = 1 << 31

// decodeSecret decodes a 43-character unpadded base64url token into 32
// bytes, strictly (the unused low bits of the last character must be zero,
// so each secret has exactly one spelling). It is the hot path of a cached
// Get by token, hence tables instead of encoding/base64's general decoder.
func decodeSecret(token string, out *[secretSize]byte) bool {
	if len(token) != tokenLen {
		return false
	}
	t := token[:43]
	var bad uint32
	for p := range 5 { // 5 pairs of 4-character groups: 30 bytes
		i := 8 * p
		hi := b64[0][t[i]] | b64[1][t[i+1]] | b64[2][t[i+2]] | b64[3][t[i+3]]
		lo := b64[0][t[i+4]] | b64[1][t[i+5]] | b64[2][t[i+6]] | b64[3][t[i+7]]
		bad |= hi | lo
		// 6 bytes in one 8-byte store; the 2 extra bytes are overwritten
		// by the next pair, or by the last 2 bytes below.
		binary.BigEndian.PutUint64(out[6*p:], (uint64(hi)<<24|uint64(lo))<<16)
	}
	// 3 characters: 2 bytes; the last one's 2 unused bits land in bits 6-7.
	v := b64[0][t[40]] | b64[1][t[41]] | b64[2][t[42]]
	out[30], out[31] = byte(v>>16), byte(v>>8)
	return (bad|v)&invalidBits == 0 && v&0xc0 == 0
}
