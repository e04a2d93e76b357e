//go:build amd64 && !purego

package hmacsha256

import "github.com/pgsession/pgsession/internal/shani"

// accelerated: the assembly path runs where internal/shani says the CPU
// (and FIPS mode) allows it.
var accelerated = shani.Available

// blocks runs the SHA-256 compression on h (words a to h) for each 64-byte
// block of p, whose length must be a multiple of 64.
//
//go:noescape
func blocks(h *[8]uint32, p []byte)

// finish ends an HMAC: it runs the inner hash's last block on h (which it
// leaves as it was), then the outer hash from the state outer on the inner
// digest, and writes the MAC.
//
//go:noescape
func finish(mac *[32]byte, h, outer *[8]uint32, last *[64]byte)

// finishAndHash is finish, and writes the SHA-256 of data to hash.
//
//go:noescape
func finishAndHash(mac *[32]byte, h, outer *[8]uint32, last *[64]byte, hash, data *[32]byte)
