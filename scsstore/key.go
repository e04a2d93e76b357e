package scsstore

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"

	"github.com/pgsession/pgsession"
)

// Keys that All returns in place of tokens: "i." + the session ID in hex +
// "." + the first 16 bytes of HMAC-SHA-256(secret, ID) in hex.
const (
	keyPrefix = "i."
	tagSize   = 16
	keyLen    = len(keyPrefix) + 2*len(pgsession.ID{}) + 1 + 2*tagSize
)

// tag authenticates id under the Store's secret.
func (s *Store) tag(id pgsession.ID) []byte {
	mac := hmac.New(sha256.New, s.secret[:])
	mac.Write(id[:])
	return mac.Sum(nil)[:tagSize]
}

// mintKey returns the key All hands out for id.
func (s *Store) mintKey(id pgsession.ID) string {
	return keyPrefix + id.String() + "." + hex.EncodeToString(s.tag(id))
}

// parseKey returns the ID a key from mintKey names. Anything else,
// including a key whose tag does not verify (forged, or minted by another
// process), is refused; its length is checked before any decoding.
func (s *Store) parseKey(k string) (pgsession.ID, bool) {
	var id pgsession.ID
	idEnd := len(keyPrefix) + 2*len(id)
	if len(k) != keyLen || k[:len(keyPrefix)] != keyPrefix || k[idEnd] != '.' {
		return id, false
	}
	var tag [tagSize]byte
	if _, err := hex.Decode(id[:], []byte(k[len(keyPrefix):idEnd])); err != nil {
		return id, false
	}
	if _, err := hex.Decode(tag[:], []byte(k[idEnd+1:])); err != nil {
		return id, false
	}
	if !hmac.Equal(tag[:], s.tag(id)) {
		return id, false
	}
	return id, true
}

// tokenSize is the length of an scs token: 32 random bytes in unpadded
// base64url.
var tokenSize = base64.RawURLEncoding.EncodedLen(32)

// tokenID returns the pgsession ID of an scs token: the SHA-256 of the 32
// bytes it encodes, as pgsession derives it (a test checks they agree).
func tokenID(token string) (pgsession.ID, bool) {
	if len(token) != tokenSize {
		return pgsession.ID{}, false
	}
	var in [64]byte // on the stack: no allocation per commit
	n := copy(in[:], token)
	var secret [32]byte
	m, err := base64.RawURLEncoding.Strict().Decode(secret[:], in[:n])
	if err != nil || m != len(secret) {
		return pgsession.ID{}, false
	}
	return pgsession.ID(sha256.Sum256(secret[:])), true
}
