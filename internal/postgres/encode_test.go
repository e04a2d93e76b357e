package postgres

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// encodeAttrs writes what json.Marshal writes, but for key order, for keys
// that need escapes too.
func TestEncodeAttrsIsJSON(t *testing.T) {
	attrs := map[string]json.RawMessage{
		`plain`: json.RawMessage(`1`), `quote"back\slash`: json.RawMessage(`"v"`),
		"tab\tnew\nline\x01": json.RawMessage(`[true,null]`), "ünï😀": json.RawMessage(`{"a":{"b":2}}`),
	}
	want, err := json.Marshal(attrs)
	require.NoError(t, err)
	require.JSONEq(t, string(want), encodeAttrs(attrs))
	require.Equal(t, "{}", encodeAttrs(nil))
}
