package token

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
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
// for a key that cannot be used. Its messages never quote a secret, nor an
// ID that is not a valid key ID (a swapped "secret:id" pair would put the
// secret there): they give lengths and positions instead.
var ErrInvalidKey = errors.New("invalid key")

// Key is one signing key. ID names it inside tokens: 1 to MaxKeyIDLen
// characters from A-Z, a-z, 0-9, '.', '_' and '-'. Secret is at least
// MinSecretSize bytes from a cryptographic random source (see GenerateKey).
//
// Every way of printing or encoding a Key (fmt with any verb, slog,
// encoding/json, encoding.TextMarshaler users) shows the ID and hides the
// secret, so a Key that ends up in a log line does not leak it. An ID that
// is not a valid key ID is hidden too. Two misuses escape this, because fmt
// then prints the fields without asking the Key: a struct that holds a Key
// in an unexported field, and %p given a Key that is not a pointer (go vet
// reports the second).
type Key struct {
	ID     string
	Secret []byte
}

func (k Key) check() error {
	if err := checkKeyID(k.ID); err != nil {
		return err
	}
	if len(k.Secret) < MinSecretSize || len(k.Secret) > MaxSecretSize {
		return fmt.Errorf("%w: %q: secret is %d bytes, want %d to %d", ErrInvalidKey, k.ID, len(k.Secret), MinSecretSize, MaxSecretSize)
	}
	return nil
}

// checkKeyID describes a bad ID by its length and the position of its first
// bad character, never by its text.
func checkKeyID(id string) error {
	const want = "want 1 to %d characters from A-Z a-z 0-9 . _ -"
	if id == "" || len(id) > MaxKeyIDLen {
		return fmt.Errorf("%w: id is %d bytes, "+want, ErrInvalidKey, len(id), MaxKeyIDLen)
	}
	if i := badKeyIDByte(id); i >= 0 {
		return fmt.Errorf("%w: id has a character not allowed at byte %d, "+want, ErrInvalidKey, i, MaxKeyIDLen)
	}
	return nil
}

func validKeyID(id string) bool {
	return id != "" && len(id) <= MaxKeyIDLen && badKeyIDByte(id) < 0
}

// badKeyIDByte returns the index of id's first byte that may not be in a
// key ID, or -1.
func badKeyIDByte(id string) int {
	for i := 0; i < len(id); i++ {
		c := id[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
		if !ok {
			return i
		}
	}
	return -1
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
// around pairs are ignored. Pass the result to NewRing. An error names the
// pair by its position (1 for the first), since the text may be a secret.
func ParseKeys(s string) ([]Key, error) {
	var keys []Key
	n := 0
	for pair := range strings.SplitSeq(s, ",") {
		n++
		pair = strings.TrimSpace(pair)
		id, enc, ok := strings.Cut(pair, ":")
		if !ok {
			return nil, fmt.Errorf("token: parse keys: pair %d: %w: want id:secret, got no ':'", n, ErrInvalidKey)
		}
		// The ID first: in a swapped pair it is the secret, and must not
		// be quoted by the secret's error below.
		if err := checkKeyID(id); err != nil {
			return nil, fmt.Errorf("token: parse keys: pair %d: %w", n, err)
		}
		secret, err := decodeSecret(enc)
		if err != nil {
			return nil, fmt.Errorf("token: parse keys: pair %d: %w: %q: secret is not base64", n, ErrInvalidKey, id)
		}
		k := Key{ID: id, Secret: secret}
		if err := k.check(); err != nil {
			return nil, fmt.Errorf("token: parse keys: pair %d: %w", n, err)
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
