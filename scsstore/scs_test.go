package scsstore_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/scsstore"
)

// Values put in one request are read back in later ones through the cookie,
// and live in a pgsession session whose token is the scs token.
func TestPutGetAcrossRequests(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		m := c.node()
		sm := newSCS(t, m)
		sm.Lifetime = 3 * time.Hour
		cl := &client{t: t, h: app(sm)}

		require.Equal(t, "|", cl.do("/get"), "no session yet")
		require.Empty(t, cl.cookie, "an unmodified new session sets no cookie")

		cl.do("/put?v=hello")
		require.Len(t, cl.cookie, 43)
		require.Equal(t, "hello|", cl.do("/get"))
		token := cl.cookie

		cl.do("/put?v=again")
		require.Equal(t, token, cl.cookie, "a commit keeps the token")
		require.Equal(t, "again|", cl.do("/get"))

		s, err := m.Get(ctxT(t), token)
		require.NoError(t, err)
		require.True(t, s.Has(scsstore.DefaultAttributeKey))
		require.Zero(t, s.IdleTimeout(), "scs decides expiry; pgsession's idle timeout is off")
		life := s.ExpiresAt().Sub(s.UpdatedAt()) // both by the database clock
		require.InDelta(t, float64(3*time.Hour), float64(life), float64(time.Minute))

		// Another node reads the same session.
		other := &client{t: t, h: app(newSCS(t, c.node())), cookie: token}
		require.Equal(t, "again|", other.do("/get"))
	})
}

// scs's idle timeout arrives as the expiry of each commit.
func TestIdleTimeoutSetsExpiry(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		m := c.node()
		sm := newSCS(t, m)
		sm.IdleTimeout = 20 * time.Minute
		cl := &client{t: t, h: app(sm)}
		cl.do("/put?v=x")
		s, err := m.Get(ctxT(t), cl.cookie)
		require.NoError(t, err)
		require.InDelta(t, float64(20*time.Minute), float64(s.ExpiresAt().Sub(s.UpdatedAt())), float64(time.Minute))
		v := s.Version()

		require.Equal(t, "x|", cl.do("/get"), "a read with an idle timeout commits")
		s, err = m.Get(ctxT(t), cl.cookie)
		require.NoError(t, err)
		require.Greater(t, s.Version(), v)
	})
}

// A deadline already past ends the session at the commit.
func TestCommitPastExpiryDeletes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		m := c.node()
		cl := &client{t: t, h: app(newSCS(t, m))}
		cl.do("/put?v=x")
		token := cl.cookie
		cl.do("/expire")
		_, err := m.Get(ctxT(t), token, pgsession.ForceRefresh())
		require.ErrorIs(t, err, pgsession.ErrNotFound)
		require.Equal(t, "|", (&client{t: t, h: cl.h, cookie: token}).do("/get"))
	})
}

// RenewToken deletes the old token and commits the data under a new one,
// which this Store has never seen and so creates.
func TestRenewToken(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		m := c.node()
		cl := &client{t: t, h: app(newSCS(t, m))}
		cl.do("/put?v=cart")
		old := cl.cookie

		cl.do("/login?u=ada")
		require.Len(t, cl.cookie, 43)
		require.NotEqual(t, old, cl.cookie)
		require.Equal(t, "cart|ada", cl.do("/get"))

		_, err := m.Get(ctxT(t), old, pgsession.ForceRefresh())
		require.ErrorIs(t, err, pgsession.ErrNotFound, "the old token is gone")
		attacker := &client{t: t, h: cl.h, cookie: old}
		require.Equal(t, "|", attacker.do("/get"), "the old token opens nothing")

		// Logging in again renews again, also on a session loaded in the
		// same process before.
		prev := cl.cookie
		cl.do("/login?u=bob")
		require.NotEqual(t, prev, cl.cookie)
		require.Equal(t, "cart|bob", cl.do("/get"))
	})
}

// Destroy deletes the session and clears the cookie; the old token is dead.
func TestDestroy(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		m := c.node()
		cl := &client{t: t, h: app(newSCS(t, m))}
		cl.do("/put?v=secret")
		token := cl.cookie

		cl.do("/logout")
		require.Empty(t, cl.cookie, "the cookie is cleared")
		_, err := m.Get(ctxT(t), token, pgsession.ForceRefresh())
		require.ErrorIs(t, err, pgsession.ErrNotFound)
		replay := &client{t: t, h: cl.h, cookie: token}
		require.Equal(t, "|", replay.do("/get"))

		// A new session after log out gets a new token.
		replay.do("/put?v=fresh")
		require.NotEqual(t, token, replay.cookie)
		require.Equal(t, "fresh|", replay.do("/get"))
	})
}

// The central guarantee: a request on node A that loaded a session, which a
// request on node B then destroyed, does not bring it back when it commits.
// A store that creates whenever the update finds nothing fails this test.
func TestNoResurrectionAcrossNodes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		mA, mB := c.node(), c.node()
		smA, smB := newSCS(t, mA), newSCS(t, mB)
		a := &client{t: t, h: app(smA)}
		a.do("/put?v=before")
		token := a.cookie

		loaded, release, done := make(chan struct{}), make(chan struct{}), make(chan int)
		var read string
		slow := smA.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			read = smA.GetString(r.Context(), "msg")
			close(loaded)
			<-release
			smA.Put(r.Context(), "msg", "after") // commits when the handler returns
		}))
		go func() { done <- serve(slow, "/slow", token).Code }()
		<-loaded

		b := &client{t: t, h: app(smB), cookie: token}
		b.do("/logout") // on node B, while A's request is in flight
		close(release)
		require.Equal(t, http.StatusOK, <-done, "the late commit is not an error")
		require.Equal(t, "before", read)

		for _, m := range []*pgsession.Manager{mA, mB} {
			_, err := m.Get(ctxT(t), token, pgsession.ForceRefresh())
			require.ErrorIs(t, err, pgsession.ErrNotFound, "the destroyed session stays destroyed")
		}
		for _, h := range []http.Handler{a.h, b.h} {
			require.Equal(t, "|", (&client{t: t, h: h, cookie: token}).do("/get"))
		}
	})
}

// A cookie the server did not issue, or one tampered with, is a new empty
// session, never an error; the new session never takes the client's token.
func TestUnknownOrTamperedCookie(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		m := c.node()
		sm := newSCS(t, m)
		h := app(sm)
		real := &client{t: t, h: h}
		real.do("/put?v=mine")

		// A key All minted, on another Store: valid in shape, wrong tag.
		other := scsstore.New(m)
		all, err := other.AllCtx(ctxT(t))
		require.NoError(t, err)
		require.Len(t, all, 1)
		var minted string
		for k := range all {
			minted = k
		}
		flipped := []byte(real.cookie) // still base64url, another secret
		flipped[10] = map[bool]byte{true: 'B', false: 'A'}[flipped[10] == 'A']
		tamperedKey := []byte(minted)
		tamperedKey[len(minted)-1] = map[bool]byte{true: '1', false: '0'}[minted[len(minted)-1] == '0']

		for name, cookie := range map[string]string{
			"garbage":         "not-a-token",
			"unknown token":   strings.Repeat("A", 43),
			"bad base64":      strings.Repeat("!", 43),
			"tampered token":  string(flipped),
			"padded token":    real.cookie + "=",
			"long":            strings.Repeat("x", 4000),
			"forged key":      "i." + strings.Repeat("0", 64) + "." + strings.Repeat("0", 32),
			"other store key": minted,
			"tampered key":    string(tamperedKey),
		} {
			t.Run(name, func(t *testing.T) {
				cl := &client{t: t, h: h, cookie: cookie}
				require.Equal(t, "|", cl.do("/get"))
				cl.do("/put?v=new")
				require.Len(t, cl.cookie, 43)
				require.NotEqual(t, cookie, cl.cookie)
				require.NotEqual(t, real.cookie, cl.cookie)
				require.Equal(t, "new|", cl.do("/get"))
			})
		}
		require.Equal(t, "mine|", real.do("/get"), "the real session is untouched")
	})
}

// scs's Iterate walks every session through All's keys, and can change and
// destroy them; sessions pgsession holds for other code are left out.
func TestIterate(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		m := c.node()
		sm := newSCS(t, m)
		h := app(sm)
		clients := map[string]*client{}
		for _, v := range []string{"keep", "change", "drop"} {
			clients[v] = &client{t: t, h: h}
			clients[v].do("/put?v=" + v)
		}
		foreign, err := m.Create(ctx, "someone", map[string]any{"x": 1})
		require.NoError(t, err)

		var visited []string
		err = sm.Iterate(ctx, func(ctx context.Context) error {
			require.True(t, strings.HasPrefix(sm.Token(ctx), "i."), sm.Token(ctx))
			v := sm.GetString(ctx, "msg")
			visited = append(visited, v)
			switch v {
			case "change":
				sm.Put(ctx, "msg", "changed")
				_, _, err := sm.Commit(ctx)
				return err
			case "drop":
				return sm.Destroy(ctx)
			}
			return nil
		})
		require.NoError(t, err)
		require.ElementsMatch(t, []string{"keep", "change", "drop"}, visited)

		require.Equal(t, "keep|", clients["keep"].do("/get"))
		require.Equal(t, "changed|", clients["change"].do("/get"))
		require.Equal(t, "|", clients["drop"].do("/get"))
		_, err = m.GetByID(ctx, foreign.ID())
		require.NoError(t, err, "a session without scs data is not touched")

		// Committing through a key of a session deleted meanwhile creates
		// nothing.
		all, err := sm.Store.(*scsstore.Store).AllCtx(ctx)
		require.NoError(t, err)
		require.Len(t, all, 2)
		for key := range all {
			id, err := pgsession.ParseID(key[2:66])
			require.NoError(t, err)
			require.NoError(t, m.Delete(ctx, id))
			require.NoError(t, sm.Store.Commit(key, []byte("late"), time.Now().Add(time.Hour)))
			_, found, err := sm.Store.Find(key)
			require.NoError(t, err)
			require.False(t, found)
		}
		all, err = sm.Store.(*scsstore.Store).All()
		require.NoError(t, err)
		require.Empty(t, all)
		require.NotNil(t, all, "scs wants an empty map, not nil")
	})
}

// Many clients at once, each moving between two nodes, keep their own data
// (run with -race). Each reads its write on the node that made it.
func TestConcurrentClients(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		hs := []http.Handler{app(newSCS(t, c.node())), app(newSCS(t, c.node()))}
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				cl := &client{t: t}
				for i := range 10 {
					cl.h = hs[(g+i)%2]
					v := fmt.Sprintf("g%d-%d", g, i)
					cl.do("/put?v=" + v)
					if got := cl.do("/get"); got != v+"|" {
						t.Errorf("client %d read %q after writing %q", g, got, v)
						return
					}
				}
			})
		}
		wg.Wait()
	})
}

// A write on one node is read on another: at once with WithFreshReads, and
// within pgsession's staleness bound (milliseconds) from the cache without
// it, once the other node has applied the write's announcement.
func TestReadYourWritesAcrossNodes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		for _, fresh := range []bool{false, true} {
			var opts []scsstore.Option
			if fresh {
				opts = append(opts, scsstore.WithFreshReads())
			}
			mA, mB := c.node(), c.node()
			smA, smB := newSCS(t, mA), newSCS(t, mB)
			smA.Store, smB.Store = scsstore.New(mA, opts...), scsstore.New(mB, opts...)
			a, b := &client{t: t, h: app(smA)}, &client{t: t, h: app(smB)}
			a.do("/put?v=0")
			b.cookie = a.cookie
			require.Equal(t, "0|", b.do("/get"), "B caches the session")
			for i := 1; i <= 3; i++ {
				v := fmt.Sprint(i)
				a.do("/put?v=" + v)
				if fresh {
					require.Equal(t, v+"|", b.do("/get"))
				} else {
					require.Eventually(t, func() bool { return b.do("/get") == v+"|" },
						5*time.Second, time.Millisecond)
				}
			}
		}
	})
}
