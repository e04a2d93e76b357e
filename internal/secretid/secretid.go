// Package secretid computes a session's ID from its secret: the SHA-256 of
// exactly 32 bytes (DESIGN T1).
//
// That hash is most of the cost of a cached Get by token, and
// crypto/sha256's general Sum256 spends about as long on buffering and
// padding as on the one compression a 32-byte message needs. On amd64 with
// the SHA extensions, Of runs that single compression directly, its padding
// block a constant; everywhere else, and in FIPS 140-3 mode, it is
// crypto/sha256.Sum256. Both give the same bytes (tested against
// crypto/sha256, fuzzed, on every path).
package secretid

import "crypto/sha256"

// Size is the length of a secret and of an ID.
const Size = 32

// Of returns SHA-256(secret).
func Of(secret *[Size]byte) [Size]byte {
	if accelerated {
		var id [Size]byte
		sum32(&id, secret)
		return id
	}
	return sha256.Sum256(secret[:])
}

// Accelerated reports whether Of uses the direct compression on this CPU
// (for tests and benchmarks).
func Accelerated() bool { return accelerated }
