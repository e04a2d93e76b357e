//go:build amd64 && !purego

package hmacsha256

import "crypto/fips140"

// accelerated is true when the CPU has the SHA extensions and the SSSE3
// and SSE4.1 instructions blocks uses, unless the program runs in FIPS
// 140-3 mode (GODEBUG=fips140=on): then every MAC comes from Go's
// validated module, crypto/hmac.
var accelerated = hasSHANI() && !fips140.Enabled()

func hasSHANI() bool {
	maxLeaf, _, _, _ := cpuid(0, 0)
	if maxLeaf < 7 {
		return false
	}
	_, _, ecx1, _ := cpuid(1, 0)
	_, ebx7, _, _ := cpuid(7, 0)
	const (
		ssse3 = 1 << 9  // leaf 1, ECX
		sse41 = 1 << 19 // leaf 1, ECX
		sha   = 1 << 29 // leaf 7, EBX
	)
	return ecx1&ssse3 != 0 && ecx1&sse41 != 0 && ebx7&sha != 0
}

// cpuid executes the CPUID instruction for a leaf and subleaf.
//
//go:noescape
func cpuid(leaf, subleaf uint32) (eax, ebx, ecx, edx uint32)

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
