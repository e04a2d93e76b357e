package scsstore_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/scsstore"
)

// newToken makes a token the way scs does: 32 random bytes in base64url.
func newToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// The store contract scs documents, called directly.
func TestStoreContract(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		m := c.node()
		st := scsstore.New(m)
		hour := time.Now().Add(time.Hour)

		for _, tok := range []string{"", "x", newToken(), strings.Repeat("i", 99)} {
			b, found, err := st.FindCtx(ctx, tok)
			require.NoError(t, err)
			require.False(t, found)
			require.Nil(t, b)
			require.NoError(t, st.DeleteCtx(ctx, tok), "deleting nothing is not an error")
		}

		tok := newToken()
		blob := []byte{0, 1, 2, '"', '\\', 0xff, 'x'}
		require.NoError(t, st.CommitCtx(ctx, tok, blob, hour))
		b, found, err := st.FindCtx(ctx, tok)
		require.NoError(t, err)
		require.True(t, found)
		require.Equal(t, blob, b)

		require.NoError(t, st.Commit(tok, []byte("second"), hour), "an update of a seen session")
		b, found, err = st.Find(tok)
		require.NoError(t, err)
		require.True(t, found)
		require.Equal(t, "second", string(b))

		require.NoError(t, st.Commit(tok, nil, hour))
		b, found, err = st.Find(tok)
		require.NoError(t, err)
		require.True(t, found)
		require.Empty(t, b)

		require.NoError(t, st.Delete(tok))
		_, found, err = st.Find(tok)
		require.NoError(t, err)
		require.False(t, found)
		require.NoError(t, st.Commit(tok, []byte("again"), hour), "a deleted session is not recreated")
		_, found, err = st.Find(tok)
		require.NoError(t, err)
		require.False(t, found)

		require.Error(t, st.Commit("not a token", []byte("x"), hour), "scs never commits such a token")
	})
}

// A token this Store never saw but that exists (another Store made it) is
// updated, not refused.
func TestCommitExistingUnseenToken(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		m := c.node()
		st1, st2 := scsstore.New(m), scsstore.New(m)
		tok := newToken()
		hour := time.Now().Add(time.Hour)
		require.NoError(t, st1.CommitCtx(ctx, tok, []byte("one"), hour))
		require.NoError(t, st2.CommitCtx(ctx, tok, []byte("two"), hour))
		b, found, err := st1.FindCtx(ctx, tok)
		require.NoError(t, err)
		require.True(t, found)
		require.Equal(t, "two", string(b))
	})
}

// The attribute key is configurable, so two scs managers can share one
// pgsession Manager; a session of one is not found by the other.
func TestAttributeKey(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		m := c.node()
		site, admin := scsstore.New(m), scsstore.New(m, scsstore.WithAttributeKey("scs_admin"))
		tok := newToken()
		require.NoError(t, admin.CommitCtx(ctx, tok, []byte("a"), time.Now().Add(time.Hour)))
		s, err := m.Get(ctx, tok)
		require.NoError(t, err)
		require.Equal(t, []string{"scs_admin"}, s.Keys())
		_, found, err := site.FindCtx(ctx, tok)
		require.NoError(t, err)
		require.False(t, found)
		all, err := site.AllCtx(ctx)
		require.NoError(t, err)
		require.Empty(t, all)
	})
}

// A pgsession session made by other code is not an scs session.
func TestForeignSessionNotFound(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		m := c.node()
		s, err := m.Create(ctx, "", map[string]any{"cart": 1})
		require.NoError(t, err)
		_, found, err := scsstore.New(m).FindCtx(ctx, s.Token())
		require.NoError(t, err)
		require.False(t, found)
	})
}

// System faults are errors, not "not found".
func TestFaultsAreErrors(t *testing.T) {
	m, err := pgsession.NewMemory(nil, pgsession.Config{})
	require.NoError(t, err)
	st := scsstore.New(m)
	tok := newToken()
	require.NoError(t, st.Commit(tok, []byte("x"), time.Now().Add(time.Hour)))
	require.NoError(t, m.Close(context.Background()))

	_, _, err = st.Find(tok)
	require.ErrorIs(t, err, pgsession.ErrClosed)
	require.ErrorIs(t, st.Commit(tok, []byte("y"), time.Now().Add(time.Hour)), pgsession.ErrClosed)
	require.ErrorIs(t, st.Commit(newToken(), []byte("y"), time.Now().Add(time.Hour)), pgsession.ErrClosed)
	require.ErrorIs(t, st.Delete(tok), pgsession.ErrClosed)
	_, err = st.All()
	require.ErrorIs(t, err, pgsession.ErrClosed)

	m2, err := pgsession.NewMemory(nil, pgsession.Config{MaxAttributeSize: 100})
	require.NoError(t, err)
	defer m2.Close(context.Background())
	err = scsstore.New(m2).CommitCtx(context.Background(), newToken(), make([]byte, 100), time.Now().Add(time.Hour))
	require.ErrorIs(t, err, pgsession.ErrAttributeTooLarge)
}

// The documented bound: a session is remembered until half the capacity of
// other sessions has been seen after it. Past that, a commit of a session
// deleted meanwhile can recreate it, which is why the default is large.
func TestSeenCapacityBound(t *testing.T) {
	ctx := ctxT(t)
	m, err := pgsession.NewMemory(nil, pgsession.Config{})
	require.NoError(t, err)
	defer m.Close(context.Background())
	st := scsstore.New(m, scsstore.WithSeenCapacity(4)) // remembers at least 2 others
	hour := time.Now().Add(time.Hour)

	tokens := make([]string, 4)
	for i := range tokens {
		tokens[i] = newToken()
		require.NoError(t, scsstore.New(m).CommitCtx(ctx, tokens[i], []byte("x"), hour))
	}
	find := func(tok string) {
		_, found, err := st.FindCtx(ctx, tok)
		require.NoError(t, err)
		require.True(t, found)
	}
	gone := func(tok string) bool {
		_, err := m.Get(ctx, tok)
		return errors.Is(err, pgsession.ErrNotFound)
	}

	find(tokens[0])
	find(tokens[1])
	find(tokens[2]) // two others after tokens[0]: still remembered
	del, err := m.Get(ctx, tokens[0])
	require.NoError(t, err)
	require.NoError(t, m.Delete(ctx, del.ID()))
	require.NoError(t, st.CommitCtx(ctx, tokens[0], []byte("late"), hour))
	require.True(t, gone(tokens[0]))

	find(tokens[1])
	find(tokens[2])
	find(tokens[3]) // tokens[1] is now forgotten
	del, err = m.Get(ctx, tokens[1])
	require.NoError(t, err)
	require.NoError(t, m.Delete(ctx, del.ID()))
	require.NoError(t, st.CommitCtx(ctx, tokens[1], []byte("late"), hour))
	require.False(t, gone(tokens[1]), "past the bound a deleted session comes back")
}
