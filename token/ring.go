package token

import (
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"hash"
	"sync"
)

// Ring is a set of keys: the first signs, all verify. It is immutable and
// safe for concurrent use; to rotate, build a new Ring and swap it in.
type Ring struct {
	keys []*ringKey // keys[0] signs
}

type ringKey struct {
	id   string
	macs sync.Pool // of *macState, each keyed with this key's secret
}

// macState is one keyed HMAC with scratch space, pooled so that signing and
// verifying allocate nothing.
type macState struct {
	h   hash.Hash
	buf [maxBinary]byte
	sum [macSize]byte
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
		secret := append([]byte(nil), k.Secret...)
		rk := &ringKey{id: k.ID}
		rk.macs.New = func() any { return &macState{h: hmac.New(sha256.New, secret)} }
		r.keys = append(r.keys, rk)
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
// key while the old one still verifies.
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

// mac computes the MAC of msg under k into m.sum.
func (k *ringKey) mac(m *macState, msg []byte) {
	m.h.Reset()
	m.h.Write(domain)
	m.h.Write(msg)
	m.h.Sum(m.sum[:0])
}

func (k *ringKey) get() *macState  { return k.macs.Get().(*macState) }
func (k *ringKey) put(m *macState) { k.macs.Put(m) }
