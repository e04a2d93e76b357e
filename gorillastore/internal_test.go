package gorillastore

import (
	"context"
	"encoding/json"
	"math"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/token"
)

func TestEncodeDecode(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   any
		json string
		out  any
	}{
		{"s", `"s"`, "s"},
		{42, `42`, 42},
		{int64(-3), `-3`, -3},
		{uint8(7), `7`, 7},
		{math.MaxInt64, `9223372036854775807`, math.MaxInt64},
		{uint64(math.MaxUint64), `18446744073709551615`, float64(math.MaxUint64)},
		{2.0, `2.0`, 2.0},
		{2.5, `2.5`, 2.5},
		{float32(1.5), `1.5`, 1.5},
		{1e21, `1e+21`, 1e21},
		{true, `true`, true},
		{nil, `null`, nil},
		{[]any{1, 2.0, "x"}, `[1,2.0,"x"]`, []any{1, 2.0, "x"}},
		{map[string]any{"b": 1.0, "a": []any{2}}, `{"a":[2],"b":1.0}`, map[string]any{"a": []any{2}, "b": 1.0}},
		{[]string{"a"}, `["a"]`, []any{"a"}},
		{map[string]int{"a": 1}, `{"a":1}`, map[string]any{"a": 1}},
		{struct{ A int }{1}, `{"A":1}`, map[string]any{"A": 1}},
	} {
		raw, err := encodeValue(tc.in)
		require.NoError(t, err, "%#v", tc.in)
		require.JSONEq(t, tc.json, string(raw))
		require.Equal(t, tc.json, string(raw))
		out, err := decodeGeneric(raw)
		require.NoError(t, err)
		require.Equal(t, tc.out, out, "%#v", tc.in)
	}
	// A number beyond float64 keeps its digits.
	out, err := decodeGeneric(json.RawMessage(`1e400`))
	require.NoError(t, err)
	require.Equal(t, json.Number("1e400"), out)
}

// Encodings of the same data compare equal once canonical, whatever the
// key order and spacing (PostgreSQL's jsonb has its own), and different data
// does not, int and float included.
func TestCanonical(t *testing.T) {
	t.Parallel()
	same := [][2]string{
		{`{"b":1,"a":{"y":2.5,"x":[1,"z"]}}`, `{"a": {"x": [1, "z"], "y": 2.5}, "b": 1}`},
		{`2.0`, `2.00`},
		{`"é"`, `"\u00e9"`},
	}
	for _, p := range same {
		a, err := canonical(json.RawMessage(p[0]))
		require.NoError(t, err)
		b, err := canonical(json.RawMessage(p[1]))
		require.NoError(t, err)
		require.Equal(t, string(a), string(b))
	}
	for _, p := range [][2]string{{`2`, `2.0`}, {`{"a":1}`, `{"a":1,"b":null}`}, {`[1,2]`, `[2,1]`}} {
		a, err := canonical(json.RawMessage(p[0]))
		require.NoError(t, err)
		b, err := canonical(json.RawMessage(p[1]))
		require.NoError(t, err)
		require.NotEqual(t, string(a), string(b))
	}
}

// The Store forgets the state of a session once the session is garbage,
// whether or not it was saved.
func TestStatesAreCollected(t *testing.T) {
	t.Parallel()
	m, err := pgsession.NewMemory(nil, pgsession.Config{})
	require.NoError(t, err)
	defer m.Close(context.Background())
	key, err := token.GenerateKey("k1")
	require.NoError(t, err)
	keys, err := token.NewRing(key)
	require.NoError(t, err)
	s, err := New(m, keys)
	require.NoError(t, err)

	for i := range 200 {
		r := httptest.NewRequest("GET", "https://example.com/", nil)
		sess, err := s.New(r, "s")
		require.NoError(t, err)
		if i%2 == 0 {
			require.NoError(t, sess.Save(r, httptest.NewRecorder()))
		}
	}
	require.Positive(t, s.states.len())
	require.Eventually(t, func() bool {
		runtime.GC()
		return s.states.len() == 0
	}, 10*time.Second, 10*time.Millisecond)
}
