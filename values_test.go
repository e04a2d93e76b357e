package pgsession_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession"
)

// Values PostgreSQL's jsonb refuses: each must fail with ErrInvalidValue on
// both backends before anything is written, not with a raw SQLSTATE on one
// and success on the other.
var badValues = map[string]string{
	"invalid UTF-8":                `"a` + "\xff" + `b"`,
	"truncated UTF-8":              `"` + "\xe2\x82" + `"`,
	"UTF-8 of a surrogate":         `"` + "\xed\xa0\x80" + `"`,
	"invalid UTF-8 in a key":       `{"a` + "\xff" + `":1}`,
	"invalid UTF-8, nested":        `[1,{"x":["` + "\xc3" + `"]}]`,
	"NUL escape":                   `"a\u0000b"`,
	"NUL escape in a key":          `{"\u0000":1}`,
	"NUL escape after a backslash": `"\\\u0000"`,
	"NUL escape, nested":           `{"a":[{"b":"x\u0000"}]}`,
	"high surrogate alone":         `"\ud800"`,
	"high surrogate at the end":    `"ab\uDBFF"`,
	"low surrogate alone":          `"\udc00"`,
	"high then a letter":           `"\ud800x"`,
	"high then a non-surrogate":    `"\ud800\u0041"`,
	"two high surrogates":          `"\ud800\ud800"`,
	"low then high":                `"\udc00\ud800"`,
	"lone surrogate in a key":      `{"\ud800":1}`,
	"lone surrogate, nested":       `[[["\udfff"]]]`,
	"1e1000000":                    `1e1000000`,
	"1e131072":                     `1e131072`,
	"-1e131072":                    `-1e131072`,
	"0.1e131073":                   `0.1e131073`,
	"131073 digits":                "1" + strings.Repeat("0", 131072),
	"1e-16384":                     `1e-16384`,
	"1.5e-16383":                   `1.5e-16383`,
	"16384 digits after the point": "0." + strings.Repeat("0", 16383) + "1",
	"zero with scale 16384":        `0e-16384`,
	"zero, exponent 2^30-1":        `0e1073741823`,
	"huge exponent":                `1e99999999999999999999`,
	"huge negative exponent":       `1e-99999999999999999999`,
	"big number, nested":           `{"a":[1,{"n":1e1000000}]}`,
}

// Edge values jsonb accepts; both backends must store them.
var goodNumbers = []string{
	`1e131071`, `9.9e131071`, `-9.9e131071`, `0.00001e131076`, "1" + strings.Repeat("0", 131071),
	`1e-16383`, `1.0e-16382`, `0e-16383`, `0e1073741822`, `0e-0000000000000000016383`,
	`1e0000000000000000000005`, `-0`, `1E+2`, `0.5`, `123.456e-7`,
}

// valuesConfig allows values large enough for the longest numbers.
func valuesConfig() pgsession.Config {
	cfg := testConfig()
	cfg.MaxAttributeSize = 1 << 20
	return cfg
}

// requireUnchanged fails unless the stored session still has the version
// and attributes of s.
func requireUnchanged(t *testing.T, c *cluster, m *pgsession.Manager, s *pgsession.Session) {
	t.Helper()
	got, err := m.GetByID(ctxT(t), s.ID(), pgsession.ForceRefresh(), pgsession.NoTouch())
	require.NoError(t, err)
	require.Equal(t, s.Version(), got.Version(), "nothing was written")
	require.Equal(t, s.Keys(), got.Keys())
	for _, k := range s.Keys() {
		want, _ := s.Raw(k)
		have, _ := got.Raw(k)
		require.Equal(t, compact(t, want), compact(t, have), "attribute %q", k)
	}
	require.Equal(t, len(s.Keys()), c.storedAttrCount(t, s.ID()))
}

func compact(t *testing.T, raw []byte) string {
	var b bytes.Buffer
	require.NoError(t, json.Compact(&b, raw))
	return b.String()
}

func TestBadValuesRefusedBeforeWriting(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		m := c.node(valuesConfig())
		s, err := m.Create(ctx, "", map[string]any{"a": 1, "b": "two"})
		require.NoError(t, err)
		for name, bad := range badValues {
			require.True(t, json.Valid([]byte(bad)), "%s is valid JSON: only jsonb refuses it", name)
			raw := json.RawMessage(bad)
			for how, p := range map[string]*pgsession.Patch{
				"SetRaw":            new(pgsession.Patch).Set("a", 2).SetRaw("v", raw),
				"Set a RawMessage":  new(pgsession.Patch).Set("a", 2).Set("v", raw),
				"Set inside a map":  new(pgsession.Patch).Set("a", 2).Set("v", map[string]any{"x": raw}),
				"SetRaw over a key": new(pgsession.Patch).SetRaw("b", raw),
			} {
				_, err := m.Update(ctx, s.ID(), p)
				require.ErrorIs(t, err, pgsession.ErrInvalidValue, "%s, %s", name, how)
				require.Less(t, len(err.Error()), 300, "%s: the error does not echo the value", name)
			}
			requireUnchanged(t, c, m, s)

			before := c.rowCount(t)
			_, err = m.Create(ctx, "", map[string]any{"a": 1, "v": raw})
			require.ErrorIs(t, err, pgsession.ErrInvalidValue, "%s, Create", name)
			require.Equal(t, before, c.rowCount(t), "%s: Create wrote nothing", name)
		}
		// A number through json.Number, and a NUL in a map key.
		for _, v := range []any{json.Number("1e1000000"), map[string]int{"a\x00": 1}} {
			_, err := m.Update(ctx, s.ID(), new(pgsession.Patch).Set("v", v))
			require.ErrorIs(t, err, pgsession.ErrInvalidValue)
		}
		requireUnchanged(t, c, m, s)
	})
}

func bigFloat(t *testing.T, s string) *big.Float {
	f, _, err := big.ParseFloat(s, 10, 200, big.ToNearestEven)
	require.NoError(t, err)
	return f
}

// Values that only look like bad ones are stored and read back: text that
// looks like a NUL escape (a backslash, then "u0000"), paired surrogate
// escapes, and numbers at the edges of numeric's range.
func TestEdgeValuesAccepted(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		m := c.node(valuesConfig())
		const path = `C:\u0000dir` // a backslash, then u0000
		s, err := m.Create(ctx, "", map[string]any{"path": path, "m": map[string]string{path: path}})
		require.NoError(t, err)
		got, err := m.GetByID(ctx, s.ID(), pgsession.ForceRefresh())
		require.NoError(t, err)
		require.Equal(t, path, pgsession.AttrOr(got, "path", ""))
		require.Equal(t, map[string]string{path: path}, pgsession.AttrOr[map[string]string](got, "m", nil))

		_, err = m.Update(ctx, s.ID(), new(pgsession.Patch).
			Set("set", path).
			SetRaw("raw", json.RawMessage(`["C:\\u0000dir", "\\\\u0000", "\ud800\udc00", "\uDBFF\uDFFF", {"\\u0000": 1}]`)))
		require.NoError(t, err)
		got, err = m.GetByID(ctx, s.ID(), pgsession.ForceRefresh())
		require.NoError(t, err)
		require.Equal(t, path, pgsession.AttrOr(got, "set", ""))
		var raw []any
		require.NoError(t, got.Decode("raw", &raw))
		require.Equal(t, []any{path, `\\u0000`, "\U00010000", "\U0010FFFF", map[string]any{`\u0000`: 1.0}}, raw)

		for _, n := range goodNumbers {
			_, err := m.Update(ctx, s.ID(), new(pgsession.Patch).SetRaw("n", json.RawMessage(n)))
			require.NoError(t, err, "%.40s", n)
			got, err := m.GetByID(ctx, s.ID(), pgsession.ForceRefresh())
			require.NoError(t, err)
			back, err := pgsession.Attr[json.Number](got, "n")
			require.NoError(t, err)
			require.Zero(t, bigFloat(t, n).Cmp(bigFloat(t, string(back))), "%.40s reads back as %.40s", n, back)
		}
	})
}

// No error quotes a whole user ID, key or value: a 10 MiB one gives a
// short message that still says what was wrong.
func TestErrorsDoNotEchoLongInput(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		m := c.node(valuesConfig())
		s, err := m.Create(ctx, "", map[string]any{"big": json.Number("1" + strings.Repeat("0", 1000))})
		require.NoError(t, err)
		huge := strings.Repeat("u", 10<<20)
		short := func(err error, want error) {
			t.Helper()
			require.ErrorIs(t, err, want)
			require.Less(t, len(err.Error()), 300, "error is %d bytes", len(err.Error()))
		}

		_, err = m.Create(ctx, huge, nil)
		short(err, pgsession.ErrInvalidUserID)
		require.ErrorContains(t, err, "10485760 bytes")
		require.ErrorContains(t, err, "longer than 256 bytes")
		_, err = m.Create(ctx, huge[:300]+"\xff", nil)
		short(err, pgsession.ErrInvalidUserID)
		_, err = m.DeleteUser(ctx, huge)
		short(err, pgsession.ErrInvalidUserID)
		_, err = m.ListUser(ctx, huge)
		short(err, pgsession.ErrInvalidUserID)
		short(m.DropUserCache(ctx, huge), pgsession.ErrInvalidUserID)
		_, err = m.Renew(ctx, s.ID(), pgsession.AsUser(huge))
		short(err, pgsession.ErrInvalidUserID)

		_, err = m.Update(ctx, s.ID(), new(pgsession.Patch).Set(huge, 1))
		short(err, pgsession.ErrInvalidKey)
		_, err = m.Update(ctx, s.ID(), new(pgsession.Patch).Set(huge, make(chan int)))
		short(err, pgsession.ErrInvalidValue)
		_, err = m.Update(ctx, s.ID(), new(pgsession.Patch).SetRaw(huge, json.RawMessage("{")))
		short(err, pgsession.ErrInvalidValue)
		_, err = m.Create(ctx, "", map[string]any{huge: 1})
		short(err, pgsession.ErrInvalidKey)
		_, err = m.Update(ctx, s.ID(), new(pgsession.Patch).Set("v", strings.Repeat("x", 2<<20)))
		short(err, pgsession.ErrAttributeTooLarge)
		_, err = m.Update(ctx, s.ID(), new(pgsession.Patch).SetRaw("v", json.RawMessage(`"`+strings.Repeat("x", 1<<19)+"\xff\"")))
		short(err, pgsession.ErrInvalidValue)
		requireUnchanged(t, c, m, s)
		_, err = m.Lock(ctx, s.ID(), huge, nil)
		short(err, pgsession.ErrInvalidResource)

		_, err = pgsession.Attr[int](s, huge)
		short(err, pgsession.ErrAttributeNotFound)
		_, err = pgsession.Attr[int8](s, "big") // encoding/json quotes the number whole
		require.Less(t, len(err.Error()), 300, "error is %d bytes", len(err.Error()))
		var typeErr *json.UnmarshalTypeError
		require.True(t, errors.As(err, &typeErr), "the decoding error is still there: %v", err)
	})
}
