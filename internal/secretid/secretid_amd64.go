//go:build amd64 && !purego

package secretid

import "crypto/fips140"

// accelerated is true when the CPU has the SHA extensions and the SSSE3
// and SSE4.1 shuffles sum32 uses, unless the program runs in FIPS 140-3
// mode (GODEBUG=fips140=on): then every hash comes from Go's validated
// module, crypto/sha256.
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

// sum32 writes SHA-256(in) to out, for a 32-byte in: one compression of
// in followed by the constant padding of a 256-bit message.
//
//go:noescape
func sum32(out, in *[Size]byte)
