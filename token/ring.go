package token

import (
	"fmt"

	"github.com/pgsession/pgsession/token/internal/hmacsha256"
)

// Ring is a set of keys: the first signs, all verify. It is immutable and
// safe for concurrent use; to rotate, build a new Ring and swap it in.
type Ring struct {
	keys []*ringKey // keys[0] signs
}

type ringKey struct {
	id  string
	mac *hmacsha256.Key // keyed with this key's secret
}

// NewRing returns a ring of the given keys, the signing key first. It needs
// at least one key; IDs must be unique. The secrets are copied.
func NewRing(keys ...Key) (*Ring, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("token: new ring: %w: no keys", ErrInvalidKey)
	}
	r := &Ring{keys: make([]*ringKey, 0, len(keys))}
	seen := make(map[string]bool, len(keys))
	for _, k := range keys {
		if err := k.check(); err != nil {
			return nil, fmt.Errorf("token: new ring: %w", err)
		}
		if seen[k.ID] {
			return nil, fmt.Errorf("token: new ring: %w: id %q appears twice", ErrInvalidKey, k.ID)
		}
		seen[k.ID] = true
		r.keys = append(r.keys, &ringKey{id: k.ID, mac: hmacsha256.New(k.Secret)})
	}
	return r, nil
}

// SigningKeyID returns the ID of the key that signs new tokens.
func (r *Ring) SigningKeyID() string { return r.keys[0].id }

// KeyIDs returns the IDs of every key, the signing key first.
func (r *Ring) KeyIDs() []string {
	ids := make([]string, len(r.keys))
	for i, k := range r.keys {
		ids[i] = k.id
	}
	return ids
}

// IsCurrent reports whether claims from Decode were signed with the signing
// key. A transport re-issues tokens that are not, so clients move to the new
// key while the old one still verifies. (For RawClaims, compare KeyID with
// SigningKeyID.)
func (r *Ring) IsCurrent(c Claims) bool { return c.KeyID == r.keys[0].id }

// find returns the key with that ID, or nil. IDs are not secret, so a plain
// comparison is fine; string(id) == k.id does not allocate.
func (r *Ring) find(id []byte) *ringKey {
	for _, k := range r.keys {
		if string(id) == k.id {
			return k
		}
	}
	return nil
}

// sign writes to mac the MAC of a token's body, its bytes up to the MAC,
// given in in[len(domain):]. sign writes the domain into in's first bytes,
// so the MAC input is one piece, with no copy of the body.
func (k *ringKey) sign(mac *[macSize]byte, in []byte) {
	copy(in, domain)
	k.mac.Sum(mac, in)
}

// signAndHash is sign, and also writes the SHA-256 of secret to hash.
func (k *ringKey) signAndHash(mac, hash *[32]byte, in []byte, secret *[secretSize]byte) {
	copy(in, domain)
	k.mac.SumAndHash(mac, hash, in, secret)
}
