package scsstore

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession"
)

// userOf must refuse exactly the user IDs pgsession refuses, since a rebind
// checks before it deletes anything.
func TestUserRulesMatchPgsession(t *testing.T) {
	m, err := pgsession.NewMemory(nil, pgsession.Config{})
	require.NoError(t, err)
	defer m.Close(context.Background())
	s := New(m, WithUserKey("u"))
	for _, u := range []string{"", "ada", "é", strings.Repeat("x", 256), strings.Repeat("é", 128),
		strings.Repeat("x", 257), "a\x00", "\xff", strings.Repeat("é", 128) + "x"} {
		b, err := scs.GobCodec{}.Encode(time.Now(), map[string]any{"u": u})
		require.NoError(t, err)
		got, ours := s.userOf(b)
		tok := make([]byte, 32)
		rand.Read(tok)
		_, theirs := m.CreateWithToken(context.Background(), base64.RawURLEncoding.EncodeToString(tok), u, nil)
		require.Equal(t, errors.Is(theirs, pgsession.ErrInvalidUserID), errors.Is(ours, pgsession.ErrInvalidUserID), "%q: %v", u, theirs)
		if ours == nil {
			require.Equal(t, u, got)
		}
	}
}
