package token

import "encoding/binary"

// b64 holds, for each position p of a 4-character group, each character's
// 6 bits already shifted into place in the group's 24 (b64[p][c]), or
// invalidBits for a character outside the base64url alphabet (RFC 4648,
// section 5), so decoding a group is four lookups ORed together.
var b64 = func() (t [4][256]uint32) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for p := range t {
		for c := range t[p] {
			t[p][c] = invalidBits
		}
		for v := range len(alphabet) {
			t[p][alphabet[v]] = uint32(v) << (18 - 6*p)
		}
	}
	return t
}()

const invalidBits = 1 << 31

// group decodes the 4-character group at the start of s into 24 bits, or
// sets invalidBits.
func group(s string) uint32 {
	_ = s[3]
	return b64[0][s[0]] | b64[1][s[1]] | b64[2][s[2]] | b64[3][s[3]]
}

// decodeBase64 decodes unpadded base64url text into dst and returns the
// number of bytes written. It refuses (false) text that does not fit in
// dst and anything but the one encoding of some bytes: a character outside
// the alphabet (padding, line breaks, spaces included), a length that no
// byte string has, or unused bits of the last character that are not zero.
//
// It is encoding/base64's RawURLEncoding.Strict() without that decoder's
// skipping of CR and LF, made of table lookups: a token is read on every
// request.
func decodeBase64(dst []byte, s string) (int, bool) {
	tail := len(s) % 4
	n := len(s)/4*3 + max(tail-1, 0)
	if tail == 1 || n > len(dst) {
		return 0, false
	}
	var bad uint32
	out := dst[:n]
	// Two groups, 6 bytes, in one 8-byte store while 8 bytes fit; the 2
	// extra bytes are overwritten by what follows.
	for len(s) >= 8 && len(out) >= 8 {
		hi, lo := group(s), group(s[4:])
		bad |= hi | lo
		binary.BigEndian.PutUint64(out, (uint64(hi)<<24|uint64(lo))<<16)
		s, out = s[8:], out[6:]
	}
	for len(s) >= 4 {
		v := group(s)
		bad |= v
		out[0], out[1], out[2] = byte(v>>16), byte(v>>8), byte(v)
		s, out = s[4:], out[3:]
	}
	switch len(s) {
	case 2: // 12 bits: one byte, then 4 unused bits that must be zero
		v := b64[0][s[0]] | b64[1][s[1]]
		if v&0xf000 != 0 {
			return 0, false
		}
		bad |= v
		out[0] = byte(v >> 16)
	case 3: // 18 bits: two bytes, then 2 unused bits that must be zero
		v := b64[0][s[0]] | b64[1][s[1]] | b64[2][s[2]]
		if v&0xc0 != 0 {
			return 0, false
		}
		bad |= v
		out[0], out[1] = byte(v>>16), byte(v>>8)
	}
	return n, bad&invalidBits == 0
}
