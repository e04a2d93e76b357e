package pgsession_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession"
)

// Adapters read a user ID from another framework's data by one rule: nil
// is anonymous, strings and integers of every Go type are IDs, anything
// else, and any string Create refuses, is ErrInvalidUserID.
func TestUserIDOf(t *testing.T) {
	for _, c := range []struct {
		in   any
		want string
	}{
		{nil, ""}, {"", ""}, {"alice", "alice"}, {42, "42"}, {int8(-8), "-8"}, {int16(16), "16"},
		{int32(-32), "-32"}, {int64(1) << 62, "4611686018427387904"}, {uint(7), "7"}, {uint8(255), "255"},
		{uint16(16), "16"}, {uint32(32), "32"}, {uint64(1) << 63, "9223372036854775808"},
		{strings.Repeat("x", 256), strings.Repeat("x", 256)},
	} {
		got, err := pgsession.UserIDOf(c.in)
		require.NoError(t, err, "%T %v", c.in, c.in)
		require.Equal(t, c.want, got)
	}
	for _, bad := range []any{3.5, true, []byte("alice"), map[string]any{}, strings.Repeat("x", 257), "a\x00b", "\xff"} {
		_, err := pgsession.UserIDOf(bad)
		require.ErrorIs(t, err, pgsession.ErrInvalidUserID, "%T", bad)
	}
}
