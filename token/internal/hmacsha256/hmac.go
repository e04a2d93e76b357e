// Package hmacsha256 computes HMAC-SHA256 (RFC 2104) for token.Ring, with
// each key's inner and outer hash states computed once.
//
// Verifying a token is one HMAC over a message of one or two blocks, and
// crypto/hmac spends longer restoring its saved states, buffering and
// padding than on the two or three compressions the work needs. On amd64
// with the SHA extensions, Sum runs those compressions directly from the
// saved states, in one call for the last inner block and the outer hash;
// SumAndHash also hashes the session secret, interleaved with the MAC.
// Everywhere else, and in FIPS 140-3 mode, it is crypto/hmac and
// crypto/sha256. Both paths give the same bytes (tested against the
// standard library, RFC 4231's vectors, and fuzzed).
package hmacsha256

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"sync"
)

// Size is the length of a MAC; BlockSize is SHA-256's block.
const (
	Size      = sha256.Size
	BlockSize = sha256.BlockSize
)

// Key is one HMAC-SHA256 key, ready to use. It is safe for concurrent use.
type Key struct {
	accel bool
	// With accel: the hash states after the key's inner and outer padded
	// blocks, words a to h.
	inner, outer [8]uint32
	// Without: keyed crypto/hmac hashes with scratch space, pooled so Sum
	// allocates nothing.
	pool sync.Pool // of *fallback
}

type fallback struct {
	h   hash.Hash
	buf [2 * BlockSize]byte
	sum [Size]byte
}

// New returns the key for secret, which it does not keep (it keeps what
// is derived from it). Any length is allowed, as in RFC 2104.
func New(secret []byte) *Key { return newKey(secret, accelerated) }

func newKey(secret []byte, accel bool) *Key {
	k := &Key{accel: accel}
	if !accel {
		secret := append([]byte(nil), secret...)
		k.pool.New = func() any { return &fallback{h: hmac.New(sha256.New, secret)} }
		return k
	}
	var padded [BlockSize]byte // the key, hashed first if longer than a block
	if len(secret) > BlockSize {
		sum := sha256.Sum256(secret)
		copy(padded[:], sum[:])
	} else {
		copy(padded[:], secret)
	}
	var ipad, opad [BlockSize]byte
	for i, b := range padded {
		ipad[i], opad[i] = b^0x36, b^0x5c
	}
	k.inner, k.outer = iv, iv
	blocks(&k.inner, ipad[:])
	blocks(&k.outer, opad[:])
	clear(padded[:])
	clear(ipad[:])
	clear(opad[:])
	return k
}

// iv is SHA-256's initial state.
var iv = [8]uint32{0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19}

// Sum writes the HMAC-SHA256 of msg to mac. It allocates nothing. (Its
// results go through pointers, here and in SumAndHash: returned arrays
// are copied at each level of the caller's stack.)
func (k *Key) Sum(mac *[Size]byte, msg []byte) {
	if !k.accel {
		k.fallbackSum(mac, msg)
		return
	}
	h := k.inner
	var last [BlockSize]byte
	innerPrefix(&h, &last, msg)
	finish(mac, &h, &k.outer, &last)
}

// SumAndHash writes the HMAC-SHA256 of msg to mac and the SHA-256 of data
// to hash. On the SHA extensions the hash costs little: its one compression
// runs interleaved with the last of the inner hash, each filling the
// other's waits. It allocates nothing.
func (k *Key) SumAndHash(mac, hash *[Size]byte, msg []byte, data *[Size]byte) {
	if !k.accel {
		k.fallbackSum(mac, msg)
		*hash = sha256.Sum256(data[:])
		return
	}
	h := k.inner
	var last [BlockSize]byte
	innerPrefix(&h, &last, msg)
	finishAndHash(mac, &h, &k.outer, &last, hash, data)
}

// innerPrefix runs the inner hash (h, from the key's inner state) over msg
// but for the last block, which it writes to last with the padding: 0x80,
// zeros, and the length in bits, the key's block included.
func innerPrefix(h *[8]uint32, last *[BlockSize]byte, msg []byte) {
	full := len(msg) &^ (BlockSize - 1)
	if full > 0 {
		blocks(h, msg[:full])
	}
	n := copy(last[:], msg[full:])
	last[n] = 0x80
	if n > BlockSize-9 { // no room for the length: it takes a block of its own
		blocks(h, last[:])
		clear(last[:])
	}
	binary.BigEndian.PutUint64(last[BlockSize-8:], uint64(BlockSize+len(msg))*8)
}

// fallbackSum is Sum with crypto/hmac. It writes msg through the pooled
// buffer: handing msg itself to the hash (an interface) would move the
// caller's buffer to the heap.
func (k *Key) fallbackSum(mac *[Size]byte, msg []byte) {
	f := k.pool.Get().(*fallback)
	f.h.Reset()
	for len(msg) > 0 {
		n := copy(f.buf[:], msg)
		f.h.Write(f.buf[:n])
		msg = msg[n:]
	}
	f.h.Sum(f.sum[:0])
	*mac = f.sum
	k.pool.Put(f)
}
