package scsstore

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession"
)

// tokenID must derive the ID exactly as pgsession does, or commits would
// miss the sessions they mean.
func TestTokenIDMatchesPgsession(t *testing.T) {
	m, err := pgsession.NewMemory(nil, pgsession.Config{})
	require.NoError(t, err)
	defer m.Close(context.Background())
	for range 20 {
		b := make([]byte, 32)
		rand.Read(b)
		tok := base64.RawURLEncoding.EncodeToString(b)
		s, err := m.CreateWithToken(context.Background(), tok, "", nil)
		require.NoError(t, err)
		id, ok := tokenID(tok)
		require.True(t, ok)
		require.Equal(t, s.ID(), id)
	}
	for _, bad := range []string{"", "short", strings.Repeat("!", 43), strings.Repeat("A", 42) + "B", strings.Repeat("A", 44)} {
		_, ok := tokenID(bad)
		require.False(t, ok, bad)
	}
}

func TestKeys(t *testing.T) {
	s, other := New(nil), New(nil)
	var id pgsession.ID
	rand.Read(id[:])
	k := s.mintKey(id)
	require.Len(t, k, keyLen)
	got, ok := s.parseKey(k)
	require.True(t, ok)
	require.Equal(t, id, got)
	_, ok = other.parseKey(k)
	require.False(t, ok, "another process's key")
	for i := range k {
		b := []byte(k)
		b[i] ^= 1
		_, ok := s.parseKey(string(b))
		require.False(t, ok, "changed at %d", i)
	}
}

func TestSeenSetKeepsHalfCapacity(t *testing.T) {
	var s seenSet
	s.half = 4
	id := func(n byte) pgsession.ID { return pgsession.ID{n} }
	s.add(id(0))
	for n := byte(1); n <= 4; n++ { // half others after it: still there
		s.add(id(n))
		require.True(t, s.has(id(0)), n)
	}
	for n := byte(5); n <= 8; n++ {
		s.add(id(n))
	}
	require.False(t, s.has(id(0)), "forgotten after two generations")
	s.add(id(5)) // seen again: refreshed into the current generation
	for n := byte(9); n <= 12; n++ {
		s.add(id(n))
	}
	require.True(t, s.has(id(5)))
}

func FuzzParseKey(f *testing.F) {
	s := New(nil)
	f.Add(s.mintKey(pgsession.ID{1, 2, 3}))
	f.Add("i." + strings.Repeat("0", 64) + "." + strings.Repeat("0", 32))
	f.Add("")
	f.Fuzz(func(t *testing.T, k string) {
		if id, ok := s.parseKey(k); ok && s.mintKey(id) != strings.ToLower(k) {
			t.Fatalf("accepted %q, which is not the key of %v", k, id)
		}
		s.resolve(k)
	})
}

func FuzzBlob(f *testing.F) {
	f.Add([]byte{}, []byte(`"AAEC"`))
	f.Add([]byte{0, 255, '"'}, []byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte, raw []byte) {
		got, err := decodeBlob(encodeBlob(b))
		require.NoError(t, err)
		require.Equal(t, string(b), string(got))
		require.True(t, json.Valid(encodeBlob(b)))
		var want []byte
		if json.Unmarshal(raw, &want) == nil {
			got, err := decodeBlob(raw)
			require.NoError(t, err)
			require.Equal(t, string(want), string(got))
		}
	})
}
