package token

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strings"
	"sync"
)

// Limits on keys.
const (
	// MinSecretSize is the shortest key secret NewRing accepts: 256 bits,
	// the size of HMAC-SHA256's output.
	MinSecretSize = 32
	// MaxSecretSize is the longest key secret NewRing accepts.
	MaxSecretSize = 1024
	// MaxKeyIDLen is the longest key ID. Key IDs go into every token, so
	// short ones ("k1", "2025a") keep tokens short.
	MaxKeyIDLen = 16
)

// ErrInvalidKey is returned (wrapped) by NewRing, GenerateKey and ParseKeys
// for a key that cannot be used.
var ErrInvalidKey = errors.New("invalid key")

// Key is one signing key. ID names it inside tokens: 1 to MaxKeyIDLen
// characters from A-Z, a-z, 0-9, '.', '_' and '-'. Secret is at least
// MinSecretSize bytes from a cryptographic random source (see GenerateKey).
//
// String and GoString never show the secret, so a Key that ends up in a log
// line does not leak it.
type Key struct {
	ID     string
	Secret []byte
}

// String returns the key's ID, with the secret redacted.
func (k Key) String() string { return "token.Key{ID: " + k.ID + ", Secret: [redacted]}" }

// GoString is String, for %#v.
func (k Key) GoString() string { return k.String() }

func (k Key) check() error {
	if !validKeyID(k.ID) {
		return fmt.Errorf("%w: id %q: want 1 to %d characters from A-Z a-z 0-9 . _ -", ErrInvalidKey, k.ID, MaxKeyIDLen)
	}
	if len(k.Secret) < MinSecretSize || len(k.Secret) > MaxSecretSize {
		return fmt.Errorf("%w: %q: secret is %d bytes, want %d to %d", ErrInvalidKey, k.ID, len(k.Secret), MinSecretSize, MaxSecretSize)
	}
	return nil
}

func validKeyID(id string) bool {
	if id == "" || len(id) > MaxKeyIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}

// GenerateKey returns a key with a fresh 32-byte secret from crypto/rand.
func GenerateKey(id string) (Key, error) {
	k := Key{ID: id, Secret: make([]byte, MinSecretSize)}
	rand.Read(k.Secret) // never fails: crypto/rand panics rather than return weak bytes
	return k, k.check()
}

// ParseKeys reads keys written as "id:secret" pairs separated by commas,
// signing key first, for example from an environment variable:
//
//	PGSESSION_KEYS=2025b:qJ8...,2025a:Xz1...
//
// Each secret is base64 (standard or URL alphabet, padded or not). Spaces
// around pairs are ignored. Pass the result to NewRing.
func ParseKeys(s string) ([]Key, error) {
	var keys []Key
	for pair := range strings.SplitSeq(s, ",") {
		pair = strings.TrimSpace(pair)
		id, enc, ok := strings.Cut(pair, ":")
		if !ok {
			return nil, fmt.Errorf("token: parse keys: %w: want id:secret, got a pair without ':'", ErrInvalidKey)
		}
		secret, err := decodeSecret(enc)
		if err != nil {
			// The secret is not quoted: it may be most of a real key.
			return nil, fmt.Errorf("token: parse keys: %w: %q: secret is not base64", ErrInvalidKey, id)
		}
		k := Key{ID: id, Secret: secret}
		if err := k.check(); err != nil {
			return nil, fmt.Errorf("token: parse keys: %w", err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

func decodeSecret(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	enc := base64.RawURLEncoding
	if strings.ContainsAny(s, "+/") {
		enc = base64.RawStdEncoding
	}
	return enc.DecodeString(s)
}

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
