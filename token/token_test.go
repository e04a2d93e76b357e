package token_test

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession/token"
)

// key returns a key whose secret is derived from its ID, so tests are
// reproducible.
func key(id string) token.Key {
	s := sha256.Sum256([]byte("test key " + id))
	return token.Key{ID: id, Secret: s[:]}
}

func ring(t testing.TB, keys ...token.Key) *token.Ring {
	t.Helper()
	r, err := token.NewRing(keys...)
	require.NoError(t, err)
	return r
}

// newSecret returns a session secret in the form Session.Token() has.
func newSecret() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func TestRoundTrip(t *testing.T) {
	r := ring(t, key("k1"))
	for _, v := range []int64{0, 1, 127, 128, 1 << 20, math.MaxInt64} {
		for _, persistent := range []bool{false, true} {
			c := token.Claims{Secret: newSecret(), Version: v, Persistent: persistent}
			s, err := r.Encode(c)
			require.NoError(t, err)
			require.GreaterOrEqual(t, len(s), token.MinLen)
			require.LessOrEqual(t, len(s), token.MaxLen)
			got, err := r.Decode(s)
			require.NoError(t, err)
			c.KeyID = "k1"
			require.Equal(t, c, got)
			again, err := r.Encode(got)
			require.NoError(t, err)
			require.Equal(t, s, again, "encode is deterministic")

			raw, err := r.DecodeRaw(s)
			require.NoError(t, err)
			require.Equal(t, c, raw.Claims())
			require.Equal(t, sha256.Sum256(raw.Secret[:]), raw.SecretSHA256)
			require.Equal(t, c.Secret, base64.RawURLEncoding.EncodeToString(raw.Secret[:]))
			again, err = r.EncodeRaw(raw)
			require.NoError(t, err)
			require.Equal(t, s, again, "EncodeRaw writes what Encode writes")
		}
	}
}

// MinLen and MaxLen are the lengths of the shortest and longest tokens.
func TestLengthBounds(t *testing.T) {
	short := ring(t, key("a"))
	s, err := short.Encode(token.Claims{Secret: newSecret()})
	require.NoError(t, err)
	require.Len(t, s, token.MinLen)

	long := ring(t, key(strings.Repeat("k", token.MaxKeyIDLen)))
	s, err = long.Encode(token.Claims{Secret: newSecret(), Version: math.MaxInt64})
	require.NoError(t, err)
	require.Len(t, s, token.MaxLen)
}

// The package documentation describes the format; a token built from that
// description alone must be the one Encode writes.
func TestFormatMatchesDocumentation(t *testing.T) {
	k := key("2025a")
	r := ring(t, k)
	secret := newSecret()
	raw, err := base64.RawURLEncoding.DecodeString(secret)
	require.NoError(t, err)

	b := []byte{1, 1, byte(len(k.ID))}
	b = append(b, k.ID...)
	b = append(b, raw...)
	b = binary.AppendUvarint(b, 300)
	b = sign(k, b)
	want := base64.RawURLEncoding.EncodeToString(b)

	got, err := r.Encode(token.Claims{Secret: secret, Version: 300, Persistent: true})
	require.NoError(t, err)
	require.Equal(t, want, got)
}

// sign appends the MAC the format documents.
func sign(k token.Key, body []byte) []byte {
	m := hmac.New(sha256.New, k.Secret)
	m.Write([]byte("pgsession-token\x00"))
	m.Write(body)
	return m.Sum(body)
}

// Tokens correctly signed but not in the encoder's one canonical form are
// refused: a valid MAC is not enough.
func TestDecodeRefusesNonCanonicalSignedTokens(t *testing.T) {
	k := key("k1")
	r := ring(t, k)
	raw := make([]byte, 32)
	build := func(format, flags byte, version []byte, extra ...byte) string {
		b := []byte{format, flags, byte(len(k.ID))}
		b = append(b, k.ID...)
		b = append(b, raw...)
		b = append(b, version...)
		b = append(b, extra...)
		return base64.RawURLEncoding.EncodeToString(sign(k, b))
	}
	ok := build(1, 0, []byte{5})
	_, err := r.Decode(ok)
	require.NoError(t, err, "the control is accepted")

	for name, s := range map[string]string{
		"format 2":               build(2, 0, []byte{5}),
		"format 0":               build(0, 0, []byte{5}),
		"unknown flag":           build(1, 2, []byte{5}),
		"non-minimal varint":     build(1, 0, []byte{0x85, 0x00}),
		"trailing byte":          build(1, 0, []byte{5}, 0),
		"version above MaxInt64": build(1, 0, binary.AppendUvarint(nil, math.MaxInt64+1)),
		"varint overflow":        build(1, 0, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}),
		"no version":             build(1, 0, nil),
	} {
		_, err := r.Decode(s)
		require.ErrorIs(t, err, token.ErrInvalid, name)
	}
}

func TestDecodeRefusesMalformed(t *testing.T) {
	r := ring(t, key("k1"))
	valid, err := r.Encode(token.Claims{Secret: newSecret(), Version: 7})
	require.NoError(t, err)
	other, err := ring(t, key("k2")).Encode(token.Claims{Secret: newSecret(), Version: 7})
	require.NoError(t, err)
	sameIDOtherSecret, err := ring(t, token.Key{ID: "k1", Secret: make([]byte, 32)}).Encode(token.Claims{Secret: newSecret()})
	require.NoError(t, err)

	for name, s := range map[string]string{
		"empty":                     "",
		"raw session secret":        newSecret(),
		"too long":                  strings.Repeat("A", token.MaxLen+1),
		"huge":                      strings.Repeat("A", 1<<20),
		"padding":                   valid + "==",
		"newline inside":            valid[:20] + "\n" + valid[20:],
		"carriage return":           valid[:20] + "\r" + valid[20:],
		"space":                     " " + valid[1:],
		"standard alphabet":         strings.NewReplacer("-", "+", "_", "/").Replace(valid),
		"unknown key":               other,
		"known id, wrong secret":    sameIDOtherSecret,
		"valid chars, garbage":      strings.Repeat("A", token.MinLen),
		"max length garbage":        strings.Repeat("_", token.MaxLen),
		"truncated":                 valid[:len(valid)-1],
		"non-zero padding bits":     nonZeroTail(valid),
		"non-ascii":                 valid[:10] + "é" + valid[12:],
		"dotted form of a real one": valid[:30] + "." + valid[31:],
	} {
		if name != "standard alphabet" || strings.ContainsAny(valid, "-_") {
			_, err := r.Decode(s)
			require.ErrorIs(t, err, token.ErrInvalid, name)
		}
	}
}

// nonZeroTail flips the unused low bits of the last character, which the
// lenient base64 decoder would ignore.
func nonZeroTail(s string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	if len(s)%4 == 0 {
		return s + "A" // no unused bits: make it malformed another way
	}
	last := strings.IndexByte(alphabet, s[len(s)-1])
	return s[:len(s)-1] + string(alphabet[last|1])
}

// Rotation: the first key signs, every key verifies, and a removed key's
// tokens stop working.
func TestRotation(t *testing.T) {
	a, b := key("a"), key("b")
	ringA := ring(t, a)
	ringBA := ring(t, b, a)
	ringB := ring(t, b)

	c := token.Claims{Secret: newSecret(), Version: 3}
	old, err := ringA.Encode(c)
	require.NoError(t, err)

	got, err := ringBA.Decode(old)
	require.NoError(t, err, "old key still verifies")
	require.Equal(t, "a", got.KeyID)
	require.False(t, ringBA.IsCurrent(got), "signed with a key that no longer signs")

	fresh, err := ringBA.Encode(got)
	require.NoError(t, err)
	require.NotEqual(t, old, fresh)
	got2, err := ringBA.Decode(fresh)
	require.NoError(t, err)
	require.Equal(t, "b", got2.KeyID)
	require.True(t, ringBA.IsCurrent(got2))
	require.Equal(t, got.Secret, got2.Secret)
	require.Equal(t, got.Version, got2.Version)

	_, err = ringB.Decode(old)
	require.ErrorIs(t, err, token.ErrInvalid, "removed key no longer verifies")
	_, err = ringB.Decode(fresh)
	require.NoError(t, err)

	require.Equal(t, "b", ringBA.SigningKeyID())
	require.Equal(t, []string{"b", "a"}, ringBA.KeyIDs())
}

// DecodeRaw refuses what Decode refuses, with the same error.
func TestDecodeRawRefusesWhatDecodeRefuses(t *testing.T) {
	r := ring(t, key("k1"))
	valid, err := r.Encode(token.Claims{Secret: newSecret(), Version: 7})
	require.NoError(t, err)
	for _, s := range []string{"", valid[:len(valid)-1], valid + "A", valid[:len(valid)-2] + "AA", strings.Repeat("A", token.MinLen)} {
		_, err := r.DecodeRaw(s)
		require.ErrorIs(t, err, token.ErrInvalid, s)
	}
}

func TestEncodeRawRefusesNegativeVersion(t *testing.T) {
	r := ring(t, key("k1"))
	_, err := r.EncodeRaw(token.RawClaims{Version: -1})
	require.Error(t, err)
}

func TestEncodeRefusesBadClaims(t *testing.T) {
	r := ring(t, key("k1"))
	secret := newSecret()
	for name, c := range map[string]token.Claims{
		"empty secret":        {},
		"short secret":        {Secret: secret[:42]},
		"long secret":         {Secret: secret + "A"},
		"not base64url":       {Secret: "!" + secret[1:]},
		"standard alphabet":   {Secret: "+" + secret[1:]},
		"non-zero tail bits":  {Secret: nonZeroTail(secret[:42] + "A")},
		"negative version":    {Secret: secret, Version: -1},
		"very negative":       {Secret: secret, Version: math.MinInt64},
		"padded secret (44)":  {Secret: secret + "="},
		"newline in secret":   {Secret: secret[:10] + "\n" + secret[11:]},
		"secret of 43 spaces": {Secret: strings.Repeat(" ", 43)},
	} {
		_, err := r.Encode(c)
		require.Error(t, err, name)
	}
}

func TestNewRingValidates(t *testing.T) {
	good := key("k1")
	for name, keys := range map[string][]token.Key{
		"no keys":        nil,
		"short secret":   {{ID: "k1", Secret: make([]byte, 31)}},
		"huge secret":    {{ID: "k1", Secret: make([]byte, token.MaxSecretSize+1)}},
		"empty id":       {{ID: "", Secret: good.Secret}},
		"long id":        {{ID: strings.Repeat("k", token.MaxKeyIDLen+1), Secret: good.Secret}},
		"id with space":  {{ID: "k 1", Secret: good.Secret}},
		"id with colon":  {{ID: "k:1", Secret: good.Secret}},
		"duplicate id":   {good, {ID: "k1", Secret: make([]byte, 32)}},
		"one bad of two": {good, {ID: "k2", Secret: []byte("short")}},
	} {
		_, err := token.NewRing(keys...)
		require.ErrorIs(t, err, token.ErrInvalidKey, name)
	}
	_, err := token.NewRing(good, key("k2"), key("2025-01_a.b"))
	require.NoError(t, err)
}

// The ring keeps its own copy of each secret.
func TestRingCopiesSecrets(t *testing.T) {
	k := key("k1")
	secret := append([]byte(nil), k.Secret...)
	r := ring(t, token.Key{ID: k.ID, Secret: secret})
	s, err := r.Encode(token.Claims{Secret: newSecret()})
	require.NoError(t, err)
	clear(secret)
	_, err = r.Decode(s)
	require.NoError(t, err)
}

func TestGenerateKey(t *testing.T) {
	k1, err := token.GenerateKey("k1")
	require.NoError(t, err)
	k2, err := token.GenerateKey("k2")
	require.NoError(t, err)
	require.Len(t, k1.Secret, token.MinSecretSize)
	require.NotEqual(t, k1.Secret, k2.Secret)
	_, err = token.GenerateKey("bad id")
	require.ErrorIs(t, err, token.ErrInvalidKey)
}

func TestParseKeys(t *testing.T) {
	a, b := key("a"), key("b")
	s := "a:" + base64.RawURLEncoding.EncodeToString(a.Secret) +
		" , b:" + base64.StdEncoding.EncodeToString(b.Secret)
	keys, err := token.ParseKeys(s)
	require.NoError(t, err)
	require.Equal(t, []token.Key{a, b}, keys)

	for name, bad := range map[string]string{
		"empty":        "",
		"no colon":     "a" + base64.RawURLEncoding.EncodeToString(a.Secret),
		"short secret": "a:" + base64.RawURLEncoding.EncodeToString(a.Secret[:16]),
		"not base64":   "a:***",
		"bad id":       "a b:" + base64.RawURLEncoding.EncodeToString(a.Secret),
	} {
		_, err := token.ParseKeys(bad)
		require.ErrorIs(t, err, token.ErrInvalidKey, name)
	}
	// A secret that fails to parse is never echoed in the error.
	_, err = token.ParseKeys("a:" + strings.Repeat("*", 40))
	require.NotContains(t, err.Error(), "****")
}

// A Key printed by mistake does not show its secret.
func TestKeyStringRedactsSecret(t *testing.T) {
	k := token.Key{ID: "k1", Secret: []byte("0123456789abcdef0123456789abcdef")}
	for _, s := range []string{fmt.Sprint(k), fmt.Sprintf("%v", k), fmt.Sprintf("%+v", k), fmt.Sprintf("%#v", k), fmt.Sprintf("%s", k)} {
		require.NotContains(t, s, "0123456789")
		require.Contains(t, s, "k1")
	}
}

// Decode allocates only the secret it returns, DecodeRaw nothing; Encode
// and EncodeRaw only their result.
func TestAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items, so pooled state is reallocated")
	}
	r := ring(t, key("k1"), key("k0"))
	c := token.Claims{Secret: newSecret(), Version: 12345}
	s, err := r.Encode(c)
	require.NoError(t, err)
	raw, err := r.DecodeRaw(s)
	require.NoError(t, err)
	require.LessOrEqual(t, testing.AllocsPerRun(100, func() { r.Encode(c) }), 1.0)
	require.LessOrEqual(t, testing.AllocsPerRun(100, func() { r.EncodeRaw(raw) }), 1.0)
	require.LessOrEqual(t, testing.AllocsPerRun(100, func() { r.Decode(s) }), 1.0)
	require.Zero(t, testing.AllocsPerRun(100, func() { r.DecodeRaw(s) }))
	bad := s[:len(s)-2] + "AA"
	require.Zero(t, testing.AllocsPerRun(100, func() { r.Decode(bad) }))
}

func TestConcurrentUse(t *testing.T) {
	r := ring(t, key("k1"), key("k0"))
	done := make(chan error)
	for range 8 {
		go func() {
			var err error
			for range 200 {
				c := token.Claims{Secret: newSecret(), Version: 9}
				var s string
				if s, err = r.Encode(c); err != nil {
					break
				}
				var got token.Claims
				if got, err = r.Decode(s); err != nil {
					break
				}
				if got.Secret != c.Secret {
					err = errors.New("secret mixed up between goroutines")
					break
				}
			}
			done <- err
		}()
	}
	for range 8 {
		require.NoError(t, <-done)
	}
}
