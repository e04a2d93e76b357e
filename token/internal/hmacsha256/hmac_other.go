//go:build !amd64 || purego

package hmacsha256

const accelerated = false

func blocks(h *[8]uint32, p []byte) { panic("hmacsha256: no accelerated path on this platform") }

func finish(mac *[32]byte, h, outer *[8]uint32, last *[64]byte) {
	panic("hmacsha256: no accelerated path on this platform")
}

func finishAndHash(mac *[32]byte, h, outer *[8]uint32, last *[64]byte, hash, data *[32]byte) {
	panic("hmacsha256: no accelerated path on this platform")
}
