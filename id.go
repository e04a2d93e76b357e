package pgsession

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"

	"github.com/pgsession/pgsession/internal/store"
)

// ID names a session: the SHA-256 of its secret token. The database keeps
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
	return base64.RawURLEncoding.EncodeToString(secret[:]), ID(sha256.Sum256(secret[:]))
}

// idFromToken returns the ID a token names. Anything that is not exactly a
// token's shape is refused before decoding (no unbounded work on bad input).
func idFromToken(token string) (ID, bool) {
	var secret [secretSize]byte
	if !decodeSecret(token, &secret) {
		return ID{}, false
	}
	return ID(sha256.Sum256(secret[:])), true
}

// b64 maps a base64url character to its 6 bits, or 0xff.
var b64 = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := range len(alphabet) {
		t[alphabet[i]] = byte(i)
	}
	return t
}()

// decodeSecret decodes a 43-character unpadded base64url token into 32
// bytes, strictly (the unused low bits of the last character must be zero,
// so each secret has exactly one spelling). It is the hot path of a cached
// Get by token, hence a table instead of encoding/base64's general decoder.
func decodeSecret(token string, out *[secretSize]byte) bool {
	if len(token) != tokenLen {
		return false
	}
	var bad byte
	o := 0
	for i := 0; i+4 <= 40; i += 4 { // 10 groups of 4 characters: 30 bytes
		a, b, c, d := b64[token[i]], b64[token[i+1]], b64[token[i+2]], b64[token[i+3]]
		bad |= a | b | c | d
		out[o] = a<<2 | b>>4
		out[o+1] = b<<4 | c>>2
		out[o+2] = c<<6 | d
		o += 3
	}
	a, b, c := b64[token[40]], b64[token[41]], b64[token[42]] // 3 characters: 2 bytes
	bad |= a | b | c
	out[30] = a<<2 | b>>4
	out[31] = b<<4 | c>>2
	return bad&0xc0 == 0 && c&3 == 0
}
