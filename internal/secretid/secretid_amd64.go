//go:build amd64 && !purego

package secretid

import "github.com/pgsession/pgsession/internal/shani"

// accelerated: the assembly path runs where internal/shani says the CPU
// (and FIPS mode) allows it.
var accelerated = shani.Available

// sum32 writes SHA-256(in) to out, for a 32-byte in: one compression of
// in followed by the constant padding of a 256-bit message.
//
//go:noescape
func sum32(out, in *[Size]byte)
