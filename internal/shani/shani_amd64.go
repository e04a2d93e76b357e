//go:build amd64 && !purego

package shani

import "crypto/fips140"

// Available is true when the CPU has the SHA extensions and the SSSE3 and
// SSE4.1 instructions the assembly paths use, unless the program runs in
// FIPS 140-3 mode (GODEBUG=fips140=on): then every hash comes from Go's
// validated module.
var Available = hasSHANI() && !fips140.Enabled()

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
