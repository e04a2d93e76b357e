package pgsession_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession"
)

type cart struct {
	Items []string `json:"items"`
	Total int      `json:"total"`
}

func TestCreateAndGet(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		m := c.node(testConfig())
		s, err := m.Create(ctx, "alice", map[string]any{"cart": cart{Items: []string{"tea"}, Total: 3}, "n": 7},
			pgsession.WithClient("Firefox/140", "192.0.2.7"))
		require.NoError(t, err)
		require.Len(t, s.Token(), 43)
		require.Equal(t, int64(1), s.Version())
		require.Equal(t, "alice", s.UserID())

		byToken, err := m.Get(ctx, s.Token())
		require.NoError(t, err)
		require.Equal(t, s.ID(), byToken.ID())
		require.Empty(t, byToken.Token(), "a read never carries the secret")
		require.Equal(t, "Firefox/140", byToken.UserAgent())
		require.Equal(t, "192.0.2.7", byToken.IP())
		require.Equal(t, []string{"cart", "n"}, byToken.Keys())
		got, err := pgsession.Attr[cart](byToken, "cart")
		require.NoError(t, err)
		require.Equal(t, cart{Items: []string{"tea"}, Total: 3}, got)
		require.Equal(t, 7, pgsession.AttrOr(byToken, "n", 0))
		require.Equal(t, "none", pgsession.AttrOr(byToken, "missing", "none"))
		_, err = pgsession.Attr[int](byToken, "missing")
		require.ErrorIs(t, err, pgsession.ErrAttributeNotFound)

		byID, err := m.GetByID(ctx, s.ID())
		require.NoError(t, err)
		require.Equal(t, s.Version(), byID.Version())
		require.False(t, byID.ExpiresAt().Before(byID.CreatedAt().Add(23*time.Hour)), "default lifetime is 24h")
	})
}

func TestUnknownMalformedAndTamperedTokensAreNoSession(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		m := c.node(testConfig())
		s, err := m.Create(ctx, "", nil)
		require.NoError(t, err)
		tampered := []byte(s.Token())
		tampered[5] ^= 1
		if tampered[5] == '-' || tampered[5] == '_' || tampered[5] >= 0x7f {
			tampered[5] = 'A'
		}
		for _, tok := range []string{"", "x", s.Token() + "A", s.Token()[1:], string(tampered),
			strings.Repeat("A", 43), strings.Repeat("é", 30), strings.Repeat("A", 1<<20)} {
			_, err := m.Get(ctx, tok)
			require.ErrorIs(t, err, pgsession.ErrNotFound, "token %.20q", tok)
		}
	})
}

func TestUpdatePatchesOnlyNamedKeys(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		m := c.node(testConfig())
		s, err := m.Create(ctx, "bob", map[string]any{"a": 1, "b": 2, "c": 3})
		require.NoError(t, err)
		s2, err := m.Update(ctx, s.ID(), new(pgsession.Patch).Set("a", 10).Delete("b").Set("d", "x"))
		require.NoError(t, err)
		require.Equal(t, int64(2), s2.Version())
		require.Equal(t, []string{"a", "c", "d"}, s2.Keys())
		require.Equal(t, 10, pgsession.AttrOr(s2, "a", 0))

		// The later of two writes to one key wins inside a patch.
		s3, err := m.Update(ctx, s.ID(), new(pgsession.Patch).Set("c", 1).Delete("c").Delete("d").Set("d", "y"))
		require.NoError(t, err)
		require.Equal(t, []string{"a", "d"}, s3.Keys())
		require.Equal(t, "y", pgsession.AttrOr(s3, "d", ""))

		got, err := m.Get(ctx, s.Token())
		require.NoError(t, err)
		require.Equal(t, s3.Version(), got.Version())
		require.Equal(t, []string{"a", "d"}, got.Keys())
	})
}

func TestVersionCheckedUpdate(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		m := c.node(testConfig())
		s, err := m.Create(ctx, "", map[string]any{"n": 1})
		require.NoError(t, err)
		s2, err := m.Update(ctx, s.ID(), new(pgsession.Patch).Set("n", 2), pgsession.IfVersion(s.Version()))
		require.NoError(t, err)
		_, err = m.Update(ctx, s.ID(), new(pgsession.Patch).Set("n", 3), pgsession.IfVersion(s.Version()))
		require.ErrorIs(t, err, pgsession.ErrVersionConflict)
		require.Contains(t, err.Error(), "update")
		var ce *pgsession.ConflictError
		require.ErrorAs(t, err, &ce)
		require.Equal(t, s2.Version(), ce.Current, "the refusal says which version is current")
		got, err := m.GetByID(ctx, s.ID())
		require.NoError(t, err)
		require.Equal(t, s2.Version(), got.Version())
		require.Equal(t, 2, pgsession.AttrOr(got, "n", 0), "a refused update writes nothing")
	})
}

func TestLimitsGiveTypedErrorsAndWriteNothing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		cfg := testConfig()
		cfg.MaxAttributes, cfg.MaxAttributeSize, cfg.MaxKeyLength = 3, 16, 8
		m := c.node(cfg)
		s, err := m.Create(ctx, "", map[string]any{"a": 1, "b": 2})
		require.NoError(t, err)

		cases := []struct {
			patch *pgsession.Patch
			want  error
		}{
			{new(pgsession.Patch).Set("c", 3).Set("d", 4), pgsession.ErrTooManyAttributes},
			{new(pgsession.Patch).Set("a", 5).Set("big", strings.Repeat("x", 20)), pgsession.ErrAttributeTooLarge},
			{new(pgsession.Patch).Set("a", 5).Set("waytoolongkey", 1), pgsession.ErrInvalidKey},
			{new(pgsession.Patch).Set("a", 5).Set("", 1), pgsession.ErrInvalidKey},
			{new(pgsession.Patch).Set("a", 5).Set("k\x00", 1), pgsession.ErrInvalidKey},
			{new(pgsession.Patch).Set("a", 5).Set("nul", "a\x00b"), pgsession.ErrInvalidValue},
			{new(pgsession.Patch).Set("a", 5).Set("ch", make(chan int)), pgsession.ErrInvalidValue},
		}
		for _, tc := range cases {
			_, err := m.Update(ctx, s.ID(), tc.patch)
			require.ErrorIs(t, err, tc.want)
		}
		got, err := m.GetByID(ctx, s.ID())
		require.NoError(t, err)
		require.Equal(t, int64(1), got.Version(), "nothing was written")
		require.Equal(t, 1, pgsession.AttrOr(got, "a", 0))

		_, err = m.Create(ctx, "", map[string]any{"a": 1, "b": 2, "c": 3, "d": 4})
		require.ErrorIs(t, err, pgsession.ErrTooManyAttributes)
		_, err = m.Create(ctx, "", map[string]any{"a": strings.Repeat("x", 20)})
		require.ErrorIs(t, err, pgsession.ErrAttributeTooLarge)
		_, err = m.Create(ctx, strings.Repeat("u", 300), nil)
		require.ErrorIs(t, err, pgsession.ErrInvalidUserID)
		_, err = m.Create(ctx, "bad\xffutf8", nil)
		require.ErrorIs(t, err, pgsession.ErrInvalidUserID)
		// Replacing or deleting keys never counts against the limit.
		_, err = m.Update(ctx, s.ID(), new(pgsession.Patch).Delete("a").Set("b", 3).Set("c", 4))
		require.NoError(t, err)
	})
}

func TestDeleteDeleteUserDeleteAllAndList(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		m := c.node(testConfig())
		var carol []*pgsession.Session
		for i := 0; i < 4; i++ {
			s, err := m.Create(ctx, "carol", map[string]any{"i": i})
			require.NoError(t, err)
			carol = append(carol, s)
			time.Sleep(2 * time.Millisecond) // distinct creation times
		}
		dave, err := m.Create(ctx, "dave", nil)
		require.NoError(t, err)

		list, err := m.ListUser(ctx, "carol")
		require.NoError(t, err)
		require.Len(t, list, 4)
		for i, s := range list {
			require.Equal(t, carol[3-i].ID(), s.ID(), "newest first")
		}

		require.NoError(t, m.Delete(ctx, carol[0].ID()))
		require.NoError(t, m.Delete(ctx, carol[0].ID()), "deleting twice is fine")
		_, err = m.Get(ctx, carol[0].Token())
		require.ErrorIs(t, err, pgsession.ErrNotFound)

		n, err := m.DeleteUser(ctx, "carol", carol[3].ID())
		require.NoError(t, err)
		require.Equal(t, 2, n)
		list, err = m.ListUser(ctx, "carol")
		require.NoError(t, err)
		require.Len(t, list, 1)
		require.Equal(t, carol[3].ID(), list[0].ID())

		_, err = m.DeleteUser(ctx, "", carol[3].ID())
		require.ErrorIs(t, err, pgsession.ErrInvalidUserID)

		n, err = m.DeleteAll(ctx)
		require.NoError(t, err)
		require.Equal(t, 2, n)
		_, err = m.GetByID(ctx, dave.ID())
		require.ErrorIs(t, err, pgsession.ErrNotFound)
	})
}

func TestRenewMovesDataToANewToken(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		m := c.node(testConfig())
		anon, err := m.Create(ctx, "", map[string]any{"cart": []string{"tea"}})
		require.NoError(t, err)
		in, err := m.Renew(ctx, anon.ID(), pgsession.AsUser("erin"))
		require.NoError(t, err)
		require.NotEqual(t, anon.Token(), in.Token())
		require.NotEqual(t, anon.ID(), in.ID())
		require.Equal(t, "erin", in.UserID())
		require.Equal(t, anon.Version()+1, in.Version())
		_, err = m.Get(ctx, anon.Token())
		require.ErrorIs(t, err, pgsession.ErrNotFound, "the old token is dead")
		got, err := m.Get(ctx, in.Token())
		require.NoError(t, err)
		require.Equal(t, []string{"tea"}, pgsession.AttrOr[[]string](got, "cart", nil))

		_, err = m.Renew(ctx, anon.ID())
		require.ErrorIs(t, err, pgsession.ErrNotFound, "a dead session cannot be renewed")
	})
}

func TestCloseTwiceAndUseAfterClose(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		cfg := testConfig()
		cfg.TouchInterval, cfg.SweepInterval = 10*time.Millisecond, 10*time.Millisecond
		m := c.node(cfg)
		s, err := m.Create(ctx, "", nil)
		require.NoError(t, err)
		require.NoError(t, m.Close(ctx))
		require.NoError(t, m.Close(ctx))
		_, err = m.Get(ctx, s.Token())
		require.True(t, errors.Is(err, pgsession.ErrClosed), "got %v", err)
		_, err = m.Create(ctx, "", nil)
		require.ErrorIs(t, err, pgsession.ErrClosed)
	})
}

// Frameworks that issue their own tokens (scs) create sessions with them;
// a token in use is refused, and nothing else is accepted as a token.
func TestCreateWithToken(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		m := c.node(testConfig())
		token := "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ"[:43]
		s, err := m.CreateWithToken(ctx, token, "", map[string]any{"a": 1})
		require.NoError(t, err)
		require.Equal(t, token, s.Token())
		got, err := m.Get(ctx, token)
		require.NoError(t, err)
		require.Equal(t, s.ID(), got.ID())
		_, err = m.CreateWithToken(ctx, token, "", nil)
		require.ErrorIs(t, err, pgsession.ErrSessionExists)
		_, err = m.CreateWithToken(ctx, "short", "", nil)
		require.ErrorIs(t, err, pgsession.ErrInvalidValue)
	})
}

// SetLifetime moves the absolute deadline with an update.
func TestUpdateSetLifetime(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		m := c.node(testConfig())
		s, err := m.Create(ctx, "", nil, pgsession.WithLifetime(time.Hour))
		require.NoError(t, err)
		s2, err := m.Update(ctx, s.ID(), new(pgsession.Patch).Set("remember", true), pgsession.SetLifetime(30*24*time.Hour))
		require.NoError(t, err)
		require.WithinDuration(t, s2.UpdatedAt().Add(30*24*time.Hour), s2.ExpiresAt(), time.Second)
		s3, err := m.Update(ctx, s.ID(), new(pgsession.Patch).Set("x", 1), pgsession.SetLifetime(100*time.Millisecond))
		require.NoError(t, err)
		require.True(t, s3.ExpiresAt().Before(s2.ExpiresAt()))
		time.Sleep(200 * time.Millisecond)
		_, err = m.GetByID(ctx, s.ID())
		require.ErrorIs(t, err, pgsession.ErrNotFound)
	})
}

// All walks every live session, page by page.
func TestAllWalksLiveSessions(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		m := c.node(testConfig())
		want := map[pgsession.ID]bool{}
		for i := 0; i < 7; i++ {
			s, err := m.Create(ctx, "", nil)
			require.NoError(t, err)
			want[s.ID()] = true
		}
		_, err := m.Create(ctx, "", nil, pgsession.WithLifetime(time.Millisecond))
		require.NoError(t, err)
		time.Sleep(5 * time.Millisecond)
		got := map[pgsession.ID]bool{}
		var last string
		for s, err := range m.All(ctx, 3) {
			require.NoError(t, err)
			require.Greater(t, s.ID().String(), last, "in ID order")
			last = s.ID().String()
			got[s.ID()] = true
		}
		require.Equal(t, want, got, "every live session once, none expired")
		n := 0
		for range m.All(ctx, 2) {
			n++
			if n == 3 {
				break
			}
		}
		require.Equal(t, 3, n)
	})
}

// SetRaw keeps what it validated: a caller reusing its buffer before Update
// cannot slip text that is not one JSON value (here: a second key, past the
// key checks) into the stored attributes.
func TestSetRawKeepsTheValueItValidated(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		m := c.node(testConfig())
		s := mustCreate(t, m)
		buf := []byte(`1234567890`)
		p := new(pgsession.Patch).SetRaw("n", buf)
		copy(buf, `1,"x":"yy"`) // same length, no longer one value
		_, err := m.Update(ctx, s.ID(), p)
		require.NoError(t, err)
		got, err := m.GetByID(ctx, s.ID(), pgsession.ForceRefresh())
		require.NoError(t, err)
		require.Equal(t, 1234567890, pgsession.AttrOr(got, "n", 0))
		_, err = pgsession.Attr[string](got, "x")
		require.ErrorIs(t, err, pgsession.ErrAttributeNotFound, "no key smuggled in")
	})
}
