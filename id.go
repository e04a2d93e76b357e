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
	if len(token) != tokenLen {
		return ID{}, false
	}
	var in [64]byte // on the stack: no allocation on the hot path
	m := copy(in[:], token)
	var secret [secretSize]byte
	n, err := base64.RawURLEncoding.Strict().Decode(secret[:], in[:m])
	if err != nil || n != secretSize {
		return ID{}, false
	}
	return ID(sha256.Sum256(secret[:])), true
}
