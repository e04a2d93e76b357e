//go:build !amd64 || purego

package secretid

const accelerated = false

func sum32(out, in *[Size]byte) { panic("secretid: no accelerated path on this platform") }
