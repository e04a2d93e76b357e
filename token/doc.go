// Package token is the codec for the tokens pgsession hands to clients: a
// session's secret and the session version the client last saw, signed with
// HMAC-SHA256 by a key from a Ring.
//
// # Why sign a secret
//
// The session secret alone is already unguessable, so the signature is not
// what keeps sessions safe. It lets a node throw away anything it did not
// issue before it costs a database read (DESIGN T2), and it protects the
// version the token carries: a client may only claim a version the server
// gave it, which is what makes read-your-writes across nodes safe
// (pgsession.MinVersion, DESIGN C3).
//
// # Keys and rotation
//
// A Ring holds one or more keys, each with an ID that goes into every token.
// The first key signs; every key verifies. To rotate, put the new key first
// and keep the old one after it: tokens signed with the old key stay valid,
// and a transport that re-issues them (see Ring.IsCurrent) moves clients to
// the new key as they come back. Remove the old key once its tokens no longer
// matter; from then on they are rejected. Keys must be dedicated to this use.
//
// # Format
//
// A token is the unpadded base64url encoding (RFC 4648, section 5) of:
//
//	offset  size   field
//	0       1      format version, 1
//	1       1      flags: bit 0 = persistent (the client asked to be
//	               remembered); the other bits are 0
//	2       1      key ID length k, 1 to 16
//	3       k      key ID
//	3+k     32     session secret (the bytes Session.Token() encodes)
//	35+k    1..9   session version, unsigned varint (encoding/binary), minimal
//	end-32  32     HMAC-SHA256, under the key named by the key ID, of
//	               "pgsession-token\x00" followed by every byte above
//
// Every field has exactly one encoding (minimal varint, zero padding bits in
// the base64 text, no unused flag bits), so a token Decode accepts is the
// one Encode writes, byte for byte. A token is 92 to 123 characters, well
// under the 4096-byte cookie limit; anything longer than MaxLen is refused
// before it is looked at.
//
// # On every request
//
// A transport reads a token on every request. DecodeRaw is Decode for
// that path: it returns the secret as bytes, with its SHA-256 (the
// session's pgsession.ID, for Manager.GetByID), and allocates nothing.
//
// # Errors
//
// Decode and DecodeRaw report every token they cannot accept with the one
// error ErrInvalid: malformed, too long, signed by an unknown key, or
// tampered with. For a transport each means the same thing, "no session",
// and the reason is not told to the client.
package token
